package mpconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"
)

// Waitable is an object that [Wait] and [WaitSet] can watch: a [*Conn], a
// [*Listener] or a [*Child]. Other types cannot implement it.
//
// An object is ready when the call it is waited for returns at once:
//   - a *Conn when a whole message has arrived (buffered messages count),
//     or when a receive would fail at once: at end of file, after an
//     error, or once the Conn is closed;
//   - a *Listener when Accept has a connection or a handshake error to
//     return, or the Listener is closed;
//   - a *Child when the process has exited.
type Waitable interface {
	waitable()
}

func (*Conn) waitable()     {}
func (*Listener) waitable() {}
func (*Child) waitable()    {}

// Wait waits until at least one of objs is ready (see [Waitable]) and
// returns the ready ones, in the order of objs, as CPython's
// multiprocessing.connection.wait(object_list, timeout) does.
//
// A zero timeout only looks and never blocks; a positive timeout waits at
// most that long and then returns an empty list and a nil error; a
// negative timeout waits until an object is ready. Cancelling ctx ends
// the wait with ctx's error.
//
// A *Conn that is ready holds a whole message: a receive that follows does
// not block, unless another goroutine takes the message first. To find out,
// Wait may read what has arrived into the Conn's buffer, as [Conn.Poll]
// does. A Conn that another goroutine is receiving on is not reported
// until that receive is over.
//
// A closed Conn or Listener, a Conn that cannot receive, and a Conn
// without a descriptor (over TLS, say; a named pipe on Windows is fine)
// are errors. For repeated waits on
// many objects use a [WaitSet]: Wait costs time in proportion to len(objs)
// on every call.
func Wait(ctx context.Context, timeout time.Duration, objs ...Waitable) ([]Waitable, error) {
	seen := make(map[Waitable]bool, len(objs))
	uniq := make([]Waitable, 0, len(objs))
	for _, o := range objs {
		if err := checkWaitable(o, "wait"); err != nil {
			return nil, err
		}
		if !seen[o] {
			seen[o] = true
			uniq = append(uniq, o)
		}
	}
	// A first look, which never blocks.
	var ready []Waitable
	for _, o := range uniq {
		if readyNow(o) {
			ready = append(ready, o)
		}
	}
	if len(ready) > 0 || timeout == 0 {
		return ready, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := NewWaitSet()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	for _, o := range uniq {
		if err := s.Add(o); err != nil {
			return nil, err
		}
	}
	return s.Wait(ctx, timeout)
}

// checkWaitable returns an error for an object that cannot be waited for.
func checkWaitable(o Waitable, op string) error {
	switch o := o.(type) {
	case *Conn:
		if o == nil {
			return errors.New("mpconn: " + op + ": nil *Conn")
		}
		if o.closed.Load() {
			return o.opError(op, net.ErrClosed)
		}
		if !o.canRead {
			return ErrWriteOnly
		}
		if o.raw == nil && o.readyWaiter() == nil {
			return o.opError(op, fmt.Errorf("connection has no descriptor: %w", errors.ErrUnsupported))
		}
	case *Listener:
		if o == nil {
			return errors.New("mpconn: " + op + ": nil *Listener")
		}
		if o.ctx.Err() != nil {
			return o.closedError()
		}
	case *Child:
		if o == nil {
			return errors.New("mpconn: " + op + ": nil *Child")
		}
	default:
		return errors.New("mpconn: " + op + ": nil object")
	}
	return nil
}

// readyNow reports whether o is ready, without blocking.
func readyNow(o Waitable) bool {
	switch o := o.(type) {
	case *Conn:
		if o.closed.Load() {
			return true
		}
		if !o.tryLockRead() {
			return false // another goroutine is receiving
		}
		defer o.unlockRead()
		return o.ready() || o.advance()
	case *Listener:
		return o.queue.ready()
	case *Child:
		return o.Exited()
	}
	return false
}

// tryLockRead takes the read lock if it is free.
func (c *Conn) tryLockRead() bool {
	select {
	case c.rlock <- struct{}{}:
		return true
	default:
		return false
	}
}

// lockReadSoon takes the read lock, waiting only a moment for a holder
// that is about to let go. It reports false when the lock stays held, by a
// receive that is waiting for data: that receive tells the wait sets what
// it leaves behind when it ends.
func (c *Conn) lockReadSoon() bool {
	for i := 0; i < 64; i++ {
		if c.tryLockRead() {
			return true
		}
		runtime.Gosched()
	}
	t := time.NewTimer(2 * time.Millisecond)
	defer t.Stop()
	select {
	case c.rlock <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

// advance reads, without blocking, what has arrived towards the next
// whole message, with the read lock held. It reports whether a receive
// would now return at once. The bytes stay in the Conn's state exactly as
// a receive would leave them when interrupted, so framing is kept.
func (c *Conn) advance() bool { return c.rd.Advance(c.limit()) }
