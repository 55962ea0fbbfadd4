package ductworks

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/internal/platform"
)

// readBufSize is the size of the read-ahead buffer: small frames are read
// many at a time; a payload that does not fit is read straight into its
// destination.
const readBufSize = 32 << 10

// firstChunk is how much of a payload is allocated before any of it has
// arrived; past that, the payload grows only as bytes arrive.
const firstChunk = 64 << 10

// readState is the receive side of a Conn, guarded by Conn.rlock.
type readState struct {
	buf  []byte // unread bytes are buf[r:w]
	r, w int
	eof  bool
	dead error // sticky: the stream can no longer be read

	msgLen int64  // payload length once the header is read, else -1
	msg    []byte // payload gathered so far, outside buf
}

// RecvBytes receives the next frame and returns its payload.
func (c *Conn) RecvBytes(ctx context.Context) ([]byte, error) {
	if err := c.beginRecv(ctx, "recv"); err != nil {
		return nil, err
	}
	defer func() { <-c.rlock }()
	return c.readFrame(ctx, false)
}

// Recv receives the next frame and decodes its payload into v with the
// Conn's codec (JSON by default).
func (c *Conn) Recv(ctx context.Context, v any) error {
	p, err := c.RecvBytes(ctx)
	if err != nil {
		return err
	}
	if err := c.codec.Unmarshal(p, v); err != nil {
		return fmt.Errorf("mpconn: ductworks: decoding a %d-byte payload: %w", len(p), err)
	}
	return nil
}

func (c *Conn) beginRecv(ctx context.Context, op string) error {
	if c.closed.Load() {
		return c.opError(op, net.ErrClosed)
	}
	if err := lock(ctx, c.rlock); err != nil {
		return c.opError(op, err)
	}
	if c.closed.Load() {
		<-c.rlock
		return c.opError(op, net.ErrClosed)
	}
	return nil
}

// readFrame reads the next frame, with the read lock held. With stage
// set, it only completes the frame in the Conn's state, for a later
// receive to take at once.
func (c *Conn) readFrame(ctx context.Context, stage bool) ([]byte, error) {
	rd := &c.rd
	if rd.dead != nil {
		return nil, rd.dead
	}
	if stop := watch(ctx, c.nc.SetReadDeadline); stop != nil {
		defer stop()
	}
	for rd.msgLen < 0 {
		n, ok, err := c.parseHeader()
		if err != nil {
			return nil, c.kill(err)
		}
		if ok {
			rd.msgLen = n
			break
		}
		if rd.eof {
			if rd.r == rd.w {
				return nil, io.EOF
			}
			return nil, c.kill(io.ErrUnexpectedEOF)
		}
		if err := c.fill(); err != nil {
			return nil, c.readError(ctx, err)
		}
	}
	n := rd.msgLen
	if rd.msg == nil && int64(rd.w-rd.r) >= n {
		if stage {
			return nil, nil
		}
		p := append([]byte(nil), rd.buf[rd.r:rd.r+int(n)]...)
		rd.r += int(n)
		rd.msgLen = -1
		return p, nil
	}
	got := rd.msg
	if got == nil {
		got = make([]byte, 0, min(n, int64(firstChunk)+int64(rd.w-rd.r)))
	}
	for int64(len(got)) < n {
		if rd.r < rd.w {
			k := min(int64(rd.w-rd.r), n-int64(len(got)))
			if int64(cap(got)-len(got)) < k {
				got = grow(got, k, n)
			}
			got = append(got, rd.buf[rd.r:rd.r+int(k)]...)
			rd.r += int(k)
			continue
		}
		if rd.eof {
			rd.msg = nil
			return nil, c.kill(io.ErrUnexpectedEOF)
		}
		var err error
		if rest := n - int64(len(got)); rest >= readBufSize {
			if cap(got) == len(got) {
				got = grow(got, min(rest, firstChunk), n)
			}
			var k int
			k, err = c.nc.Read(got[len(got):cap(got)])
			got = got[:len(got)+k]
			if err == io.EOF {
				rd.eof = true
				err = nil
			} else if k > 0 && !isTimeout(err) {
				err = nil
			}
		} else {
			err = c.fill()
		}
		if err != nil {
			rd.msg = got
			return nil, c.readError(ctx, err)
		}
	}
	if stage {
		rd.msg = got
		return nil, nil
	}
	rd.msg = nil
	rd.msgLen = -1
	return got, nil
}

// parseHeader decodes a frame header at the head of the buffer. A wrong
// first byte fails at once, without waiting for the rest of the header.
func (c *Conn) parseHeader() (n int64, ok bool, err error) {
	rd := &c.rd
	b := rd.buf[rd.r:rd.w]
	if len(b) == 0 {
		return 0, false, nil
	}
	if b[0] != MagicByte {
		return 0, false, &mpconn.ProtocolError{Msg: fmt.Sprintf("invalid magic byte: expected %02x, got %02x", MagicByte, b[0])}
	}
	if len(b) < HeaderLen {
		return 0, false, nil
	}
	n = int64(binary.BigEndian.Uint32(b[1:]))
	if n > c.max {
		return 0, false, &mpconn.MessageTooLongError{Len: n, Max: c.max}
	}
	rd.r += HeaderLen
	return n, true, nil
}

