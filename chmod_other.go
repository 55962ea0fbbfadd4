//go:build unix && !linux

package mpconn

import "golang.org/x/sys/unix"

// chmodNoFollow is needed only on Linux, where fchmodat lacks
// AT_SYMLINK_NOFOLLOW; elsewhere setSocketMode's fchmodat did the work or
// failed for good.
func chmodNoFollow(path string, mode uint32) error { return unix.EOPNOTSUPP }
