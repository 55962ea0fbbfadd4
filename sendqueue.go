package mpconn

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/mpconn/mpconn/internal/msgio"
)

// Group commit of concurrent sends.
//
// When a goroutine sends a small message while another one holds the write
// lock, it does not just wait for the lock: it puts its framed message in
// the Conn's send queue and waits for the message to be written. Whoever
// holds the lock writes everything queued, in one system call, before
// letting the lock go; a queued sender that gets the lock first writes the
// queue itself. So n goroutines sending at once pay about one system call
// per round instead of n, and a sender still returns only once its message
// has been handed to the operating system (or has failed): nothing is held
// back in user space after a send returns.
//
// Only payloads up to coalesceMax bytes are queued, and the queue holds at
// most queueMax bytes; larger messages, a full queue and TLS connections
// take the write lock as before.

// queueMax bounds the bytes waiting in a Conn's send queue.
const queueMax = 64 << 10

// sendQueue is a Conn's queue of framed messages from senders waiting for
// the write lock.
type sendQueue struct {
	mu      sync.Mutex
	buf     []byte        // frames, back to back, in queue order
	waiters []*queuedSend // the senders of the frames in buf, in order
	spare   []byte        // the buffers of the last batch written, reused
	spareW  []*queuedSend
	n       atomic.Int32 // len(waiters), for a quick look by the lock holder
}

// queuedSend is a sender waiting in a sendQueue.
type queuedSend struct {
	done   chan error // the result, sent once; capacity 1
	off    int        // the frame's offset in sendQueue.buf, while queued
	size   int        // the frame's length
	queued bool       // still in the queue (not taken by a writer); guarded by sendQueue.mu
}

var queuedSends = sync.Pool{New: func() any { return &queuedSend{done: make(chan error, 1)} }}

// enqueue frames p at the end of the queue, or returns nil when the
// queue is full.
func (q *sendQueue) enqueue(p []byte) *queuedSend {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiters) > 0 && len(q.buf)+longHeaderLen+len(p) > queueMax {
		return nil
	}
	qs := queuedSends.Get().(*queuedSend)
	qs.off, qs.queued = len(q.buf), true
	q.buf = appendFrame(q.buf, p)
	qs.size = len(q.buf) - qs.off
	q.waiters = append(q.waiters, qs)
	q.n.Store(int32(len(q.waiters)))
	return qs
}

// withdraw takes qs's frame out of the queue, if no writer has taken it
// yet, and reports whether it did.
func (q *sendQueue) withdraw(qs *queuedSend) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !qs.queued {
		return false
	}
	i := 0
	for q.waiters[i] != qs {
		i++
	}
	end := qs.off + qs.size
	q.buf = append(q.buf[:qs.off], q.buf[end:]...)
	for _, w := range q.waiters[i+1:] {
		w.off -= qs.size
	}
	q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
	q.n.Store(int32(len(q.waiters)))
	qs.queued = false
	return true
}

// take empties the queue and returns its frames and their senders.
func (q *sendQueue) take() ([]byte, []*queuedSend) {
	q.mu.Lock()
	defer q.mu.Unlock()
	batch, ws := q.buf, q.waiters
	q.buf, q.waiters = q.spare[:0], q.spareW[:0]
	q.spare, q.spareW = nil, nil
	q.n.Store(0)
	for _, qs := range ws {
		qs.queued = false
	}
	return batch, ws
}

// putBack returns frames a writer took but did not write to the front of
// the queue: batch holds them from offset from on, ws are their senders.
func (q *sendQueue) putBack(batch []byte, from int, ws []*queuedSend) {
	q.mu.Lock()
	defer q.mu.Unlock()
	buf := make([]byte, 0, len(batch)-from+len(q.buf))
	buf = append(append(buf, batch[from:]...), q.buf...)
	waiters := make([]*queuedSend, 0, len(ws)+len(q.waiters))
	waiters = append(append(waiters, ws...), q.waiters...)
	off := 0
	for _, qs := range waiters {
		qs.off, qs.queued = off, true
		off += qs.size
	}
	q.buf, q.waiters = buf, waiters
	q.n.Store(int32(len(waiters)))
}

// recycle keeps a written batch's buffers for the next one.
func (q *sendQueue) recycle(batch []byte, ws []*queuedSend) {
	clear(ws)
	q.mu.Lock()
	if cap(batch) <= 2*queueMax {
		q.spare, q.spareW = batch[:0], ws[:0]
	}
	q.mu.Unlock()
}

