package mpconn

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/mpconn/mpconn/internal/platform"
)

// readBufSize is the largest size of a Conn's read-ahead buffer. Small
// messages are read many at a time into it; a payload that does not fit is
// read straight into its destination. The buffer starts at firstBufSize
// and grows fourfold each time a read fills it, so an idle or
// request-response connection keeps little memory.
const (
	readBufSize  = 32 << 10
	firstBufSize = 1 << 10
)

// firstChunk is how much of a payload is allocated before any of it has
// arrived. Past that, the destination grows only as bytes arrive, so a
// header alone never makes the receiver allocate much.
const firstChunk = 64 << 10

// readState is the receive side of a Conn, guarded by Conn.rlock.
type readState struct {
	buf  []byte // read-ahead buffer; unread bytes are buf[r:w]
	r, w int
	eof  bool  // the transport reported end of file
	dead error // sticky: the stream can no longer be read

	nonblock bool // reads return ErrWouldBlock instead of waiting
	grow     bool // the last read filled buf: enlarge it before the next
	fast     bool // the peer answered the last message fast (spin.go)

	// One non-blocking read through the RawConn, without a closure
	// allocated per call.
	readNowFn func(fd uintptr) bool
	nowBuf    []byte
	nowK      int
	nowErr    error

	// The message being received: msgLen is its length once the header
	// has been read (-1 before), msg the payload gathered so far when it
	// is gathered outside buf (after an interrupted receive, or by Poll).
	msgLen int64
	msg    []byte

	// have is how much of the message being received was gathered
	// outside buf when the last read was made (fdkeep.go).
	have int64
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
	rd := &c.rd
	if rd.dead != nil {
		return nil, false, rd.dead
	}
	if max <= 0 || max > maxMessageLen {
		// No message longer than a slice can hold: on 32-bit systems,
		// a header claiming 2 GiB or more is too long for any limit.
		max = maxMessageLen
	}
	if ctx.Done() != nil {
		// (Only here: the method value would allocate on every call.)
		defer watch(ctx, c.t.SetReadDeadline)()
	}

	// The header.
	for rd.msgLen < 0 {
		n, hlen, err := parseHeader(rd.buf[rd.r:rd.w])
		if err != nil {
			return nil, false, c.kill(err)
		}
		if hlen > 0 {
			rd.r += hlen
			if n > max {
				return nil, false, c.kill(&MessageTooLongError{Len: n, Max: max})
			}
			rd.msgLen = n
			if c.files != nil {
				c.files.passed(c)
			}
			break
		}
		if rd.eof {
			if rd.r == rd.w {
				return nil, false, io.EOF
			}
			return nil, false, c.kill(io.ErrUnexpectedEOF)
		}
		if err := c.fill(); err != nil {
			return nil, false, c.readError(ctx, err)
		}
	}
	n := rd.msgLen
	if n > max {
		// Staged by Poll under a larger limit.
		return nil, false, c.kill(&MessageTooLongError{Len: n, Max: max})
	}

	// The whole payload is already buffered.
	if rd.msg == nil && int64(rd.w-rd.r) >= n {
		if stage {
			return nil, false, nil
		}
		p := rd.buf[rd.r : rd.r+int(n)]
		rd.r += int(n)
		rd.msgLen = -1
		if dst != nil && int64(len(dst)) >= n {
			copy(dst, p)
			return dst[:n], true, nil
		}
		return append([]byte(nil), p...), false, nil
	}

	// Gather the payload: straight into dst when it fits and nothing was
	// gathered before, else into rd.msg, grown as bytes arrive.
	var got []byte
	direct := !stage && rd.msg == nil && dst != nil && int64(len(dst)) >= n
	if direct {
		got = dst[:0:n]
	} else {
		got = rd.msg
		if got == nil {
			got = make([]byte, 0, min(n, int64(firstChunk)+int64(rd.w-rd.r)))
		}
	}
	for int64(len(got)) < n {
		if rd.r < rd.w {
			k := min(int64(rd.w-rd.r), n-int64(len(got)))
			if !direct && int64(cap(got)-len(got)) < k {
				got = grow(got, k, n)
			}
			got = append(got, rd.buf[rd.r:rd.r+int(k)]...)
			rd.r += int(k)
			continue
		}
		if rd.eof {
			rd.msg = nil
			return nil, false, c.kill(io.ErrUnexpectedEOF)
		}
		var err error
		if rest := n - int64(len(got)); rest >= readBufSize {
			// Large remainder: read straight into the destination.
			if !direct && cap(got) == len(got) {
				got = grow(got, min(rest, firstChunk), n)
			}
			var k int
			k, err = c.read(got[len(got):cap(got)])
			got = got[:len(got)+k]
			if c.files != nil {
				c.files.afterRead(c, true)
			}
			if c.isEOF(err) {
				rd.eof = true
				err = nil
			}
		} else {
			rd.have = int64(len(got))
			err = c.fill()
		}
		if err != nil {
			if direct {
				got = append([]byte(nil), got...)
			}
			rd.msg = got
			return nil, false, c.readError(ctx, err)
		}
	}
	if stage {
		rd.msg = got
		return nil, false, nil
	}
	rd.msg = nil
	rd.msgLen = -1
	if direct {
		return got, true, nil
	}
	if dst != nil && len(dst) >= len(got) {
		copy(dst, got)
		return dst[:len(got)], true, nil
	}
	return got, false, nil
}

// grow returns b with room for at least k more bytes, never more than n in
// all, at most doubling what has arrived.
func grow(b []byte, k, n int64) []byte {
	want := max(int64(len(b))+k, 2*int64(cap(b)))
	want = min(want, n)
	nb := make([]byte, len(b), want)
	copy(nb, b)
	return nb
}

