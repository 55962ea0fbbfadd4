package mpconn

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/mpconn/mpconn/internal/msgio"
)

// writeState is the send side of a Conn, guarded by Conn.wlock: the
// shared writer's state, and what this Conn adds to it.
type writeState struct {
	msgio.Writer

	many     []byte // frames gathered by SendBytesMany and SendMany
	manyEnds []int  // where each of them ends

	// pendingWaiter, when not nil, is the queued sender (group commit)
	// whose message Pending finishes: it hears when Pending is written.
	pendingWaiter *queuedSend

	// A message still being written in the background after its send
	// was cancelled, on a transport whose writes cannot be interrupted
	// and resumed (TLS): done is closed when it is over, with err set.
	bg *backgroundWrite
}

type backgroundWrite struct {
	done chan struct{}
	err  error
}

// SendBytes sends p as one message.
//
// A payload of up to 16 KiB is written together with its header in one
// system call; a larger one is written with a vectored write of header and
// payload, without copying. SendBytes returns once the whole message has
// been handed to the operating system.
//
// SendBytes is safe for concurrent use: messages from several goroutines
// never interleave. Small messages sent at the same time are written
// together, in one system call, by whichever goroutine holds the
// connection's write lock (each SendBytes still returns only after its
// own message has been written).
func (c *Conn) SendBytes(ctx context.Context, p []byte) error {
	if err := c.canSend(); err != nil {
		return err
	}
	if err := c.checkSendSize(len(p)); err != nil {
		return err
	}
	select {
	case c.wlock <- struct{}{}:
	default:
		if len(p) <= coalesceMax && !c.fragileWrites {
			return c.sendQueued(ctx, p)
		}
		if err := c.lock(ctx, c.wlock); err != nil {
			return c.opError("send", err)
		}
	}
	return c.sendLocked(ctx, p)
}

// sendLocked sends p with the write lock held, then writes what other
// senders queued meanwhile, and lets the lock go.
func (c *Conn) sendLocked(ctx context.Context, p []byte) error {
	var err error
	if c.closed.Load() {
		err = c.opError("send", net.ErrClosed)
	} else {
		err = c.writeMessage(ctx, p)
	}
	c.endSend(ctx, err)
	return err
}

// endSend lets the write lock go after a send that ended with err,
// writing first what other senders queued meanwhile (unless the send
// failed: then each queued sender tries for itself).
func (c *Conn) endSend(ctx context.Context, err error) {
	if err == nil {
		c.noteSent()
		if c.sq.n.Load() > 0 || c.wr.pendingWaiter != nil {
			c.flushQueue(ctx)
		}
	}
	<-c.wlock
}

// SendBytesRange sends p[offset:offset+size] as one message, checking the
// range first as CPython's send_bytes(buf, offset, size) does. A negative
// size means the rest of p.
func (c *Conn) SendBytesRange(ctx context.Context, p []byte, offset, size int) error {
	switch {
	case offset < 0:
		return errors.New("mpconn: offset is negative")
	case len(p) < offset:
		return errors.New("mpconn: buffer length < offset")
	}
	if size < 0 {
		size = len(p) - offset
	}
	if offset+size > len(p) {
		return errors.New("mpconn: buffer length < offset + size")
	}
	return c.SendBytes(ctx, p[offset:offset+size])
}

// Send encodes v with the Conn's codec and sends it as one message. With
// the default codec, [Pickle], a Python peer receives it with conn.recv();
// the pickle's protocol is 4, or 2 when the peer has been sending protocol
// 2 or lower (Python 2) or is a Python 2 child started by [StartChild]. A
// message larger than [ConnOptions.MaxSendSize] fails with a
// [*SendTooLongError] before anything is written.
func (c *Conn) Send(ctx context.Context, v any) error { return c.send(ctx, v) }

// canSend says why the Conn cannot send, if it cannot.
func (c *Conn) canSend() error {
	if c.closed.Load() {
		return c.opError("send", net.ErrClosed)
	}
	if !c.canWrite {
		return ErrReadOnly
	}
	return nil
}

