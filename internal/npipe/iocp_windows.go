package npipe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The completion port every handle of this package is tied to, and the
// goroutine that hands its packets to the waiting calls.

var (
	portOnce sync.Once
	port     windows.Handle
	portErr  error
)

// associate ties h to the package's completion port, creating the port
// and starting its goroutine the first time.
func associate(h windows.Handle) error {
	portOnce.Do(func() {
		port, portErr = windows.CreateIoCompletionPort(windows.InvalidHandle, 0, 0, 0)
		if portErr != nil {
			portErr = fmt.Errorf("npipe: CreateIoCompletionPort: %w", portErr)
			return
		}
		go dispatch()
	})
	if portErr != nil {
		return portErr
	}
	if _, err := windows.CreateIoCompletionPort(h, port, 0, 0); err != nil {
		return fmt.Errorf("npipe: CreateIoCompletionPort: %w", err)
	}
	return nil
}

// dispatch runs for the life of the process: it takes each completion
// packet off the port and wakes the call that waits for it.
func dispatch() {
	for {
		var n uint32
		var key uintptr
		var ov *windows.Overlapped
		err := windows.GetQueuedCompletionStatus(port, &n, &key, &ov, windows.INFINITE)
		if ov == nil {
			// The port itself failed, which it does not do while open;
			// nothing waits on a packet that did not come.
			continue
		}
		// Every OVERLAPPED given to the kernel is the first field of an
		// ioop, kept alive by the call waiting for it.
		op := (*ioop)(unsafe.Pointer(ov))
		op.n, op.err = n, err
		op.done <- struct{}{}
	}
}

// ioop is one overlapped operation: its OVERLAPPED (the kernel's handle
// on it), the buffer the kernel reads or fills, and the result.
//
// An ioop belongs to one Conn or Listener and serves one operation at a
// time. Between start and the receive from done the kernel owns ov and
// buf; whoever started the operation must wait for done before it returns
// (see fd.wait), even when the operation is cancelled.
type ioop struct {
	ov   windows.Overlapped // first: dispatch converts the packet's pointer
	done chan struct{}      // receives one value per completion packet
	buf  []byte             // keeps the buffer alive while the kernel has it
	n    uint32             // bytes transferred, from the packet
	err  error              // nil or the operation's windows.Errno

	// evh, when set, is an event the operation signals instead of a
	// completion packet (see Conn.events).
	evh windows.Handle
}

func newOp() *ioop { return &ioop{done: make(chan struct{}, 1)} }

// reset prepares op for a new operation.
func (op *ioop) reset(buf []byte) {
	op.ov = windows.Overlapped{}
	op.buf = buf
	op.n, op.err = 0, nil
	if op.evh != 0 {
		windows.ResetEvent(op.evh)
		// The low bit keeps the completion out of any completion port
		// the handle's file object is tied to.
		op.ov.HEvent = op.evh | 1
	}
}

// useEvent makes op complete through an event of its own.
func (op *ioop) useEvent() error {
	h, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return fmt.Errorf("npipe: CreateEvent: %w", err)
	}
	op.evh = h
	return nil
}

// closeEvent releases op's event, if any, once op is idle.
func (op *ioop) closeEvent() {
	if op.evh != 0 {
		windows.CloseHandle(op.evh)
		op.evh = 0
	}
}

// awaitEvent waits, on a thread of its own, for the event of op (started
// on h) and delivers the result as dispatch does for a packet.
func (op *ioop) awaitEvent(h windows.Handle) {
	go func() {
		windows.WaitForSingleObject(op.evh, windows.INFINITE)
		var n uint32
		err := windows.GetOverlappedResult(h, &op.ov, &n, false)
		op.n, op.err = n, err
		op.done <- struct{}{}
	}()
}

// queued reports whether a call that started an overlapped operation and
// returned err will be followed by a completion packet. The I/O manager
// queues a packet unless the request failed outright: for a pending
// operation, for one that succeeded at once (these handles do not use
// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS), and for one that ended at once
// with a warning status, such as ERROR_MORE_DATA (STATUS_BUFFER_OVERFLOW)
// on a message longer than the buffer.
func queued(err error) bool {
	return err == nil || err == windows.ERROR_IO_PENDING || err == windows.ERROR_MORE_DATA
}

// fd is a handle shared by the calls of a Conn or Listener, closed only
// once no call uses it any more, so that no call cancels or starts I/O on
// a handle number the system has already given to someone else.
type fd struct {
	h       windows.Handle
	mu      sync.Mutex
	refs    int
	closed  bool
	closing chan struct{} // closed by Close: wakes every waiting call
	drained chan struct{} // closed when refs falls to 0 after Close
}

func newFD(h windows.Handle) *fd {
	return &fd{h: h, closing: make(chan struct{}), drained: make(chan struct{})}
}

// errClosed is what calls on a closed Conn or Listener return.
var errClosed = fmt.Errorf("npipe: %w", net.ErrClosed)

// acquire registers a call; every successful acquire is paired with a
// release.
func (f *fd) acquire() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errClosed
	}
	f.refs++
	return nil
}

func (f *fd) release() {
	f.mu.Lock()
	f.refs--
	last := f.closed && f.refs == 0
	f.mu.Unlock()
	if last {
		close(f.drained)
	}
}

// close wakes every waiting call, waits until all have returned, then
// runs closeHandles. Only the first call does anything; it reports
// whether it was the first.
func (f *fd) close(closeHandles func()) bool {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return false
	}
	f.closed = true
	busy := f.refs > 0
	f.mu.Unlock()
	close(f.closing)
	if busy {
		<-f.drained
	}
	closeHandles()
	return true
}

// lock takes the channel lock l (capacity 1), giving up when ctx ends or
// the fd is closed.
func (f *fd) lock(ctx context.Context, l chan struct{}) error {
	select {
	case l <- struct{}{}:
		return nil
	default:
	}
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-f.closing:
		return errClosed
	}
}

// wait waits for the completion of op, started on h (f.h, or a handle the
// fd owns, such as a Listener's instance). When ctx ends or the fd is
// closed first, it cancels the operation and still waits for its packet;
// it then returns why it cancelled (ctx.Err() or errClosed), and the
// caller must look at op.err: the operation may have completed anyway.
func (f *fd) wait(ctx context.Context, h windows.Handle, op *ioop) (cancelled error) {
	if op.evh != 0 {
		op.awaitEvent(h)
	}
	done := ctx.Done() // nil for context.Background: Close alone
	if testHookWait != nil {
		testHookWait(op)
	}
	select {
	case <-op.done:
		return nil
	case <-done:
		cancelled = ctx.Err()
	case <-f.closing:
		cancelled = errClosed
	}
	// ERROR_NOT_FOUND means the operation has completed already: its
	// packet is on the way.
	_ = windows.CancelIoEx(h, &op.ov)
	<-op.done
	return cancelled
}

// testHookWait, when set by a test, is called by every wait before it
// blocks: the operation has been started and has not been cancelled.
var testHookWait func(op *ioop)

// aborted reports whether an operation ended because it was cancelled.
func aborted(err error) bool { return errors.Is(err, windows.ERROR_OPERATION_ABORTED) }
