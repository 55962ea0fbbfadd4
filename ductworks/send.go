package ductworks

import (
	"context"
	"fmt"
	"net"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/internal/msgio"
)

// SendBytes sends p as the payload of one frame. p may be up to [MaxLen]
// bytes; a longer one fails with a *mpconn.MessageTooLongError and sends
// nothing.
func (c *Conn) SendBytes(ctx context.Context, p []byte) error {
	if int64(len(p)) > MaxLen {
		return &mpconn.MessageTooLongError{Len: int64(len(p)), Max: MaxLen}
	}
	if c.closed.Load() {
		return c.opError("send", net.ErrClosed)
	}
	if err := msgio.Lock(ctx, c.wlock); err != nil {
		return c.opError("send", err)
	}
	defer func() { <-c.wlock }()
	if c.closed.Load() {
		return c.opError("send", net.ErrClosed)
	}
	return c.writeFrame(ctx, p)
}

// Send encodes v with the Conn's codec (JSON by default) and sends it as
// one frame.
func (c *Conn) Send(ctx context.Context, v any) error {
	p, err := c.codec.Marshal(v)
	if err != nil {
		return fmt.Errorf("mpconn: ductworks: encoding a %T: %w", v, err)
	}
	return c.SendBytes(ctx, p)
}

// writeFrame writes one frame, with the write lock held: first the rest
// of an interrupted one, if any.
func (c *Conn) writeFrame(ctx context.Context, p []byte) error {
	if ctx.Done() != nil {
		defer msgio.Watch(ctx, c.nc.SetWriteDeadline)()
	}
	if err := c.wr.WritePending(); err != nil {
		return c.writeError(ctx, err)
	}
	if _, _, err := c.wr.WriteFrame(p); err != nil {
		return c.writeError(ctx, err)
	}
	return nil
}

func (c *Conn) writeError(ctx context.Context, err error) error {
	if c.closed.Load() {
		return c.opError("send", net.ErrClosed)
	}
	return c.opError("send", msgio.CtxErr(ctx, err))
}