// space prepares the read-ahead buffer for more bytes at buf[w:].
func (rd *readState) space() {
	if rd.buf == nil {
		rd.buf = make([]byte, firstBufSize)
	}
	if rd.grow {
		nb := make([]byte, min(4*len(rd.buf), readBufSize))
		rd.w = copy(nb, rd.buf[rd.r:rd.w])
		rd.r, rd.buf, rd.grow = 0, nb, false
	}
	if rd.r == rd.w {
		rd.r, rd.w = 0, 0
	} else if rd.r > 0 && len(rd.buf)-rd.w < longHeaderLen {
		rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r = 0
	}
}

// fill reads more bytes into the read-ahead buffer, blocking until some
// arrive.
func (c *Conn) fill() error {
	rd := &c.rd
	rd.space()
	if rd.w == len(rd.buf) {
		return nil // full: the caller consumes before reading more
	}
	k, err := c.read(rd.buf[rd.w:])
	rd.w += k
	if c.files != nil {
		c.files.afterRead(c, false)
	}
	if rd.w == len(rd.buf) && len(rd.buf) < readBufSize {
		rd.grow = true
	}
	if c.isEOF(err) {
		rd.eof = true
		return nil
	}
	if k > 0 && !isTimeout(err) && err != ErrWouldBlock {
		// Keep the bytes; a lasting error shows again on the next read.
		return nil
	}
	return err
}

// tryFill reads whatever bytes are available into the read-ahead buffer
// without blocking.
func (c *Conn) tryFill() error {
	c.rd.nonblock = true
	err := c.fill()
	c.rd.nonblock = false
	if err == ErrWouldBlock {
		return nil
	}
	return err
}

// read reads from the transport; in non-blocking mode (rd.nonblock) it
// returns ErrWouldBlock instead of waiting.
func (c *Conn) read(p []byte) (int, error) {
	rd := &c.rd
	if !rd.nonblock {
		if c.replyDue.Load() && c.raw != nil && platform.DirectIO {
			return c.awaitReply(p)
		}
		return c.t.Read(p)
	}
	if c.raw == nil || !platform.DirectIO {
		// No descriptor to read without blocking: a very short deadline.
		c.t.SetReadDeadline(time.Now().Add(time.Millisecond))
		k, err := c.t.Read(p)
		c.t.SetReadDeadline(time.Time{})
		if k == 0 && isTimeout(err) {
			err = ErrWouldBlock
		}
		return k, err
	}
	if rd.readNowFn == nil {
		rd.readNowFn = func(fd uintptr) bool {
			for {
				// Hook (fdpass_unix.go): recvmsg on a Unix socket, so that
				// descriptors sent along are kept; read otherwise.
				rd.nowK, rd.nowErr = c.readNow(int(fd), rd.nowBuf)
				if rd.nowErr != syscall.EINTR {
					return true
				}
			}
		}
	}
	rd.nowBuf = p
	err := c.raw.Read(rd.readNowFn)
	k, rerr := rd.nowK, rd.nowErr
	rd.nowBuf, rd.nowErr = nil, nil
	switch {
	case err != nil:
		return 0, err
	case rerr == syscall.EAGAIN:
		return 0, ErrWouldBlock
	case rerr != nil:
		return 0, os.NewSyscallError("read", rerr)
	case k == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return k, nil
}

// isEOF reports whether err means the peer is gone: end of file, or, on a
// local socket, a reset (a peer that exits with data it never read resets
// the connection; what it sent before is all delivered first).
func (c *Conn) isEOF(err error) bool {
	if err == io.EOF {
		return true
	}
	return c.network != "tcp" && errors.Is(err, syscall.ECONNRESET)
}

// kill marks the stream unreadable with err and returns it.
func (c *Conn) kill(err error) error {
	c.rd.dead = err
	c.rd.msg = nil
	return err
}

// readError turns a transport error into what a receive returns: the
// context's error for a cancellation, net.ErrClosed after Close, and a
// sticky error for anything else.
func (c *Conn) readError(ctx context.Context, err error) error {
	if isTimeout(err) {
		return c.opError("recv", ctxErr(ctx, err))
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
	wctx := ctx
	if timeout == 0 {
		select {
		case c.rlock <- struct{}{}:
		default:
			return false, nil // another goroutine is receiving
		}
	} else {
		if timeout > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		if err := c.lock(wctx, c.rlock); err != nil {
			return pollResult(ctx, c.opError("poll", err))
		}
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
		return pollResult(ctx, err)
	}
	return true, nil
}

// pollResult maps a Poll failure: the end of Poll's own timeout is a false
// result, the caller's cancellation or Close an error, and anything else a
// true result, since a receive reports it at once.
func pollResult(ctx context.Context, err error) (bool, error) {
	if errors.Is(err, net.ErrClosed) {
		return false, err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		if e := ctx.Err(); e != nil {
			return false, err
		}
		return false, nil
	}
	return true, nil
}

// ready reports, with the read lock held, whether a receive would return
// at once: a whole message is buffered or gathered, or the stream is at
// EOF or failed.
func (c *Conn) ready() bool {
	rd := &c.rd
	if rd.dead != nil || rd.eof {
		return true
	}
	buffered := int64(rd.w - rd.r)
	if rd.msgLen >= 0 {
		return int64(len(rd.msg))+buffered >= rd.msgLen
	}
	n, hlen, err := parseHeader(rd.buf[rd.r:rd.w])
	if err != nil {
		return true
	}
	return hlen > 0 && buffered-int64(hlen) >= n
}
