//go:build aix

package platform

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// DupCloexec returns a close-on-exec duplicate of fd. AIX has no
// F_DUPFD_CLOEXEC: the duplicate is made, then marked, with
// syscall.ForkLock held so that no fork copies it in between.
func DupCloexec(fd uintptr) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	nfd, err := unix.FcntlInt(fd, unix.F_DUPFD, 0)
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	return nfd, err
}
