package mpconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mpconn/mpconn/internal/poller"
)

// WaitSet is a reusable set of objects to wait on: Conns, Listeners and
// Children (see [Waitable]), like ipc-channel's IpcReceiverSet. Add
// objects once, then call [WaitSet.Wait] again and again.
//
// On Linux a WaitSet is an epoll instance: objects are registered once,
// no goroutine runs per object, and the cost of a Wait grows with the
// number of ready objects, not the number registered. A Conn that keeps
// whole messages buffered after a receive (more than one arrived at once)
// is kept on a ready list of the set's own, since the operating system no
// longer reports its descriptor as readable. Other systems use a portable
// fallback whose Wait looks at every object in turn.
//
// On Windows a named-pipe Conn has no descriptor a poller could watch:
// the set watches it with a goroutine of its own, which keeps a read
// pending on the pipe (what it reads stays with the Conn for the next
// receive) and reports the Conn when the read completes. A message is
// therefore reported once that goroutine has seen it: a zero-timeout
// Wait right after the peer's send may not report it yet, a blocking
// Wait does. Remove and Close end the goroutine.
//
// A WaitSet is safe for concurrent use. Calls to Wait are served one at a
// time: a Wait that finds another in progress waits for its turn within
// its own timeout (a zero timeout returns nothing at once). Add and
// Remove may be called while a Wait is in progress, and take effect for
// the objects' next readiness.
//
// A Conn closed while in the set is reported ready (its receives fail
// with [net.ErrClosed]) until it is removed.
type WaitSet struct {
	p     poller.Poller
	wlock chan struct{} // serialises Wait and the end of Close

	mu      sync.Mutex
	byObj   map[Waitable]*waitEntry
	byID    map[uint32]*waitEntry
	nextID  uint32
	seq     uint64
	head    *waitEntry // the ready list
	tail    *waitEntry
	woken   bool   // the poller was woken and not yet drained
	round   uint64 // the current Wait round, for de-duplication
	closed  atomic.Bool
	scratch []uint32
	cands   []candidate
	// reported lists the entries whose waiters (Conns without a
	// descriptor: named pipes on Windows) found them readable.
	reported []*waitEntry
	ready    []*waitEntry
}

// waitEntry is one object's membership in one WaitSet.
type waitEntry struct {
	set *WaitSet
	obj Waitable
	id  uint32 // the key the poller reports
	seq uint64 // the order of Add

	listed     atomic.Bool // on the ready list; written with set.mu held
	removed    bool        // set.mu
	prev, next *waitEntry  // set.mu
	mark       uint64      // set.mu: the last round that took it

	w *connWaiter // watches a Conn that has no descriptor, or nil
}

type candidate struct {
	e      *waitEntry
	kernel bool // the descriptor was reported readable
}

// wakeID is the poller key of the set's own wake-up event.
const wakeID = poller.WakeKey

// newPoller makes a WaitSet's poller (a variable, so that tests can run
// the sets over each backend).
var newPoller = poller.New

var errNotInSet = errors.New("mpconn: object is not in the wait set")

// NewWaitSet returns an empty WaitSet. Close it when done: it holds
// descriptors.
func NewWaitSet() (*WaitSet, error) {
	p, err := newPoller()
	if err != nil {
		return nil, err
	}
	return &WaitSet{
		p:      p,
		wlock:  make(chan struct{}, 1),
		byObj:  make(map[Waitable]*waitEntry),
		byID:   make(map[uint32]*waitEntry),
		nextID: wakeID + 1,
	}, nil
}

func (s *WaitSet) closedError(op string) error {
	return fmt.Errorf("mpconn: wait set %s: %w", op, net.ErrClosed)
}

// Add adds obj to the set. A Conn must be open, able to receive and have a
// descriptor (a Conn over TLS cannot be added; a named pipe on Windows
// can); a Listener must be open.
// An object can be in several sets at once, but in a set only once.
// Messages a Conn already holds in its buffer count: Add reports the Conn
// ready at the next Wait.
func (s *WaitSet) Add(obj Waitable) error {
	if err := checkWaitable(obj, "wait set add"); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return s.closedError("add")
	}
	if _, ok := s.byObj[obj]; ok {
		s.mu.Unlock()
		return errors.New("mpconn: object is already in the wait set")
	}
	for s.byID[s.nextID] != nil || s.nextID == wakeID {
		s.nextID++
	}
	s.seq++
	e := &waitEntry{set: s, obj: obj, id: s.nextID, seq: s.seq}
	s.nextID++
	s.byObj[obj] = e
	s.byID[e.id] = e
	if c, ok := obj.(*Conn); ok {
		if rw := c.readyWaiter(); rw != nil {
			e.w = s.startWaiter(e, rw)
		}
	}
	s.mu.Unlock()

	s.addRegs(e)
	if err := s.withFD(obj, func(fd uintptr) error { return s.p.Register(fd, e.id) }); err != nil {
		s.drop(e)
		if s.closed.Load() {
			return s.closedError("add")
		}
		return fmt.Errorf("mpconn: wait set add: %w", err)
	}
	if s.closed.Load() {
		// Close ran meanwhile and may have missed e.
		s.drop(e)
		return s.closedError("add")
	}

	// What is ready already.
	switch o := obj.(type) {
	case *Conn:
		if o.lockReadSoon() {
			s.setListed(e, o.ready() || o.closed.Load(), true)
			<-o.rlock
		}
	case *Listener:
		o.queue.mu.Lock()
		s.setListed(e, len(o.queue.items) > 0 || o.queue.closed, true)
		o.queue.mu.Unlock()
	case *Child:
		if o.Exited() {
			s.setListed(e, true, true)
		}
	}
	return nil
}

