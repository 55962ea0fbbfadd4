package npipe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/windows"
)

// Conn is one end of a message-mode named pipe, opened for overlapped I/O.
//
// Any number of goroutines may call its methods at once: receives are
// served one at a time, and so are sends, each message whole. Close may
// be called at any time; it cancels pending calls, which return an error
// wrapping [net.ErrClosed], and closes the handle once they have
// returned.
type Conn struct {
	fd   *fd
	name string // the pipe's address, when known

	rlock   chan struct{} // held by the receiving goroutine
	rop     *ioop
	head    []byte // HeadSize bytes, the buffer of head reads
	headN   int    // bytes of the next message in head
	headMsg bool   // head holds the start of the next message (headN bytes)
	more    bool   // ... and the message goes on (ERROR_MORE_DATA)
	rerr    error  // sticky receive error: io.EOF, a *TooLongError, ...

	wlock chan struct{} // held by the sending goroutine
	wop   *ioop
	werr  error // sticky send error: a message was cut short

	peer atomic.Uint32 // the peer's process id, when recorded (SetPeerProcess)
}

func newConn(h windows.Handle) *Conn {
	return &Conn{
		fd:    newFD(h),
		rlock: make(chan struct{}, 1),
		wlock: make(chan struct{}, 1),
		rop:   newOp(),
		wop:   newOp(),
	}
}

// NewConn wraps h, a handle to either end of a named pipe opened with
// FILE_FLAG_OVERLAPPED (such as a handle inherited from a parent
// process), and takes it over: Close closes it. It sets the handle to
// message read mode when it can; a handle without the right to change
// that (write-only) keeps the mode it has.
//
// A handle whose pipe end is already tied to a completion port (another
// process's, for an end this package created there and handed down)
// cannot join this one: its operations then complete through events,
// each waited for on a thread of its own, as CPython does.
func NewConn(h windows.Handle) (*Conn, error) {
	mode := uint32(windows.PIPE_READMODE_MESSAGE)
	_ = windows.SetNamedPipeHandleState(h, &mode, nil, nil)
	err := associate(h)
	if err == nil {
		return newConn(h), nil
	}
	if !errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
		return nil, err
	}
	c := newConn(h)
	if err := c.rop.useEvent(); err != nil {
		return nil, err
	}
	if err := c.wop.useEvent(); err != nil {
		c.rop.closeEvent()
		return nil, err
	}
	return c, nil
}

// Name returns the pipe's address (`\\.\pipe\NAME`), or "" for a Conn
// made by NewConn.
func (c *Conn) Name() string { return c.name }

// Handle returns the pipe handle. It stays valid until Close.
func (c *Conn) Handle() windows.Handle { return c.fd.h }

// Close cancels every pending call and closes the handle. Only the first
// call closes; later ones return nil.
func (c *Conn) Close() error {
	var err error
	c.fd.close(func() {
		if e := windows.CloseHandle(c.fd.h); e != nil {
			err = fmt.Errorf("npipe: CloseHandle: %w", e)
		}
		c.rop.closeEvent()
		c.wop.closeEvent()
	})
	return err
}

// ReadMsg receives the next message. max > 0 caps its length: a longer
// message gives a [*TooLongError] (and the Conn stays unreadable). Empty
// messages are messages: ReadMsg returns a non-nil empty slice for them.
// When the peer has closed its end and every message has been read it
// returns [io.EOF].
//
// If ctx ends, or the Conn is closed, while ReadMsg waits for a message,
// it returns ctx.Err() (or an error wrapping [net.ErrClosed]) and nothing
// is lost: a message that arrived meanwhile is kept for the next call.
// Once the start of a message is here, the rest is already in the pipe
// and ReadMsg reads it without waiting on ctx.
func (c *Conn) ReadMsg(ctx context.Context, max int64) ([]byte, error) {
	if err := c.fd.acquire(); err != nil {
		return nil, err
	}
	defer c.fd.release()
	if err := c.fd.lock(ctx, c.rlock); err != nil {
		return nil, err
	}
	defer func() { <-c.rlock }()
	if c.rerr != nil {
		return nil, c.rerr
	}
	if !c.headMsg {
		if err := c.readHead(ctx, false); err != nil {
			return nil, err
		}
		if c.rerr != nil {
			return nil, c.rerr
		}
	}
	return c.takeMsg(max)
}

// WaitReadable waits until a message, or the end of the pipe, is ready to
// be received, so that the next receive will not wait. It may read the
// start of the message, which the next receive then returns. It returns
// ctx.Err() when ctx ends first.
func (c *Conn) WaitReadable(ctx context.Context) error {
	if err := c.fd.acquire(); err != nil {
		return err
	}
	defer c.fd.release()
	if err := c.fd.lock(ctx, c.rlock); err != nil {
		return err
	}
	defer func() { <-c.rlock }()
	if c.headMsg || c.rerr != nil {
		return nil
	}
	return c.readHead(ctx, false)
}

