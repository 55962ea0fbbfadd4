//go:build darwin || dragonfly || freebsd

package poller

import (
	"os"

	"golang.org/x/sys/unix"
)

// userWaker wakes a kqueue with an EVFILT_USER event, which NOTE_TRIGGER
// fires and EV_CLEAR resets once reported.
type userWaker struct{}

// userIdent is the wake event's identifier; EVFILT_USER identifiers are
// a namespace of their own, apart from descriptors.
const userIdent = 1

func newWaker() (waker, error) { return userWaker{}, nil }

func (userWaker) add(kq int) error {
	ev := []unix.Kevent_t{{Ident: userIdent, Filter: unix.EVFILT_USER, Flags: unix.EV_ADD | unix.EV_CLEAR}}
	_, err := unix.Kevent(kq, ev, nil, nil)
	return os.NewSyscallError("kevent", err)
}

func (userWaker) is(ev *unix.Kevent_t) bool {
	return ev.Filter == unix.EVFILT_USER && ev.Ident == userIdent
}

func (userWaker) drain() {}

func (userWaker) trigger(kq int) {
	ev := []unix.Kevent_t{{Ident: userIdent, Filter: unix.EVFILT_USER, Fflags: unix.NOTE_TRIGGER}}
	for {
		if _, err := unix.Kevent(kq, ev, nil, nil); err != unix.EINTR {
			return
		}
	}
}

func (userWaker) close() {}
