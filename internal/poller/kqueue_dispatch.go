//go:build darwin || dragonfly || freebsd || openbsd

package poller

import "golang.org/x/sys/unix"

// EV_DISPATCH disables a filter once it has reported, and EV_ENABLE
// turns it back on: the registration stays, so a rearm cannot fail for
// want of memory.
const (
	oneShotFlags = unix.EV_DISPATCH
	rearmFlags   = unix.EV_ENABLE
)
