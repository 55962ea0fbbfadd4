package ductworks

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/mpconn/mpconn/internal/msgio"
	"github.com/mpconn/mpconn/internal/platform"
)

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
	if err := msgio.Lock(ctx, c.rlock); err != nil {
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
	if ctx.Done() != nil {
		defer msgio.Watch(ctx, c.nc.SetReadDeadline)()
	}
	p, _, err := c.rd.ReadMessage(ctx, c.max, nil, stage)
	return p, err
}

// source is a Conn as the source its reader reads from.
type source Conn

// Read reads from the connection, without waiting while the reader is in
// non-blocking mode.
func (s *source) Read(p []byte) (int, error) {
	c := (*Conn)(s)
	if !c.rd.Nonblock {
		return c.nc.Read(p)
	}
	if c.raw == nil || !platform.DirectIO {
		return msgio.ReadShortly(c.nc, p)
	}
	return c.now.Read(c.raw, p)
}

func (s *source) AfterRead(bool) {}
func (s *source) HeaderDone()    {}

// Fail maps a read failure: a cancellation keeps the stream usable,
// anything else makes it unreadable.
func (s *source) Fail(ctx context.Context, err error) error {
	c := (*Conn)(s)
	if isTimeout(err) {
		return c.opError("recv", msgio.CtxErr(ctx, err))
	}
	if c.closed.Load() {
		return c.opError("recv", net.ErrClosed)
	}
	return c.rd.Kill(c.opError("recv", err))
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
	wctx, cancel, err := msgio.LockPoll(ctx, c.rlock, timeout)
	defer cancel()
	if err != nil {
		return msgio.PollResult(ctx, c.opError("poll", err))
	}
	defer func() { <-c.rlock }()
	if c.closed.Load() {
		return false, c.opError("poll", net.ErrClosed)
	}
	if c.ready() {
		return true, nil
	}
	if timeout == 0 {
		ok := c.rd.Advance(c.max) // reads what has arrived, without blocking
		if c.closed.Load() {
			return false, c.opError("poll", net.ErrClosed)
		}
		return ok, nil
	}
	if _, err := c.readFrame(wctx, true); err != nil {
		return msgio.PollResult(ctx, err)
	}
	return true, nil
}

// ready reports, with the read lock held, whether a receive would return
// at once.
func (c *Conn) ready() bool { return c.rd.Ready(c.max) }
