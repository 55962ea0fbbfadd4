//go:build aix || darwin

package platform

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// These systems create no socket or pipe close-on-exec in one call: the
// descriptor is made, then marked, with syscall.ForkLock held for reading
// in between, so that no fork of os/exec (which takes it for writing)
// can copy the descriptor into a child before it is marked.

// Socket creates a non-blocking, close-on-exec socket.
func Socket(family, typ, proto int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, typ, proto)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("setnonblock", err)
	}
	return fd, nil
}

// Socketpair creates a pair of connected, non-blocking, close-on-exec
// stream sockets of family AF_UNIX.
func Socketpair() ([2]int, error) {
	fds, err := BlockingSocketpair()
	if err != nil {
		return fds, err
	}
	return fds, setNonblock2(fds)
}

// BlockingSocketpair is Socketpair with blocking sockets.
func BlockingSocketpair() ([2]int, error) {
	syscall.ForkLock.RLock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return fds, os.NewSyscallError("socketpair", err)
	}
	return fds, nil
}

// Pipe creates an OS pipe whose ends are non-blocking and close-on-exec.
// p[0] is the read end.
func Pipe() ([2]int, error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err := unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return p, os.NewSyscallError("pipe", err)
	}
	return p, setNonblock2(p)
}

func setNonblock2(fds [2]int) error {
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
			return os.NewSyscallError("setnonblock", err)
		}
	}
	return nil
}
