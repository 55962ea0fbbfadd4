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
// function to call once cmd.Start has returned: it closes this process's
// copy of the child's end and, when the child started, records its pid
// on the parent's end. The pipe itself names the parent as the process
// of both ends (it opened both), so without that record the parent's
// SendFile would leave the handle in the parent for the child to take,
// and its RecvFile would take a handle from any process a DupHandle
// names; with it, SendFile duplicates the handle into the child, as
// CPython's DupHandle does for a known pid, and RecvFile takes handles
// only from the child (or made for the parent).
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
	release := func() {
		windows.CloseHandle(h)
		if cmd.Process != nil {
			mine.SetPeerProcess(uint32(cmd.Process.Pid))
		}
	}
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
