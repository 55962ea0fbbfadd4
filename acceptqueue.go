package mpconn

import (
	"context"
	"sync"
)

// maxQueued bounds the connections a Listener keeps ready for Accept.
// Past it, handshakes wait to deliver and further clients wait in the
// kernel's queue.
const maxQueued = 16

// acceptQueue holds the results (connections or handshake errors) waiting
// for Accept. Unlike a channel it can be looked at without taking from it,
// which is what Wait and WaitSet need, and it tells the wait sets the
// Listener belongs to when it becomes ready.
type acceptQueue struct {
	mu      sync.Mutex
	items   []accepted
	changed chan struct{} // closed and replaced whenever items changes
	closed  bool          // the Listener is closed: Accept returns at once
	regs    waitRegs      // the wait sets watching the Listener
}

func (q *acceptQueue) init() {
	q.changed = make(chan struct{})
}

// signal wakes everyone waiting for a change, with q.mu held.
func (q *acceptQueue) signal() {
	close(q.changed)
	q.changed = make(chan struct{})
	q.regs.notify(len(q.items) > 0 || q.closed)
}

// push adds a result, waiting while the queue is full. It gives up when
// done is closed (the Listener closes) and reports false; the caller then
// disposes of the result.
func (q *acceptQueue) push(a accepted, done <-chan struct{}) bool {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return false
		}
		if len(q.items) < maxQueued {
			q.items = append(q.items, a)
			q.signal()
			q.mu.Unlock()
			return true
		}
		ch := q.changed
		q.mu.Unlock()
		select {
		case <-ch:
		case <-done:
			return false
		}
	}
}

// pop takes the oldest result, waiting until there is one, ctx is done
// (ctx's error) or the queue is closed (ok false).
func (q *acceptQueue) pop(ctx context.Context) (a accepted, ok bool, err error) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return accepted{}, false, nil
		}
		if len(q.items) > 0 {
			a = q.items[0]
			q.items[0] = accepted{}
			q.items = q.items[1:]
			if len(q.items) == 0 {
				q.items = nil
			}
			q.signal()
			q.mu.Unlock()
			return a, true, nil
		}
		ch := q.changed
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return accepted{}, false, ctx.Err()
		}
	}
}

// ready reports whether Accept would return at once.
func (q *acceptQueue) ready() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) > 0 || q.closed
}

// close marks the queue closed, wakes every waiter and returns the
// connections nobody accepted, for the caller to close.
func (q *acceptQueue) close() []*Conn {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	var left []*Conn
	for _, a := range q.items {
		if a.c != nil {
			left = append(left, a.c)
		}
	}
	q.items = nil
	q.closed = true
	q.signal()
	return left
}