// beginSend checks that the Conn can send and takes the write lock.
func (c *Conn) beginSend(ctx context.Context) error {
	if err := c.canSend(); err != nil {
		return err
	}
	if err := c.lock(ctx, c.wlock); err != nil {
		return c.opError("send", err)
	}
	if c.closed.Load() {
		<-c.wlock
		return c.opError("send", net.ErrClosed)
	}
	return nil
}

// writeMessage writes one framed message, with the write lock held.
func (c *Conn) writeMessage(ctx context.Context, p []byte) error {
	w := &c.wr
	if w.bg != nil {
		if err := c.waitBackground(ctx); err != nil {
			return err
		}
	}
	if c.fragileWrites && ctx.Done() != nil {
		return c.writeDetachable(ctx, p)
	}
	if ctx.Done() != nil {
		// (Only here: the method value would allocate on every call.)
		defer msgio.Watch(ctx, c.t.SetWriteDeadline)()
	}
	if err := c.writePending(ctx); err != nil {
		return err
	}
	return c.writeFrame(ctx, p)
}

// writePending writes the rest of an interrupted message, if any, with
// the write lock held and ctx watched.
func (c *Conn) writePending(ctx context.Context) error {
	w := &c.wr
	if w.Pending == nil {
		return nil
	}
	if err := w.WritePending(); err != nil {
		return c.writeError(ctx, err, 0, 0)
	}
	w.pendingSent()
	return nil
}

// writeFrame writes p's header and p, with the write lock held, ctx
// watched and nothing pending.
func (c *Conn) writeFrame(ctx context.Context, p []byte) error {
	if n, total, err := c.wr.WriteFrame(p); err != nil {
		return c.writeError(ctx, err, n, total)
	}
	return nil
}

// writeError reports a failed write of which n of total bytes went out.
func (c *Conn) writeError(ctx context.Context, err error, n, total int) error {
	if c.closed.Load() {
		return c.opError("send", net.ErrClosed)
	}
	err = msgio.CtxErr(ctx, err)
	if n > 0 && isCancel(err) {
		err = &partialSendError{sent: n, total: total, err: err}
	}
	return c.opError("send", err)
}

func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// partialSendError reports a send interrupted after part of the message
// went out; the rest goes out before the next message.
type partialSendError struct {
	sent, total int
	err         error
}

func (e *partialSendError) Error() string {
	if e.sent < 0 {
		return fmt.Sprintf("send interrupted (the %d-byte message is finished before the next one): %v", e.total, e.err)
	}
	return fmt.Sprintf("send interrupted after %d of %d bytes (the rest is sent before the next message): %v",
		e.sent, e.total, e.err)
}

func (e *partialSendError) Unwrap() error { return e.err }

// waitBackground waits for a message being finished in the background,
// with the write lock held.
func (c *Conn) waitBackground(ctx context.Context) error {
	bg := c.wr.bg
	select {
	case <-bg.done:
	case <-ctx.Done():
		return c.opError("send", ctx.Err())
	}
	c.wr.bg = nil
	if bg.err != nil {
		return c.writeError(ctx, bg.err, 0, 0)
	}
	return nil
}

// writeDetachable writes one framed message on a transport whose write
// deadlines are fatal (crypto/tls): rather than interrupting the write,
// a cancellation leaves it to finish in the background, so the message
// still arrives whole, and the next send waits for it. The message is
// copied first, since the caller may reuse p once this returns.
func (c *Conn) writeDetachable(ctx context.Context, p []byte) error {
	var hdr [longHeaderLen]byte
	h := putHeader(hdr[:], int64(len(p)))
	frame := make([]byte, h+len(p))
	copy(frame, hdr[:h])
	copy(frame[h:], p)
	bg := &backgroundWrite{done: make(chan struct{})}
	go func() {
		_, bg.err = c.t.Write(frame)
		close(bg.done)
	}()
	select {
	case <-bg.done:
		if bg.err != nil {
			return c.writeError(ctx, bg.err, 0, len(frame))
		}
		return nil
	case <-ctx.Done():
		c.wr.bg = bg
		return c.opError("send", &partialSendError{sent: -1, total: len(frame), err: ctx.Err()})
	}
}
