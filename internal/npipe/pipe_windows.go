package npipe

import (
	"context"
	"fmt"

	"golang.org/x/sys/windows"
)

// Pipe returns the two ends of a new pipe with a [UniqueName], as
// CPython's Pipe does on Windows: one instance only, created with
// FILE_FLAG_FIRST_PIPE_INSTANCE, the second end opened and connected at
// once. Duplex, both ends read and write; otherwise (CPython's
// duplex=False) the pipe is PIPE_ACCESS_INBOUND and r only reads, w only
// writes.
func Pipe(duplex bool, opts *Options) (r, w *Conn, err error) {
	r, h2, err := newPipe(duplex, opts)
	if err != nil {
		return nil, nil, err
	}
	if err := associate(h2); err != nil {
		windows.CloseHandle(h2)
		r.Close()
		return nil, nil, err
	}
	w = newConn(h2)
	w.name = r.name
	return r, w, nil
}

// ChildPipe returns the two ends of a new duplex pipe, as Pipe, for
// handing one end to a child process: this process's end, and the
// child's as an inheritable handle, opened for overlapped I/O and tied to
// no completion port, so that the child's [NewConn] ties it to its own
// (CPython's PipeConnection(handle) takes it too). The caller lists the
// handle in syscall.SysProcAttr.AdditionalInheritedHandles, and closes
// it once the child has started: the child alone then holds that end.
func ChildPipe(opts *Options) (mine *Conn, child windows.Handle, err error) {
	mine, h, err := newPipe(true, opts)
	if err != nil {
		return nil, 0, err
	}
	p := windows.CurrentProcess()
	if err := windows.DuplicateHandle(p, h, p, &child, 0, true, windows.DUPLICATE_SAME_ACCESS|windows.DUPLICATE_CLOSE_SOURCE); err != nil {
		mine.Close()
		return nil, 0, fmt.Errorf("npipe: DuplicateHandle: %w", err)
	}
	return mine, child, nil
}

// newPipe creates a pipe and connects its two ends: the first as a Conn,
// the second as a bare handle in message read mode, tied to no
// completion port.
func newPipe(duplex bool, opts *Options) (*Conn, windows.Handle, error) {
	name := UniqueName(windows.Getpid())
	name16, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, 0, err
	}
	sa, err := opts.securityAttributes()
	if err != nil {
		return nil, 0, err
	}
	size := opts.bufferSize()
	openMode := uint32(windows.PIPE_ACCESS_DUPLEX)
	access := uint32(windows.GENERIC_READ | windows.GENERIC_WRITE)
	outSize, inSize := size, size
	if !duplex {
		openMode = windows.PIPE_ACCESS_INBOUND
		access = windows.GENERIC_WRITE
		outSize = 0
	}
	h1, err := windows.CreateNamedPipe(name16, openMode|windows.FILE_FLAG_OVERLAPPED|windows.FILE_FLAG_FIRST_PIPE_INSTANCE,
		opts.pipeMode(), 1, outSize, inSize, 0, sa)
	if err != nil {
		return nil, 0, fmt.Errorf("npipe: CreateNamedPipe %s: %w", name, err)
	}
	if err := associate(h1); err != nil {
		windows.CloseHandle(h1)
		return nil, 0, err
	}
	c1 := newConn(h1)
	c1.name = name
	h2, err := windows.CreateFile(name16, access, 0, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OVERLAPPED|securitySQOSPresent|securityIdentification, 0)
	if err != nil {
		c1.Close()
		return nil, 0, fmt.Errorf("npipe: opening %s: %w", name, err)
	}
	mode := uint32(windows.PIPE_READMODE_MESSAGE)
	if err := windows.SetNamedPipeHandleState(h2, &mode, nil, nil); err != nil {
		windows.CloseHandle(h2)
		c1.Close()
		return nil, 0, fmt.Errorf("npipe: SetNamedPipeHandleState %s: %w", name, err)
	}
	// The client end is open, so this completes at once, normally with
	// ERROR_PIPE_CONNECTED.
	op := c1.rop
	op.reset(nil)
	err = windows.ConnectNamedPipe(h1, &op.ov)
	if queued(err) {
		c1.fd.wait(context.Background(), h1, op)
		err = op.err
	}
	if err != nil && err != windows.ERROR_PIPE_CONNECTED {
		c1.Close()
		windows.CloseHandle(h2)
		return nil, 0, fmt.Errorf("npipe: ConnectNamedPipe %s: %w", name, err)
	}
	return c1, h2, nil
}