// Remove takes obj out of the set. It returns an error if obj is not in
// the set.
func (s *WaitSet) Remove(obj Waitable) error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return s.closedError("remove")
	}
	e := s.byObj[obj]
	s.mu.Unlock()
	if e == nil {
		return errNotInSet
	}
	s.drop(e)
	// The descriptor may be closed already, and then it has left the
	// poller by itself.
	s.withFD(obj, func(fd uintptr) error { return s.p.Unregister(fd, e.id) })
	return nil
}

// drop unlinks e from the set and from its object.
func (s *WaitSet) drop(e *waitEntry) {
	s.mu.Lock()
	if !e.removed {
		s.unlink(e)
		e.removed = true
		delete(s.byObj, e.obj)
		delete(s.byID, e.id)
	}
	s.mu.Unlock()
	if e.w != nil {
		e.w.stop()
	}
	s.removeRegs(e)
}

// Len returns the number of objects in the set.
func (s *WaitSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byObj)
}

// Wait waits until at least one object in the set is ready and returns
// the ready ones, in the order they were added. The timeout and ctx work
// as for [Wait]: zero only looks, positive bounds the wait (an empty
// result and a nil error when it ends), negative waits until an object is
// ready or ctx is done. After [WaitSet.Close], and when Close is called
// during the wait, Wait returns an error wrapping [net.ErrClosed].
//
// The cost of a call grows with the number of ready objects, not the
// number in the set.
func (s *WaitSet) Wait(ctx context.Context, timeout time.Duration) ([]Waitable, error) {
	if s.closed.Load() {
		return nil, s.closedError("wait")
	}
	wctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	select {
	case s.wlock <- struct{}{}:
	default:
		if timeout == 0 {
			return nil, nil // another Wait is looking
		}
		select {
		case s.wlock <- struct{}{}:
		case <-wctx.Done():
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, nil
		}
	}
	defer func() { <-s.wlock }()
	block := false
	for {
		if s.closed.Load() {
			return nil, s.closedError("wait")
		}
		ids, err := s.p.Poll(wctx, block, s.scratch[:0])
		s.scratch = ids[:0]
		if s.closed.Load() {
			return nil, s.closedError("wait")
		}
		if err != nil {
			if wctx.Err() == nil {
				return nil, fmt.Errorf("mpconn: wait: %w", err)
			}
		}
		ready := s.look(ids)
		if len(ready) > 0 || timeout == 0 {
			return ready, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if wctx.Err() != nil {
			return nil, nil // the timeout
		}
		if block {
			runtime.Gosched() // reports that were not ready yet
		}
		block = true
	}
}

// look checks the objects the poller reported and those on the ready list,
// and returns the ready ones in the order of Add.
func (s *WaitSet) look(ids []uint32) []Waitable {
	s.mu.Lock()
	s.round++
	cands := s.cands[:0]
	for _, id := range ids {
		if id == wakeID {
			s.woken = false
			continue
		}
		e := s.byID[id]
		if e == nil || e.mark == s.round {
			continue
		}
		e.mark = s.round
		cands = append(cands, candidate{e, true})
	}
	for _, e := range s.reported {
		if !e.removed && e.mark != s.round {
			e.mark = s.round
			cands = append(cands, candidate{e, true})
		}
	}
	clear(s.reported)
	s.reported = s.reported[:0]
	for e := s.head; e != nil; e = e.next {
		if e.mark != s.round {
			e.mark = s.round
			cands = append(cands, candidate{e, false})
		}
	}
	s.mu.Unlock()

	ready := s.ready[:0]
	for _, c := range cands {
		if s.check(c.e, c.kernel) {
			ready = append(ready, c.e)
		}
	}
	clear(cands)
	s.cands = cands[:0]
	if len(ready) == 0 {
		return nil
	}
	slices.SortFunc(ready, func(a, b *waitEntry) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	out := make([]Waitable, 0, len(ready))
	s.mu.Lock()
	for _, e := range ready {
		if !e.removed {
			out = append(out, e.obj)
		}
	}
	s.mu.Unlock()
	clear(ready)
	s.ready = ready[:0]
	return out
}

// check reports whether e's object is ready and updates its place on the
// ready list. kernel says its descriptor was reported, and must be
// rearmed.
func (s *WaitSet) check(e *waitEntry, kernel bool) bool {
	switch o := e.obj.(type) {
	case *Conn:
		return s.checkConn(e, o, kernel)
	case *Listener:
		q := &o.queue
		q.mu.Lock()
		ready := len(q.items) > 0 || q.closed
		s.setListed(e, ready, false)
		q.mu.Unlock()
		return ready
	case *Child:
		if o.Exited() {
			s.setListed(e, true, false) // for good
			return true
		}
		if kernel {
			s.rearm(e)
		}
	}
	return false
}

func (s *WaitSet) checkConn(e *waitEntry, c *Conn, kernel bool) bool {
	if c.closed.Load() {
		s.setListed(e, true, false)
		return true
	}
	if !c.tryLockRead() {
		// Another goroutine holds the read lock. When the Conn is listed,
		// it held a whole message when the lock was last let go, so the
		// holder cannot block and lets go soon: wait for it. Otherwise
		// the holder is receiving, and its end tells the set what it
		// leaves behind.
		locked := false
		for i := 0; e.listed.Load(); i++ {
			if c.tryLockRead() {
				locked = true
				break
			}
			if i < 100 {
				runtime.Gosched()
			} else {
				time.Sleep(20 * time.Microsecond)
			}
		}
		if !locked {
			if kernel {
				s.rearm(e)
			}
			return false
		}
	}
	ready := c.ready()
	if !ready && kernel {
		ready = c.advance()
		if r := c.watchers(); r != nil {
			r.notifyExcept(e, ready) // other sets holding c
		}
	}
	s.setListed(e, ready, false)
	<-c.rlock
	if kernel {
		s.rearm(e)
	}
	return ready
}

// rearm makes the poller (or e's waiter) report e's descriptor again.
func (s *WaitSet) rearm(e *waitEntry) {
	if e.w != nil {
		e.w.again()
		return
	}
	s.withFD(e.obj, func(fd uintptr) error { return s.p.Rearm(fd, e.id) })
}

// setListed puts e on the ready list or takes it off. With wake, a Wait
// blocked in the poller is woken when e joins the list.
func (s *WaitSet) setListed(e *waitEntry, on bool, wake bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.removed || e.listed.Load() == on {
		return
	}
	if !on {
		s.unlink(e)
		return
	}
	e.prev, e.next = s.tail, nil
	if s.tail != nil {
		s.tail.next = e
	} else {
		s.head = e
	}
	s.tail = e
	e.listed.Store(true)
	if wake && !s.woken {
		s.woken = true
		s.p.Wake()
	}
}

// unlink takes e off the ready list, with s.mu held.
func (s *WaitSet) unlink(e *waitEntry) {
	if !e.listed.Load() {
		return
	}
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
	e.listed.Store(false)
}

// addRegs records e with its object, which tells the set about readiness
// the poller does not see.
func (s *WaitSet) addRegs(e *waitEntry) {
	switch o := e.obj.(type) {
	case *Conn:
		o.regs.add(e)
	case *Listener:
		o.queue.regs.add(e)
	case *Child:
		o.regs.add(e)
	}
}

func (s *WaitSet) removeRegs(e *waitEntry) {
	switch o := e.obj.(type) {
	case *Conn:
		o.regs.remove(e)
	case *Listener:
		o.queue.regs.remove(e)
	case *Child:
		o.regs.remove(e)
	}
}

// withFD runs fn with obj's descriptor, if it has one the poller can
// watch; the descriptor stays open while fn runs.
func (s *WaitSet) withFD(obj Waitable, fn func(fd uintptr) error) error {
	var rc syscall.RawConn
	switch o := obj.(type) {
	case *Conn:
		rc = o.raw
	case *Child:
		rc = o.exitConn()
	}
	if rc == nil {
		return nil
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(fd) }); err != nil {
		return err
	}
	return ferr
}

// Close closes the set and ends a Wait in progress, which returns an error
// wrapping [net.ErrClosed]. The objects in the set stay open. Close is
// idempotent.
func (s *WaitSet) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.mu.Lock()
	s.p.Wake()
	s.mu.Unlock()
	s.wlock <- struct{}{} // the Wait in progress has returned
	defer func() { <-s.wlock }()
	s.mu.Lock()
	entries := make([]*waitEntry, 0, len(s.byObj))
	for _, e := range s.byObj {
		s.unlink(e)
		e.removed = true
		entries = append(entries, e)
	}
	s.byObj, s.byID = nil, nil
	clear(s.reported)
	s.reported = nil
	s.mu.Unlock()
	for _, e := range entries {
		if e.w != nil {
			e.w.stop()
		}
		s.removeRegs(e)
	}
	return s.p.Close()
}
