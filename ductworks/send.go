package ductworks

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"

	"github.com/mpconn/mpconn"
)

// coalesceMax is the largest payload written together with its header in
// one write; a larger one goes out with a vectored write, uncopied.
const coalesceMax = 16 << 10

// writeState is the send side of a Conn, guarded by Conn.wlock.
type writeState struct {
	buf     []byte
	hdr     [HeaderLen]byte
	vec     [2][]byte
	bufs    net.Buffers
	pending []byte // the unsent rest of an interrupted frame
}

// putHeader writes the frame header for an n-byte payload.
func putHeader(b []byte, n int) {
	b[0] = MagicByte
	binary.BigEndian.PutUint32(b[1:], uint32(n))
}

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
	if err := lock(ctx, c.wlock); err != nil {
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

// writeFrame writes one frame, with the write lock held.
func (c *Conn) writeFrame(ctx context.Context, p []byte) error {
	w := &c.wr
	if stop := watch(ctx, c.nc.SetWriteDeadline); stop != nil {
		defer stop()
	}
	if w.pending != nil {
		n, err := c.nc.Write(w.pending)
		if err != nil {
			w.pending = w.pending[n:]
			return c.writeError(ctx, err)
		}
		w.pending = nil
	}
	if len(p) <= coalesceMax {
		if cap(w.buf) < HeaderLen+coalesceMax {
			w.buf = make([]byte, 0, HeaderLen+coalesceMax)
		}
		b := w.buf[:HeaderLen]
		putHeader(b, len(p))
		b = append(b, p...)
		n, err := c.nc.Write(b)
		if err != nil {
			if n > 0 {
				w.pending = append([]byte(nil), b[n:]...)
			}
			return c.writeError(ctx, err)
		}
		return nil
	}
	putHeader(w.hdr[:], len(p))
	w.vec[0], w.vec[1] = w.hdr[:], p
	w.bufs = w.vec[:]
	n64, err := w.bufs.WriteTo(c.nc)
	w.vec[0], w.vec[1] = nil, nil
	if err != nil {
		if n := int(n64); n > 0 {
			if n < HeaderLen {
				w.pending = append(append([]byte(nil), w.hdr[n:]...), p...)
			} else {
				w.pending = append([]byte(nil), p[n-HeaderLen:]...)
			}
		}
		return c.writeError(ctx, err)
	}
	return nil
}

func (c *Conn) writeError(ctx context.Context, err error) error {
	if c.closed.Load() {
		return c.opError("send", net.ErrClosed)
	}
	return c.opError("send", ctxErr(ctx, err))
}
