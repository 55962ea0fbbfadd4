package npipe

import (
	"context"
	"fmt"

	"golang.org/x/sys/windows"
)

// Listener accepts connections on a named pipe, as CPython's
// PipeListener: it keeps pipe instances in a queue, and each Accept
// creates the next instance before it connects the oldest, so that one
// instance always waits for clients, even between two Accepts.
//
// Accept may be called from several goroutines; they are served one at a
// time. Close cancels a pending Accept.
type Listener struct {
	name   string
	name16 *uint16
	mode   uint32
	size   uint32
	sa     *windows.SecurityAttributes // nil: the default descriptor

	fd    *fd // fd.h is unused; it tracks the calls and Close
	alock chan struct{}
	op    *ioop
	queue []windows.Handle // instances not yet handed out; [0] is the oldest
}

// Listen creates the first instance of the pipe name (`\\.\pipe\NAME`)
// with FILE_FLAG_FIRST_PIPE_INSTANCE, so it fails if the pipe exists
// already, whoever created it. An empty name picks a [UniqueName].
func Listen(name string, opts *Options) (*Listener, error) {
	if name == "" {
		name = UniqueName(windows.Getpid())
	}
	name16, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, fmt.Errorf("npipe: listen %q: %w", name, err)
	}
	sa, err := opts.securityAttributes()
	if err != nil {
		return nil, err
	}
	l := &Listener{
		name:   name,
		name16: name16,
		mode:   opts.pipeMode(),
		size:   opts.bufferSize(),
		sa:     sa,
		fd:     newFD(windows.InvalidHandle),
		alock:  make(chan struct{}, 1),
		op:     newOp(),
	}
	h, err := l.newInstance(true)
	if err != nil {
		return nil, err
	}
	l.queue = []windows.Handle{h}
	return l, nil
}

// newInstance creates one more instance of the pipe and ties it to the
// completion port.
func (l *Listener) newInstance(first bool) (windows.Handle, error) {
	flags := uint32(windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_OVERLAPPED)
	if first {
		flags |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE
	}
	h, err := windows.CreateNamedPipe(l.name16, flags, l.mode, windows.PIPE_UNLIMITED_INSTANCES, l.size, l.size, 0, l.sa)
	if err != nil {
		return windows.InvalidHandle, fmt.Errorf("npipe: CreateNamedPipe %s: %w", l.name, err)
	}
	if err := associate(h); err != nil {
		windows.CloseHandle(h)
		return windows.InvalidHandle, err
	}
	return h, nil
}

// Addr returns the pipe's address.
func (l *Listener) Addr() string { return l.name }

// Accept waits for a client and returns its connection. When ctx ends
// first it returns ctx.Err(), and a client that connected meanwhile is
// kept for the next Accept.
//
// A client that connected, wrote and closed before Accept got to it
// (ERROR_NO_DATA) is accepted like any other: its messages can be read,
// then the Conn reports io.EOF.
func (l *Listener) Accept(ctx context.Context) (*Conn, error) {
	if err := l.fd.acquire(); err != nil {
		return nil, err
	}
	defer l.fd.release()
	if err := l.fd.lock(ctx, l.alock); err != nil {
		return nil, err
	}
	defer func() { <-l.alock }()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(l.queue) < 2 {
		h, err := l.newInstance(false)
		if err != nil {
			return nil, err
		}
		l.queue = append(l.queue, h)
	}
	h := l.queue[0]
	op := l.op
	op.reset(nil)
	err := windows.ConnectNamedPipe(h, &op.ov)
	if queued(err) {
		if cancelled := l.fd.wait(ctx, h, op); cancelled != nil && aborted(op.err) {
			return nil, cancelled // h stays first in the queue
		}
		err = op.err
	}
	switch err {
	case nil, windows.ERROR_PIPE_CONNECTED, windows.ERROR_NO_DATA:
	default:
		// The instance is unusable; the next Accept makes another.
		l.queue = l.queue[1:]
		windows.CloseHandle(h)
		return nil, fmt.Errorf("npipe: ConnectNamedPipe %s: %w", l.name, err)
	}
	l.queue = l.queue[1:]
	c := newConn(h)
	c.name = l.name
	return c, nil
}

// Close closes the pipe instances that wait for clients (cancelling a
// pending Accept); connections already accepted stay open. Once it has
// returned, the name is free again unless a Conn of it is still open.
func (l *Listener) Close() error {
	l.fd.close(func() {
		for _, h := range l.queue {
			windows.CloseHandle(h)
		}
		l.queue = nil
	})
	return nil
}
