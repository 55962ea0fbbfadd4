//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package mpconn

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// watchExit gives the process a kqueue of its own holding an EVFILT_PROC
// filter for NOTE_EXIT: the kqueue's descriptor becomes readable when the
// process exits, as a pidfd does on Linux, so a wait set watches it like
// any other descriptor. It reports false when the filter cannot be added
// (the process is gone already: ESRCH); a goroutine then waits.
func (ch *Child) watchExit() bool {
	kq, err := unix.Kqueue()
	if err != nil {
		return false
	}
	unix.CloseOnExec(kq)
	var ev [1]unix.Kevent_t
	unix.SetKevent(&ev[0], ch.cmd.Process.Pid, unix.EVFILT_PROC, unix.EV_ADD)
	ev[0].Fflags = unix.NOTE_EXIT
	for {
		_, err = unix.Kevent(kq, ev[:], nil, nil)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(kq)
		return false
	}
	ch.exitF = os.NewFile(uintptr(kq), "kqueue-proc")
	rc, err := ch.exitF.SyscallConn()
	if err != nil {
		ch.exitF.Close()
		ch.exitF = nil
		return false
	}
	ch.exitRC = rc
	return true
}

// exitConn returns the kqueue for a wait set to watch, or nil.
func (ch *Child) exitConn() syscall.RawConn {
	ch.exitMu.Lock()
	defer ch.exitMu.Unlock()
	if ch.exitF == nil {
		return nil
	}
	return ch.exitRC
}

// pollExit reports whether the kqueue holds the exit event. The kernel
// reports it once (the filter becomes one-shot when the process exits),
// so the answer is kept in ch.exited.
func (ch *Child) pollExit() bool {
	rc := ch.exitConn()
	if rc == nil {
		return false
	}
	exited := false
	rc.Control(func(fd uintptr) {
		var ev [1]unix.Kevent_t
		for {
			n, err := unix.Kevent(int(fd), nil, ev[:], new(unix.Timespec))
			if err == unix.EINTR {
				continue
			}
			exited = err == nil && n > 0 && ev[0].Filter == unix.EVFILT_PROC && ev[0].Fflags&unix.NOTE_EXIT != 0
			return
		}
	})
	if exited {
		ch.exited.Store(true)
	}
	return exited
}

// exitWatch holds the descriptor that becomes readable when the process
// exits, for the wait sets.
type exitWatch struct {
	exitRC syscall.RawConn
}
