//go:build unix

package mpconn

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"golang.org/x/sys/unix"
)

// childPipe makes the Pipe of StartChild and hands the child's end to
// cmd as an extra file. It returns the parent's end, the value of
// MPCONN_FD (the descriptor's number in the child) and a function that
// closes this process's copy of the child's end, for after cmd starts.
func childPipe(cmd *exec.Cmd, opts *ConnOptions) (*Conn, string, func(), error) {
	parent, end, err := Pipe(opts)
	if err != nil {
		return nil, "", nil, err
	}
	f, err := end.File()
	end.Close()
	if err == nil {
		// Blocking, as the child expects (Python's Connection does not
		// handle EAGAIN). O_NONBLOCK belongs to the open socket, which
		// only the child shares now that end is closed.
		err = setBlocking(f)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		parent.Close()
		return nil, "", nil, err
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	fd := 2 + len(cmd.ExtraFiles)
	return parent, strconv.Itoa(fd), func() { f.Close() }, nil
}

// childConn wraps the descriptor MPCONN_FD names (s) and closes the
// inherited one.
func childConn(s string, opts *ConnOptions) (*Conn, error) {
	fd, err := strconv.Atoi(s)
	if err != nil || fd < 0 {
		return nil, fmt.Errorf("mpconn: ChildConn: bad %s=%q", EnvFD, s)
	}
	c, err := FDConn(fd, opts)
	if err != nil {
		return nil, err
	}
	unix.Close(fd)
	return c, nil
}

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
