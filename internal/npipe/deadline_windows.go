package npipe

import (
	"context"
	"os"
	"sync"
	"time"
)

// deadline is a settable deadline whose expiry closes a channel, as
// net.Pipe keeps its deadlines: setting a time in the past wakes every
// call waiting on the channel at once, and a later time (or none) gives a
// fresh channel.
type deadline struct {
	mu      sync.Mutex
	gen     uint64
	timer   *time.Timer
	expired chan struct{}
}

func newDeadline() *deadline { return &deadline{expired: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.gen++
	closed := isClosed(d.expired)
	if !t.IsZero() && !t.After(time.Now()) {
		if !closed {
			close(d.expired)
		}
		return
	}
	if closed {
		d.expired = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	gen, ch := d.gen, d.expired
	d.timer = time.AfterFunc(time.Until(t), func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen && !isClosed(ch) {
			close(ch)
		}
	})
}

// ctx returns a context that is done when the deadline in force now
// passes; its Err is os.ErrDeadlineExceeded, as for a net.Conn.
func (d *deadline) ctx() context.Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	return deadlineCtx{context.Background(), d.expired}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// deadlineCtx is a context done when a deadline passes.
type deadlineCtx struct {
	context.Context
	done <-chan struct{}
}

func (c deadlineCtx) Done() <-chan struct{} { return c.done }

func (c deadlineCtx) Err() error {
	select {
	case <-c.done:
		return os.ErrDeadlineExceeded
	default:
		return nil
	}
}