// grow returns b with room for k more bytes, never more than n in all, at
// most doubling what has arrived.
func grow(b []byte, k, n int64) []byte {
	want := min(max(int64(len(b))+k, 2*int64(cap(b))), n)
	nb := make([]byte, len(b), want)
	copy(nb, b)
	return nb
}

// space prepares the buffer for more bytes at buf[w:].
func (rd *readState) space() {
	if rd.buf == nil {
		rd.buf = make([]byte, readBufSize)
	}
	if rd.r == rd.w {
		rd.r, rd.w = 0, 0
	} else if rd.r > 0 && len(rd.buf)-rd.w < HeaderLen {
		rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r = 0
	}
}

// fill reads more bytes into the buffer, blocking until some arrive.
func (c *Conn) fill() error {
	rd := &c.rd
	rd.space()
	k, err := c.nc.Read(rd.buf[rd.w:])
	rd.w += k
	if err == io.EOF {
		rd.eof = true
		return nil
	}
	if k > 0 && !isTimeout(err) {
		return nil
	}
	return err
}

// tryFill reads what is available without blocking.
func (c *Conn) tryFill() error {
	rd := &c.rd
	if c.raw == nil {
		c.nc.SetReadDeadline(time.Now().Add(time.Millisecond))
		err := c.fill()
		c.nc.SetReadDeadline(time.Time{})
		if isTimeout(err) {
			return nil
		}
		return err
	}
	rd.space()
	var k int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			k, rerr = platform.Read(fd, rd.buf[rd.w:])
			if rerr != syscall.EINTR {
				return true
			}
		}
	})
	switch {
	case err != nil:
		return err
	case rerr == syscall.EAGAIN:
		return nil
	case rerr != nil:
		return rerr
	case k == 0:
		rd.eof = true
		return nil
	}
	rd.w += k
	return nil
}

func (c *Conn) kill(err error) error {
	c.rd.dead = err
	c.rd.msg = nil
	return err
}

// readError maps a read failure: a cancellation keeps the stream usable,
// anything else makes it unreadable.
func (c *Conn) readError(ctx context.Context, err error) error {
	if isTimeout(err) {
		return c.opError("recv", ctxErr(ctx, err))
	}
	if c.closed.Load() {
		return c.opError("recv", net.ErrClosed)
	}
	return c.kill(c.opError("recv", err))
}

// Poll reports whether a frame can be received without blocking, waiting
// up to timeout for one: zero returns at once, a negative timeout waits
// until a frame arrives or ctx ends. EOF and a failed stream count as
// ready, since a receive then returns at once. A true result means a whole
// frame is ready (Poll may read it into the Conn's buffer).
func (c *Conn) Poll(ctx context.Context, timeout time.Duration) (bool, error) {
	if c.closed.Load() {
		return false, c.opError("poll", net.ErrClosed)
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
		if err := lock(wctx, c.rlock); err != nil {
			return pollResult(ctx, c.opError("poll", err))
		}
	}
	defer func() { <-c.rlock }()
	if c.closed.Load() {
		return false, c.opError("poll", net.ErrClosed)
	}
	if c.ready() {
		return true, nil
	}
	if timeout == 0 {
		if err := c.tryFill(); err != nil {
			if c.closed.Load() {
				return false, c.opError("poll", net.ErrClosed)
			}
			return true, nil // the receive reports it
		}
		return c.ready(), nil
	}
	if _, err := c.readFrame(wctx, true); err != nil {
		return pollResult(ctx, err)
	}
	return true, nil
}

// pollResult maps a Poll failure: Poll's own timeout is a false result,
// the caller's cancellation or Close an error, anything else true.
func pollResult(ctx context.Context, err error) (bool, error) {
	if errors.Is(err, net.ErrClosed) {
		return false, err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		if ctx.Err() != nil {
			return false, err
		}
		return false, nil
	}
	return true, nil
}

// ready reports, with the read lock held, whether a receive would return
// at once.
func (c *Conn) ready() bool {
	rd := &c.rd
	if rd.dead != nil || rd.eof {
		return true
	}
	buffered := int64(rd.w - rd.r)
	if rd.msgLen >= 0 {
		return int64(len(rd.msg))+buffered >= rd.msgLen
	}
	b := rd.buf[rd.r:rd.w]
	if len(b) > 0 && b[0] != MagicByte {
		return true
	}
	if len(b) < HeaderLen {
		return false
	}
	n := int64(binary.BigEndian.Uint32(b[1:]))
	return n > c.max || buffered-HeaderLen >= n
}
