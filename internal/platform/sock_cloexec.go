//go:build dragonfly || freebsd || linux || netbsd || openbsd || solaris

package platform

import (
	"os"

	"golang.org/x/sys/unix"
)

// Socket creates a non-blocking, close-on-exec socket in one call.
func Socket(family, typ, proto int) (int, error) {
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, proto)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

// Socketpair creates a pair of connected, non-blocking, close-on-exec
// stream sockets of family AF_UNIX in one call.
func Socketpair() ([2]int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return fds, os.NewSyscallError("socketpair", err)
	}
	return fds, nil
}

// Pipe creates an OS pipe whose ends are non-blocking and close-on-exec,
// in one call (pipe2). p[0] is the read end.
func Pipe() ([2]int, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return p, os.NewSyscallError("pipe2", err)
	}
	return p, nil
}

// BlockingSocketpair is Socketpair with blocking sockets.
func BlockingSocketpair() ([2]int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fds, os.NewSyscallError("socketpair", err)
	}
	return fds, nil
}
