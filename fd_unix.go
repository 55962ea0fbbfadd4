//go:build unix

package mpconn

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// setBlocking clears O_NONBLOCK on f's descriptor.
func setBlocking(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("mpconn: StartChild: %w", serr)
	}
	return nil
}

// closeFD closes a descriptor by number.
func closeFD(fd int) { unix.Close(fd) }
