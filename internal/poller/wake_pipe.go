//go:build netbsd || openbsd

package poller

import (
	"os"

	"golang.org/x/sys/unix"
)

// pipeWaker wakes a kqueue through a pipe (x/sys/unix has no EVFILT_USER
// for these systems): a byte written makes the read end readable, and
// the report drains it.
type pipeWaker struct{ r, w int }

func newWaker() (waker, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	return &pipeWaker{r: p[0], w: p[1]}, nil
}

func (w *pipeWaker) add(kq int) error {
	var ev [1]unix.Kevent_t
	unix.SetKevent(&ev[0], w.r, unix.EVFILT_READ, unix.EV_ADD)
	_, err := unix.Kevent(kq, ev[:], nil, nil)
	return os.NewSyscallError("kevent", err)
}

func (w *pipeWaker) is(ev *unix.Kevent_t) bool {
	return ev.Filter == unix.EVFILT_READ && int(ev.Ident) == w.r
}

func (w *pipeWaker) drain() {
	var b [64]byte
	for {
		n, err := unix.Read(w.r, b[:])
		if n <= 0 && err != unix.EINTR {
			return
		}
	}
}

// trigger writes a byte; a full pipe (EAGAIN) is already readable.
func (w *pipeWaker) trigger(int) { unix.Write(w.w, []byte{1}) }

func (w *pipeWaker) close() {
	unix.Close(w.r)
	unix.Close(w.w)
}
