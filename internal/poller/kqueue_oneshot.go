//go:build netbsd

package poller

import "golang.org/x/sys/unix"

// Without EV_DISPATCH (x/sys/unix has none for NetBSD), a filter is
// EV_ONESHOT, deleted once it has reported, and a rearm adds it anew.
const (
	oneShotFlags = unix.EV_ONESHOT
	rearmFlags   = unix.EV_ADD | unix.EV_ONESHOT
)
