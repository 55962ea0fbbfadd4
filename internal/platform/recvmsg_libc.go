//go:build unix && !linux

package platform

import "golang.org/x/sys/unix"

// recvmsg is unix.Recvmsg: on these systems system calls go through the C
// library (OpenBSD forbids others), which x/sys/unix wraps.
func recvmsg(fd int, p, oob []byte, flags int) (n, oobn, recvflags int, err error) {
	n, oobn, recvflags, _, err = unix.Recvmsg(fd, p, oob, flags)
	return n, oobn, recvflags, err
}
