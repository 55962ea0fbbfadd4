//go:build unix && !(dragonfly || freebsd || linux || netbsd || openbsd)

package platform

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// RecvmsgCloexec reads into p with one recvmsg call and the ancillary
// data into oob. Descriptors that come along (SCM_RIGHTS) are made
// close-on-exec one by one, since recvmsg cannot do it here (no
// MSG_CMSG_CLOEXEC): syscall.ForkLock is held for reading from the call
// until they are marked, so that no child started meanwhile inherits
// them. recvflags holds the message flags the call returned (MSG_CTRUNC).
func RecvmsgCloexec(fd int, p, oob []byte) (n, oobn, recvflags int, err error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	n, oobn, recvflags, err = recvmsg(fd, p, oob, 0)
	if err != nil || oobn == 0 {
		return n, oobn, recvflags, err
	}
	msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
	if perr != nil {
		return n, oobn, recvflags, nil // the caller finds the same
	}
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_RIGHTS {
			continue
		}
		fds, _ := unix.ParseUnixRights(&msgs[i])
		for _, fd := range fds {
			unix.CloseOnExec(fd)
		}
	}
	return n, oobn, recvflags, nil
}
