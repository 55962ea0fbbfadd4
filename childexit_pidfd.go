//go:build linux

package mpconn

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// watchExit opens a pidfd for the process, which becomes readable when it
// exits. It reports false when the kernel has no pidfds (before 5.3).
func (ch *Child) watchExit() bool {
	fd, err := unix.PidfdOpen(ch.cmd.Process.Pid, 0)
	if err != nil {
		return false
	}
	unix.CloseOnExec(fd)
	ch.exitF = os.NewFile(uintptr(fd), "pidfd")
	rc, err := ch.exitF.SyscallConn()
	if err != nil {
		ch.exitF.Close()
		ch.exitF = nil
		return false
	}
	ch.exitRC = rc
	return true
}

// exitConn returns the pidfd for a wait set to watch, or nil.
func (ch *Child) exitConn() syscall.RawConn {
	ch.exitMu.Lock()
	defer ch.exitMu.Unlock()
	if ch.exitF == nil {
		return nil
	}
	return ch.exitRC
}

// pollExit reports whether the pidfd says the process has exited.
func (ch *Child) pollExit() bool {
	rc := ch.exitConn()
	if rc == nil {
		return false
	}
	exited := false
	rc.Control(func(fd uintptr) {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(p, 0)
			if err == unix.EINTR {
				continue
			}
			exited = err == nil && n > 0 && p[0].Revents&unix.POLLIN != 0
			return
		}
	})
	return exited
}

// exitWatch holds the descriptor that becomes readable when the process
// exits, for the wait sets.
type exitWatch struct {
	exitRC syscall.RawConn
}