// Readable reports, without waiting, whether a message (or the end of the
// pipe, or a receive error) is ready to be received. Like WaitReadable it
// may read the start of the message. It returns false while another
// goroutine is receiving.
//
// An empty message is ready too: unlike PeekNamedPipe, which counts bytes
// and cannot see an empty message, Readable tries to read.
func (c *Conn) Readable() (bool, error) {
	if err := c.fd.acquire(); err != nil {
		return false, err
	}
	defer c.fd.release()
	select {
	case c.rlock <- struct{}{}:
	default:
		return false, nil
	}
	defer func() { <-c.rlock }()
	if c.headMsg || c.rerr != nil {
		return true, nil
	}
	if err := c.readHead(context.Background(), true); err != nil {
		return false, err
	}
	return c.headMsg || c.rerr != nil, nil
}

// cancelledCtx is an already cancelled context: waiting with it cancels
// at once an operation that did not complete at once.
var cancelledCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// readHead reads the start of the next message into c.head. On success
// either c.headMsg is set or c.rerr holds the end of the pipe or a read
// error; it returns an error only when it was cancelled (ctx, or Close)
// before anything was read. With poll set it does not wait: an operation
// that does not complete at once is cancelled. The caller holds rlock.
func (c *Conn) readHead(ctx context.Context, poll bool) error {
	if c.head == nil {
		c.head = make([]byte, HeadSize)
	}
	op := c.rop
	op.reset(c.head)
	err := readFile(c.fd.h, &c.head[0], HeadSize, &op.ov)
	if !queued(err) {
		c.setReadErr(err)
		return nil
	}
	if poll {
		ctx = cancelledCtx
	}
	cancelled := c.fd.wait(ctx, c.fd.h, op)
	err = op.err
	switch {
	case err == nil || err == windows.ERROR_MORE_DATA:
		c.headMsg, c.headN, c.more = true, int(op.n), err != nil
		return nil
	case aborted(err) && cancelled != nil:
		if poll && cancelled != errClosed {
			return nil // nothing was ready
		}
		return cancelled
	default:
		c.setReadErr(err)
		return nil
	}
}

// setReadErr records what a failed read means for the receiver.
func (c *Conn) setReadErr(err error) {
	switch err {
	case windows.ERROR_BROKEN_PIPE, windows.ERROR_PIPE_NOT_CONNECTED:
		// The peer closed its end (and no message is left), or the
		// server end was disconnected: end of file.
		c.rerr = io.EOF
	default:
		c.rerr = &readError{op: "ReadFile", err: err}
	}
}

// takeMsg returns the message whose start is in c.head, reading the rest
// when there is more. The caller holds rlock.
func (c *Conn) takeMsg(max int64) ([]byte, error) {
	n := c.headN
	if !c.more {
		c.headMsg = false
		if max > 0 && int64(n) > max {
			c.rerr = &TooLongError{Len: int64(n), Max: max}
			return nil, c.rerr
		}
		msg := make([]byte, n)
		copy(msg, c.head[:n])
		return msg, nil
	}
	_, left, err := peekNamedPipe(c.fd.h)
	if err != nil || left == 0 {
		// The message was announced longer than the head, and its
		// rest is gone: the pipe broke under it.
		c.headMsg = false
		c.rerr = fmt.Errorf("npipe: the rest of a message is missing (PeekNamedPipe: %v): %w", err, io.ErrUnexpectedEOF)
		return nil, c.rerr
	}
	total := int64(n) + int64(left)
	if max > 0 && total > max {
		c.headMsg = false
		c.rerr = &TooLongError{Len: total, Max: max}
		return nil, c.rerr
	}
	if uint64(total) > uint64(maxInt) {
		c.headMsg = false
		c.rerr = &TooLongError{Len: total, Max: int64(maxInt)}
		return nil, c.rerr
	}
	msg := make([]byte, total)
	copy(msg, c.head[:n])
	c.headMsg = false
	// The rest is in the pipe already: the read completes at once, so
	// only Close interrupts it.
	op := c.rop
	op.reset(msg)
	err = readFile(c.fd.h, &msg[n], left, &op.ov)
	if queued(err) {
		if cancelled := c.fd.wait(context.Background(), c.fd.h, op); cancelled != nil && aborted(op.err) {
			c.rerr = fmt.Errorf("npipe: receive interrupted in the middle of a message: %w", cancelled)
			return nil, c.rerr
		}
		err = op.err
	}
	switch {
	case err == nil && op.n == left:
		return msg, nil
	case err == nil || err == windows.ERROR_BROKEN_PIPE:
		c.rerr = fmt.Errorf("npipe: got %d of the %d bytes left in a message: %w", op.n, left, io.ErrUnexpectedEOF)
	case err == windows.ERROR_MORE_DATA:
		c.rerr = &readError{op: "ReadFile", err: fmt.Errorf("the message grew beyond the %d bytes PeekNamedPipe announced", total)}
	default:
		c.rerr = &readError{op: "ReadFile", err: err}
	}
	return nil, c.rerr
}

const maxInt = int(^uint(0) >> 1)

// readError is a failed system call of a receive.
type readError struct {
	op  string
	err error
}