// sendQueued sends p through the send queue, for SendBytes when another
// goroutine holds the write lock. It falls back to waiting for the lock
// when the queue is full.
func (c *Conn) sendQueued(ctx context.Context, p []byte) error {
	qs := c.sq.enqueue(p)
	if qs == nil {
		if err := c.lock(ctx, c.wlock); err != nil {
			return c.opError("send", err)
		}
		return c.sendLocked(ctx, p)
	}
	for {
		if ctx.Err() != nil {
			return c.abandon(ctx, qs)
		}
		select {
		case err := <-qs.done:
			queuedSends.Put(qs)
			return err
		case c.wlock <- struct{}{}:
			// The lock is ours: write the queue, this message with it
			// (unless an earlier writer took it: its result is then
			// already in done).
			c.flushQueue(ctx)
			<-c.wlock
			select {
			case err := <-qs.done:
				queuedSends.Put(qs)
				return err
			default:
				// Put back, or left pending, by a write that ctx
				// interrupted: the next round reports it.
			}
		case <-ctx.Done():
			return c.abandon(ctx, qs)
		}
	}
}

// abandon ends a queued send whose context is done: the message is taken
// out of the queue if it is still there; otherwise it is being written by
// another goroutine's send, or its rest is pending.
func (c *Conn) abandon(ctx context.Context, qs *queuedSend) error {
	if c.sq.withdraw(qs) {
		queuedSends.Put(qs)
		return c.opError("send", ctx.Err())
	}
	select {
	case err := <-qs.done:
		queuedSends.Put(qs)
		return err
	default:
	}
	// qs is not reused: its result arrives later, unread.
	return c.opError("send", &partialSendError{sent: -1, total: qs.size, err: ctx.Err()})
}

// flushQueue writes the rest of an interrupted message and every queued
// frame, with the write lock held, until the queue is empty or a write
// fails.
func (c *Conn) flushQueue(ctx context.Context) {
	for c.sq.n.Load() > 0 || c.wr.pendingWaiter != nil {
		if c.writeQueued(ctx) != nil {
			return
		}
	}
}

// writeQueued writes the rest of an interrupted message, then the frames
// queued now, in one system call, and tells their senders how it went.
func (c *Conn) writeQueued(ctx context.Context) error {
	w := &c.wr
	if ctx.Done() != nil {
		defer msgio.Watch(ctx, c.t.SetWriteDeadline)()
	}
	if err := c.writePending(ctx); err != nil {
		if !isCancel(err) || c.closed.Load() {
			// The stream is broken: nothing queued can go either.
			w.pendingFailed(err)
			batch, ws := c.sq.take()
			for _, qs := range ws {
				qs.done <- err
			}
			c.sq.recycle(batch, ws)
		}
		return err
	}
	batch, ws := c.sq.take()
	if len(ws) == 0 {
		c.sq.recycle(batch, ws)
		return nil
	}
	n, err := c.t.Write(batch)
	if err == nil {
		for _, qs := range ws {
			qs.done <- nil
		}
		c.sq.recycle(batch, ws)
		return nil
	}
	interrupted := isCancel(msgio.CtxErr(ctx, err)) && !c.closed.Load()
	for i, qs := range ws {
		end := qs.off + qs.size
		switch {
		case end <= n:
			qs.done <- nil
		case interrupted && qs.off < n:
			// Begun: the rest goes out before anything else, and its
			// sender hears when it has.
			w.Pending = append([]byte(nil), batch[n:end]...)
			w.pendingWaiter = qs
		case interrupted:
			// Not begun: back to the queue, for the next writer.
			c.sq.putBack(batch, qs.off, ws[i:])
			return err
		default:
			qs.done <- c.writeError(ctx, err, 0, 0)
		}
	}
	return err
}

// pendingSent records that the rest of an interrupted message has been
// written.
func (w *writeState) pendingSent() {
	w.Pending = nil
	if qs := w.pendingWaiter; qs != nil {
		w.pendingWaiter = nil
		qs.done <- nil
	}
}

// pendingFailed records that the rest of an interrupted message cannot be
// written.
func (w *writeState) pendingFailed(err error) {
	if qs := w.pendingWaiter; qs != nil {
		w.pendingWaiter = nil
		qs.done <- err
	}
}
