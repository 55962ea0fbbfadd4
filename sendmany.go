package mpconn

import (
	"context"

	"github.com/mpconn/mpconn/internal/msgio"
	"github.com/mpconn/mpconn/pickle"
)

// manyChunk is how many bytes of frames SendBytesMany and SendMany gather
// before writing them.
const manyChunk = 64 << 10

// SendBytesMany sends each of msgs as its own message, in order: the
// receiver sees exactly what len(msgs) calls of [Conn.SendBytes] would
// have sent. The frames are gathered and written together, about 64 KiB
// per system call (a message over 16 KiB goes in a vectored write of its
// own, without copying), which makes a stream of small messages many
// times faster than one SendBytes each.
//
// It returns how many messages were handed to the operating system whole.
// On an error, msgs[n] and those after it were not sent, except that the
// rest of a message cut by a cancellation is written before the next
// message, as with SendBytes (the error then says so). Nothing is held
// back once SendBytesMany returns.
func (c *Conn) SendBytesMany(ctx context.Context, msgs ...[]byte) (int, error) {
	if c.maxSend > 0 {
		for _, m := range msgs {
			if err := c.checkSendSize(len(m)); err != nil {
				return 0, err // nothing sent
			}
		}
	}
	if err := c.beginSend(ctx); err != nil {
		return 0, err
	}
	n, err := c.writeMany(ctx, len(msgs), func(b []byte, i int) ([]byte, []byte, error) {
		if len(msgs[i]) > coalesceMax {
			return b, msgs[i], nil
		}
		return appendFrame(b, msgs[i]), nil, nil
	})
	c.endSend(ctx, err)
	return n, err
}

// SendMany encodes each of vals with the Conn's codec and sends it as its
// own message, in order, gathering the frames into few system calls as
// [Conn.SendBytesMany] does. It returns how many messages were sent; when
// vals[n] cannot be encoded, the ones before it are sent and the error
// says why.
func (c *Conn) SendMany(ctx context.Context, vals ...any) (int, error) {
	if err := c.beginSend(ctx); err != nil {
		return 0, err
	}
	enc := func(b []byte, i int) ([]byte, []byte, error) {
		p, err := c.codec.Marshal(vals[i])
		if err == nil {
			err = c.checkSendSize(len(p))
		}
		if err != nil {
			return b, nil, err
		}
		if len(p) > coalesceMax {
			return b, p, nil
		}
		return appendFrame(b, p), nil, nil
	}
	if pc, ok := c.codec.(PickleCodec); ok {
		proto := pc.proto(c.peerProto.Load())
		enc = func(b []byte, i int) ([]byte, []byte, error) {
			// Pickled straight after a 4-byte header, filled in after.
			start := len(b)
			b, err := pickle.AppendMarshal(append(b, 0, 0, 0, 0), vals[i], proto)
			if err == nil {
				err = c.checkSendSize(len(b) - start - shortHeaderLen)
			}
			if err != nil {
				return b[:start], nil, err
			}
			if p := b[start+shortHeaderLen:]; len(p) > coalesceMax {
				// Large: written from where it is, on its own.
				return b[:start], p, nil
			}
			putHeader(b[start:], int64(len(b)-start-shortHeaderLen))
			return b, nil, nil
		}
	}
	n, err := c.writeMany(ctx, len(vals), enc)
	c.endSend(ctx, err)
	return n, err
}

// appendFrame appends p's header and p to b.
func appendFrame(b, p []byte) []byte {
	var hdr [longHeaderLen]byte
	h := putHeader(hdr[:], int64(len(p)))
	return append(append(b, hdr[:h]...), p...)
}

// writeMany writes count messages, with the write lock held: add appends
// the frame of message i to b, or returns a large payload (over
// coalesceMax bytes) to be written on its own. Frames are gathered up to
// manyChunk bytes and written together; writeMany returns how many
// messages were written whole.
func (c *Conn) writeMany(ctx context.Context, count int, add func(b []byte, i int) (frames, large []byte, err error)) (int, error) {
	w := &c.wr
	if w.bg != nil {
		if err := c.waitBackground(ctx); err != nil {
			return 0, err
		}
	}
	if ctx.Done() != nil && !c.fragileWrites {
		defer msgio.Watch(ctx, c.t.SetWriteDeadline)()
	}
	if err := c.writePending(ctx); err != nil {
		return 0, err
	}
	sent := 0 // messages written whole
	b := w.many[:0]
	ends := w.manyEnds[:0]
	defer func() {
		if cap(b) <= 4*manyChunk {
			w.many, w.manyEnds = b[:0], ends[:0]
		}
	}()
	// flush writes the gathered frames; ends holds where each ends.
	flush := func() error {
		if len(b) == 0 {
			return nil
		}
		n, err := c.t.Write(b)
		if err == nil {
			sent += len(ends)
			b, ends = b[:0], ends[:0]
			return nil
		}
		start := 0
		for _, end := range ends {
			if end > n {
				if n > start {
					// Cut: the rest goes before the next message.
					w.Pending = append([]byte(nil), b[n:end]...)
					return c.writeError(ctx, err, n-start, end-start)
				}
				break
			}
			sent++
			start = end
		}
		return c.writeError(ctx, err, 0, 0)
	}
	for i := range count {
		var large []byte
		var err error
		b, large, err = add(b, i)
		if err != nil {
			if ferr := flush(); ferr != nil {
				return sent, ferr
			}
			return sent, err
		}
		if large != nil || c.fragileWrites {
			// The frames gathered so far, then this message on its own:
			// a vectored write of a large payload, without copying it
			// (its bytes may lie beyond len(b), where add put them), or
			// on TLS one message at a time, finished in the background
			// if ctx ends while it is written.
			if large == nil {
				start := 0
				if len(ends) > 0 {
					start = ends[len(ends)-1]
				}
				frame := b[start:]
				h := shortHeaderLen
				if int64(len(frame)) > shortHeaderLen+maxShortLen {
					h = longHeaderLen
				}
				large, b = frame[h:], b[:start]
			}
			if err := flush(); err != nil {
				return sent, err
			}
			if c.fragileWrites {
				err = c.writeDetachable(ctx, large)
			} else {
				err = c.writeFrame(ctx, large)
			}
			if err != nil {
				return sent, err
			}
			sent++
			continue
		}
		ends = append(ends, len(b))
		if len(b) >= manyChunk {
			if err := flush(); err != nil {
				return sent, err
			}
		}
	}
	return sent, flush()
}
