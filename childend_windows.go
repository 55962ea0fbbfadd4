package mpconn

import (
	"fmt"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/mpconn/mpconn/internal/npipe"
	"golang.org/x/sys/windows"
)

// On Windows the Pipe of StartChild is a named pipe, as CPython's Pipe()
// there, and the child inherits its end as a handle: MPCONN_FD holds the
// handle's value in decimal, which is the same in the child. The handle
// is opened for overlapped I/O and tied to no completion port, so a Go
// child's ChildConn uses its own, and a Python child wraps it with
// multiprocessing.connection.PipeConnection(handle).

// childPipe makes the pipe, lists the child's end in cmd's inherited
// handles and returns the parent's end, the value of MPCONN_FD and a
// function that closes this process's copy of the child's end.
func childPipe(cmd *exec.Cmd, opts *ConnOptions) (*Conn, string, func(), error) {
	mine, h, err := npipe.ChildPipe(nil)
	if err != nil {
		return nil, "", nil, err
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	a := cmd.SysProcAttr
	a.AdditionalInheritedHandles = append(a.AdditionalInheritedHandles, syscall.Handle(h))
	release := func() { windows.CloseHandle(h) }
	return pipeConn(mine, true, true, opts), strconv.FormatUint(uint64(h), 10), release, nil
}

// childConn takes over the inherited handle MPCONN_FD names (s).
func childConn(s string, opts *ConnOptions) (*Conn, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 {
		return nil, fmt.Errorf("mpconn: ChildConn: bad %s=%q", EnvFD, s)
	}
	pc, err := npipe.NewConn(windows.Handle(v))
	if err != nil {
		return nil, fmt.Errorf("mpconn: ChildConn: %w", err)
	}
	return pipeConn(pc, true, true, opts), nil
}
