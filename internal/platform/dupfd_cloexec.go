//go:build unix && !aix

package platform

import "golang.org/x/sys/unix"

// DupCloexec returns a close-on-exec duplicate of fd (F_DUPFD_CLOEXEC).
func DupCloexec(fd uintptr) (int, error) {
	return unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
}
