package mpconn

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/mpconn/mpconn/internal/msgio"
	"github.com/mpconn/mpconn/internal/platform"
)

// readState is the receive side of a Conn, guarded by Conn.rlock: the
// shared reader's state, and how this Conn reads.
type readState struct {
	msgio.Reader

	fast bool            // the peer answered the last message fast (awaitReply)
	now  msgio.RawReader // one non-blocking read through the RawConn
}

// RecvBytes receives the next message and returns its payload in a new
// slice.
func (c *Conn) RecvBytes(ctx context.Context) ([]byte, error) {
	return c.recvBytes(ctx, c.maxSize)
}

// RecvBytesMax is RecvBytes with a limit: a message longer than max bytes
// fails with a [*MessageTooLongError], and the Conn is no longer readable
// afterwards, since the rest of the stream cannot be found (CPython's
// recv_bytes(maxlength)). A negative max is an error.
func (c *Conn) RecvBytesMax(ctx context.Context, max int) ([]byte, error) {
	if max < 0 {
		return nil, errors.New("mpconn: negative maxlength")
	}
	m := int64(max)
	if c.maxSize > 0 && c.maxSize < m {
		m = c.maxSize
	}
	return c.recvBytes(ctx, m)
}

func (c *Conn) recvBytes(ctx context.Context, max int64) ([]byte, error) {
	if err := c.beginRecv(ctx); err != nil {
		return nil, err
	}
	defer c.unlockRead()
	msg, _, err := c.readMessage(ctx, max, nil, false)
	if err != nil {
		return nil, err
	}
	return msg, nil
}

// RecvBytesInto receives the next message into buf at offset and returns
// the payload's length. When the message does not fit in buf[offset:], it
// returns a [*BufferTooShortError] holding the whole message; the message
// is consumed and the stream stays in step. The payload is read straight
// into buf: a message that fits allocates nothing.
func (c *Conn) RecvBytesInto(ctx context.Context, buf []byte, offset int) (int, error) {
	if offset < 0 {
		return 0, errors.New("mpconn: negative offset")
	}
	if offset > len(buf) {
		return 0, errors.New("mpconn: offset too large")
	}
	if err := c.beginRecv(ctx); err != nil {
		return 0, err
	}
	defer c.unlockRead()
	dst := buf[offset:]
	msg, into, err := c.readMessage(ctx, c.maxSize, dst, false)
	if err != nil {
		return 0, err
	}
	if !into {
		return 0, &BufferTooShortError{Msg: msg}
	}
	return len(msg), nil
}

// Recv receives the next message and decodes it into v with the Conn's
// codec. With the default codec, [Pickle], that is whatever a Python peer
// sent with conn.send(obj), decoded without executing anything; v may be
// a *any (see package pickle for the values it gets) or a pointer to a
// typed Go value (struct, map, slice, ...). A v that is nil or not a
// pointer fails at once with a *pickle.InvalidUnmarshalError (with the
// JSON codec, a *json.InvalidUnmarshalError), and the message is left
// for the next receive.
func (c *Conn) Recv(ctx context.Context, v any) error {
	if err := c.checkRecvTarget(v); err != nil {
		return err
	}
	msg, err := c.RecvBytes(ctx)
	if err != nil {
		return err
	}
	c.notePeerMessage(msg)
	return c.unmarshal(msg, v)
}

// unlockRead releases the read lock taken by beginRecv or Poll.
func (c *Conn) unlockRead() {
	c.afterRead()
	<-c.rlock
}

// beginRecv checks that the Conn can receive and takes the read lock.
func (c *Conn) beginRecv(ctx context.Context) error {
	if c.closed.Load() {
		return c.opError("recv", net.ErrClosed)
	}
	if !c.canRead {
		return ErrWriteOnly
	}
	if err := c.lock(ctx, c.rlock); err != nil {
		return c.opError("recv", err)
	}
	if c.closed.Load() {
		<-c.rlock
		return c.opError("recv", net.ErrClosed)
	}
	return nil
}

// readMessage reads the next message, with the read lock held. A message
// longer than max (when max > 0) fails. When dst is non-nil and the message
// fits in it, the payload lands in dst and into is true; otherwise msg is a
// new slice. With stage set, the message is only made complete in the
// Conn's state, for a later receive to take without blocking.
func (c *Conn) readMessage(ctx context.Context, max int64, dst []byte, stage bool) (msg []byte, into bool, err error) {
	if c.rd.Dead != nil {
		return nil, false, c.rd.Dead
	}
	if max <= 0 || max > maxMessageLen {
		// No message longer than a slice can hold: on 32-bit systems,
		// a header claiming 2 GiB or more is too long for any limit.
		max = maxMessageLen
	}
	if ctx.Done() != nil {
		// (Only here: the method value would allocate on every call.)
		defer msgio.Watch(ctx, c.t.SetReadDeadline)()
	}
	return c.rd.ReadMessage(ctx, max, dst, stage)
}

