package mpconn

import (
	"sync"
	"sync/atomic"
)

// waitRegs lists the wait set entries of one object.
type waitRegs struct {
	mu      sync.Mutex
	entries []*waitEntry
	n       atomic.Int32 // len(entries), for a look without the lock
}

func (r *waitRegs) add(e *waitEntry) {
	r.mu.Lock()
	r.entries = append(r.entries, e)
	r.n.Store(int32(len(r.entries)))
	r.mu.Unlock()
}

// remove drops e and reports how many entries are left.
func (r *waitRegs) remove(e *waitEntry) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, x := range r.entries {
		if x == e {
			last := len(r.entries) - 1
			r.entries[i] = r.entries[last]
			r.entries[last] = nil
			r.entries = r.entries[:last]
			break
		}
	}
	if len(r.entries) == 0 {
		r.entries = nil
	}
	r.n.Store(int32(len(r.entries)))
	return len(r.entries)
}

// notify tells every set the object belongs to whether it is ready, except
// the entry skip (which may be nil).
func (r *waitRegs) notify(ready bool) { r.notifyExcept(nil, ready) }

func (r *waitRegs) notifyExcept(skip *waitEntry, ready bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e != skip {
			e.set.setListed(e, ready, true)
		}
	}
}

// watchers returns the wait set entries of c, or nil when c is in no wait
// set: a receive on such a Conn pays one atomic load.
func (c *Conn) watchers() *waitRegs {
	if c.regs.n.Load() == 0 {
		return nil
	}
	return &c.regs
}
