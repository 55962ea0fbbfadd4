package mpconn

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/mpconn/mpconn/internal/msgio"
	"github.com/mpconn/mpconn/internal/platform"
)

// ErrWouldBlock is returned by the non-blocking calls [Conn.TryRecvBytes]
// and [Conn.TrySendBytes] when they cannot complete at once (billiard's
// non-blocking Pipe ends). Nothing is lost: a partly received message stays
// buffered for the next receive, and a partly sent one is finished before
// the next message.
var ErrWouldBlock = msgio.ErrWouldBlock

// TryRecvBytes receives the next message if a whole one can be had without
// blocking, and returns ErrWouldBlock otherwise. Bytes of a message that
// has only partly arrived are kept for the next receive.
//
// On a named pipe (Windows), which has no descriptor to read without
// waiting, TryRecvBytes starts a read and cancels it at once unless it
// completed at once: a message that has arrived (its send returned) is
// taken whole, and nothing is lost or split otherwise. While a [WaitSet]
// watches the Conn, the set's own read may be pending on the pipe; a
// message that read has not handed over yet counts as not arrived.
func (c *Conn) TryRecvBytes() ([]byte, error) {
	if c.closed.Load() {
		return nil, c.opError("recv", net.ErrClosed)
	}
	if !c.canRead {
		return nil, ErrWriteOnly
	}
	select {
	case c.rlock <- struct{}{}:
	default:
		return nil, ErrWouldBlock // another goroutine is receiving
	}
	defer c.unlockRead()
	c.rd.Nonblock = true
	msg, _, err := c.readMessage(context.Background(), c.maxSize, nil, false)
	c.rd.Nonblock = false
	return msg, err
}

// TrySendBytes sends p as one message if it can without blocking. It
// returns ErrWouldBlock when nothing of p could be written: p was not sent.
// When only part of the message could be written, the rest is kept and
// written before the next message (or by [Conn.Flush]), and TrySendBytes
// returns an error wrapping ErrWouldBlock that says so; the message will
// arrive whole.
//
// On a named pipe (Windows) a message is sent whole or not at all: the
// write is started and cancelled if it does not complete at once. A
// message is taken at once only if it fits in the room left in the
// pipe's buffer (8 KiB, less what the peer has not read) or a read
// waiting on the other end takes it, so a larger one gives ErrWouldBlock
// unless the peer is receiving.
func (c *Conn) TrySendBytes(p []byte) error {
	if err := c.canSend(); err != nil {
		return err
	}
	if err := c.checkSendSize(len(p)); err != nil {
		return err
	}
	select {
	case c.wlock <- struct{}{}:
	default:
		return ErrWouldBlock // another goroutine is sending
	}
	defer func() { <-c.wlock }()
	if ts := c.msgTrySender(); ts != nil {
		return c.trySendMsg(ts, p) // a named pipe (Windows)
	}
	w := &c.wr
	if w.Pending != nil {
		n, err := c.writeNonblock(w.Pending)
		w.Pending = w.Pending[n:]
		if len(w.Pending) > 0 || err != nil {
			if err == nil {
				err = ErrWouldBlock
			}
			return c.opError("send", err)
		}
		w.pendingSent()
	}
	h := putHeader(w.Hdr[:], int64(len(p)))
	n, err := c.writeNonblock(w.Hdr[:h])
	if n == 0 {
		if err == nil {
			err = ErrWouldBlock
		}
		return c.opError("send", err)
	}
	if n < h {
		w.Pending = append(append([]byte(nil), w.Hdr[n:h]...), p...)
		return c.opError("send", &partialSendError{sent: n, total: h + len(p), err: ErrWouldBlock})
	}
	m, err := c.writeNonblock(p)
	if m < len(p) {
		w.Pending = append([]byte(nil), p[m:]...)
		if err == nil {
			err = ErrWouldBlock
		}
		return c.opError("send", &partialSendError{sent: h + m, total: h + len(p), err: err})
	}
	return nil
}

// Flush writes the rest of a message that an interrupted or non-blocking
// send left unfinished, waiting as needed.
func (c *Conn) Flush(ctx context.Context) error {
	if err := c.beginSend(ctx); err != nil {
		return err
	}
	defer func() { <-c.wlock }()
	if c.wr.bg != nil {
		if err := c.waitBackground(ctx); err != nil {
			return err
		}
	}
	if c.wr.Pending == nil {
		return nil
	}
	if ctx.Done() != nil {
		defer msgio.Watch(ctx, c.t.SetWriteDeadline)()
	}
	return c.writePending(ctx)
}

// writeNonblock writes as much of p as the socket takes now.
func (c *Conn) writeNonblock(p []byte) (int, error) {
	if c.raw == nil {
		return 0, errors.ErrUnsupported
	}
	done := 0
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		for done < len(p) {
			k, e := platform.Write(fd, p[done:])
			if e == syscall.EINTR {
				continue
			}
			if e != nil {
				werr = e
				return true
			}
			done += k
		}
		return true
	})
	if err != nil {
		return done, err
	}
	if werr == platform.EAGAIN {
		return done, nil
	}
	if werr != nil {
		return done, os.NewSyscallError("write", werr)
	}
	return done, nil
}
