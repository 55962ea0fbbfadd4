package mpconn

import "context"

// readyWaiter is a transport without a descriptor that can wait until it
// is readable itself: a named pipe on Windows (npipe.Stream), which no
// poller can watch. WaitReadable returns once the next receive has
// something to return (a message, the end of the stream, an error), or
// ctx ends; it may run beside a receive, and then waits for it.
type readyWaiter interface {
	WaitReadable(ctx context.Context) error
}

// readyWaiter returns c's transport as a readyWaiter, or nil when c has a
// descriptor (a poller watches those) or its transport cannot wait.
func (c *Conn) readyWaiter() readyWaiter {
	if c.raw != nil {
		return nil
	}
	rw, _ := c.t.(readyWaiter)
	return rw
}

// connWaiter stands in for the poller for one Conn without a descriptor
// in one WaitSet: a goroutine waits until the transport is readable, puts
// the entry on the set's list of reported entries (as a poller reports a
// descriptor), and waits for the set to rearm it. Reports are one-shot,
// as the pollers' are.
type connWaiter struct {
	rw     readyWaiter
	ctx    context.Context
	cancel context.CancelFunc
	rearm  chan struct{} // capacity 1
	done   chan struct{} // closed when the goroutine has returned
}

// startWaiter starts the goroutine watching e's Conn.
func (s *WaitSet) startWaiter(e *waitEntry, rw readyWaiter) *connWaiter {
	ctx, cancel := context.WithCancel(context.Background())
	w := &connWaiter{rw: rw, ctx: ctx, cancel: cancel, rearm: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run(s, e)
	return w
}

func (w *connWaiter) run(s *WaitSet, e *waitEntry) {
	defer close(w.done)
	for {
		// An error (the Conn closed, say) is a report too: the set's
		// check then finds the receive would fail at once.
		w.rw.WaitReadable(w.ctx)
		if w.ctx.Err() != nil {
			return
		}
		s.report(e)
		select {
		case <-w.rearm:
		case <-w.ctx.Done():
			return
		}
	}
}

// again makes the waiter watch its Conn again after a report.
func (w *connWaiter) again() {
	select {
	case w.rearm <- struct{}{}:
	default:
	}
}

// stop ends the goroutine and waits until it has returned; a wait in
// progress is cancelled, and what it read stays in the transport for the
// next receive. It may be called more than once.
func (w *connWaiter) stop() {
	w.cancel()
	<-w.done
}

// report puts e on the set's list of reported entries, which the next
// look checks as the poller's reports, and wakes a blocked Wait.
func (s *WaitSet) report(e *waitEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.removed {
		return
	}
	s.reported = append(s.reported, e)
	if !s.woken {
		s.woken = true
		s.p.Wake()
	}
}
