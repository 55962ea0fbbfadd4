//go:build dragonfly || freebsd || linux || netbsd || openbsd

package platform

import "golang.org/x/sys/unix"

// RecvmsgCloexec reads into p with one recvmsg call and the ancillary
// data into oob. Descriptors that come along (SCM_RIGHTS) are
// close-on-exec from the start: the kernel marks them (MSG_CMSG_CLOEXEC).
// recvflags holds the message flags the call returned (MSG_CTRUNC).
func RecvmsgCloexec(fd int, p, oob []byte) (n, oobn, recvflags int, err error) {
	return recvmsg(fd, p, oob, unix.MSG_CMSG_CLOEXEC)
}