// limit is the longest message a receive takes without a limit of its own.
func (c *Conn) limit() int64 {
	if c.maxSize <= 0 || c.maxSize > maxMessageLen {
		return maxMessageLen
	}
	return c.maxSize
}

// connSource is a Conn as the source its reader reads from.
type connSource Conn

func (s *connSource) Read(p []byte) (int, error) {
	c := (*Conn)(s)
	k, err := c.read(p)
	if err != nil && err != io.EOF && c.isEOF(err) {
		err = io.EOF
	}
	return k, err
}

func (s *connSource) AfterRead(inBody bool) {
	if c := (*Conn)(s); c.files != nil {
		c.files.afterRead(c, inBody)
	}
}

func (s *connSource) HeaderDone() {
	if c := (*Conn)(s); c.files != nil {
		c.files.passed(c)
	}
}

func (s *connSource) Fail(ctx context.Context, err error) error {
	return (*Conn)(s).readError(ctx, err)
}

// read reads from the transport; in non-blocking mode (rd.Nonblock) it
// returns ErrWouldBlock instead of waiting.
func (c *Conn) read(p []byte) (int, error) {
	if !c.rd.Nonblock {
		if c.replyDue.Load() && c.raw != nil && platform.DirectIO {
			return c.awaitReply(p)
		}
		return c.t.Read(p)
	}
	if c.raw == nil || !platform.DirectIO {
		// No descriptor to read without blocking.
		return c.readNoFD(p)
	}
	return c.rd.now.Read(c.raw, p)
}

// isEOF reports whether err means the peer is gone: end of file, or, on a
// local socket, a reset (a peer that exits with data it never read resets
// the connection; what it sent before is all delivered first).
func (c *Conn) isEOF(err error) bool {
	if err == io.EOF {
		return true
	}
	return c.network != "tcp" && errors.Is(err, platform.ECONNRESET)
}

// kill marks the stream unreadable with err and returns it.
func (c *Conn) kill(err error) error { return c.rd.Kill(err) }

// readError turns a transport error into what a receive returns: the
// context's error for a cancellation, net.ErrClosed after Close, and a
// sticky error for anything else.
func (c *Conn) readError(ctx context.Context, err error) error {
	if isTimeout(err) {
		return c.opError("recv", msgio.CtxErr(ctx, err))
	}
	if err == ErrWouldBlock {
		return err
	}
	if c.closed.Load() {
		return c.opError("recv", net.ErrClosed)
	}
	return c.kill(c.opError("recv", err))
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// Poll reports whether a message can be received without blocking. It
// waits up to timeout for one: zero returns at once, a negative timeout
// waits until a message arrives or ctx is done. Poll also returns true at
// end of file and when the Conn has failed, since a receive then returns at
// once (with the error).
//
// Unlike CPython's poll, a true result means a whole message is ready: a
// receive that follows never blocks (unless another goroutine takes the
// message first). Poll may read the message into the Conn's buffer.
func (c *Conn) Poll(ctx context.Context, timeout time.Duration) (bool, error) {
	if c.closed.Load() {
		return false, c.opError("poll", net.ErrClosed)
	}
	if !c.canRead {
		return false, ErrWriteOnly
	}
	wctx, cancel, err := msgio.LockPoll(ctx, c.rlock, timeout)
	defer cancel()
	if err != nil {
		return msgio.PollResult(ctx, c.opError("poll", err))
	}
	defer c.unlockRead()
	if c.closed.Load() {
		return false, c.opError("poll", net.ErrClosed)
	}
	if c.ready() {
		return true, nil
	}
	if timeout == 0 {
		ok := c.advance() // reads what has arrived, without blocking
		if c.closed.Load() {
			return false, c.opError("poll", net.ErrClosed)
		}
		return ok, nil
	}
	if _, _, err := c.readMessage(wctx, c.maxSize, nil, true); err != nil {
		return msgio.PollResult(ctx, err)
	}
	return true, nil
}

// ready reports, with the read lock held, whether a receive would return
// at once: a whole message is buffered or gathered, or the stream is at
// EOF or failed.
func (c *Conn) ready() bool { return c.rd.Ready(c.limit()) }