func (e *readError) Error() string { return "npipe: " + e.op + ": " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// emptyBuf is what WriteFile points at for an empty message.
var emptyBuf = make([]byte, 1)

// WriteMsg sends p as one message (an empty p sends an empty message).
//
// If ctx ends, or the Conn is closed, while the message waits for room in
// the pipe, WriteMsg cancels the write. Nothing is sent then, unless the
// write completed first, in which case WriteMsg returns nil: a message is
// sent whole or not at all, and the caller knows which. Should the
// system ever cut a message short, WriteMsg reports it and the Conn
// refuses every later send.
//
// A send after the peer closed its end returns an error that matches
// [syscall.EPIPE] through errors.Is.
func (c *Conn) WriteMsg(ctx context.Context, p []byte) error {
	if err := checkSize(len(p)); err != nil {
		return err
	}
	if err := c.fd.acquire(); err != nil {
		return err
	}
	defer c.fd.release()
	if err := c.fd.lock(ctx, c.wlock); err != nil {
		return err
	}
	defer func() { <-c.wlock }()
	if c.werr != nil {
		return c.werr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	buf := p
	if len(p) == 0 {
		buf = emptyBuf
	}
	op := c.wop
	op.reset(buf)
	err := writeFile(c.fd.h, &buf[0], uint32(len(p)), &op.ov)
	if !queued(err) {
		op.buf = nil
		return writeErr(err)
	}
	cancelled := c.fd.wait(ctx, c.fd.h, op)
	op.buf = nil
	err = op.err
	switch {
	case err == nil && int(op.n) == len(p):
		return nil
	case aborted(err) && cancelled != nil && op.n == 0:
		return cancelled
	case aborted(err) && cancelled != nil:
		c.werr = fmt.Errorf("npipe: a cancelled send cut a %d-byte message after %d bytes: %w", len(p), op.n, cancelled)
		return c.werr
	case err == nil:
		c.werr = fmt.Errorf("npipe: WriteFile wrote %d of %d bytes: %w", op.n, len(p), io.ErrShortWrite)
		return c.werr
	default:
		return writeErr(err)
	}
}

// writeErr wraps the error of a failed write; a peer that has gone
// matches syscall.EPIPE.
func writeErr(err error) error {
	switch err {
	case windows.ERROR_NO_DATA, windows.ERROR_BROKEN_PIPE, windows.ERROR_PIPE_NOT_CONNECTED:
		return &writeError{err: err, epipe: true}
	}
	return &writeError{err: err}
}

// writeError is a failed WriteFile.
type writeError struct {
	err   error
	epipe bool // the peer closed its end
}

func (e *writeError) Error() string { return "npipe: WriteFile: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// Is makes a write to a closed pipe match syscall.EPIPE.
func (e *writeError) Is(target error) bool { return e.epipe && target == syscall.EPIPE }

// TryWriteMsg sends p as one message if the pipe takes it at once, and
// reports whether it did. It never waits for room: a write that does not
// complete at once is cancelled, and then nothing of p was sent (sent is
// false, err nil). A message larger than the room left in the pipe's
// buffer (8 KiB for the pipes of this package, less what the reader has
// not read) is never taken at once, unless a read waiting on the other
// end takes it. Another goroutine's send in progress counts as no room.
func (c *Conn) TryWriteMsg(p []byte) (sent bool, err error) {
	if err := checkSize(len(p)); err != nil {
		return false, err
	}
	if err := c.fd.acquire(); err != nil {
		return false, err
	}
	defer c.fd.release()
	select {
	case c.wlock <- struct{}{}:
	default:
		return false, nil
	}
	defer func() { <-c.wlock }()
	if c.werr != nil {
		return false, c.werr
	}
	buf := p
	if len(p) == 0 {
		buf = emptyBuf
	}
	op := c.wop
	op.reset(buf)
	err = writeFile(c.fd.h, &buf[0], uint32(len(p)), &op.ov)
	if !queued(err) {
		op.buf = nil
		return false, writeErr(err)
	}
	// Done at once: only its packet is to come. Pending: cancel it.
	ctx := context.Background()
	if err == windows.ERROR_IO_PENDING {
		ctx = cancelledCtx
	}
	cancelled := c.fd.wait(ctx, c.fd.h, op)
	op.buf = nil
	err = op.err
	switch {
	case err == nil && int(op.n) == len(p):
		return true, nil
	case aborted(err) && cancelled == errClosed:
		return false, cancelled
	case aborted(err) && cancelled != nil && op.n == 0:
		return false, nil
	case aborted(err) && cancelled != nil:
		c.werr = fmt.Errorf("npipe: a cancelled send cut a %d-byte message after %d bytes: %w", len(p), op.n, io.ErrShortWrite)
		return false, c.werr
	case err == nil:
		c.werr = fmt.Errorf("npipe: WriteFile wrote %d of %d bytes: %w", op.n, len(p), io.ErrShortWrite)
		return false, c.werr
	default:
		return false, writeErr(err)
	}
}
