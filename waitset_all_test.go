package mpconn

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

func newSet(t testing.TB) *WaitSet {
	t.Helper()
	s, err := NewWaitSet()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestWaitSetAddRemove(t *testing.T) {
	ctx := testCtx(t)
	s := newSet(t)
	a, b := pipePair(t)
	c, d := pipePair(t)
	for _, x := range []*Conn{b, d} {
		if err := s.Add(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add(b); err == nil {
		t.Error("added twice")
	}
	if s.Len() != 2 {
		t.Errorf("Len %d", s.Len())
	}
	a.SendBytes(ctx, []byte("1"))
	c.SendBytes(ctx, []byte("2"))
	// d's message may not have been reported yet.
	waitMerged(t, ctx, s.Wait, true, b, d)
	if err := s.Remove(b); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(b); !errors.Is(err, errNotInSet) {
		t.Errorf("second remove: %v", err)
	}
	got, err := s.Wait(ctx, 0)
	wantReady(t, got, err, d)
	// Added again, it comes last, and its buffered or waiting message
	// is seen at once.
	if err := s.Add(b); err != nil {
		t.Fatal(err)
	}
	got, err = s.Wait(ctx, 0)
	wantReady(t, got, err, d, b)
	if s.Len() != 2 {
		t.Errorf("Len %d", s.Len())
	}
}

func TestWaitSetClose(t *testing.T) {
	ctx := testCtx(t)
	s, err := NewWaitSet()
	if err != nil {
		t.Fatal(err)
	}
	a, b := pipePair(t)
	if err := s.Add(b); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := s.Wait(ctx, -1)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("blocked Wait: %v", err)
	}
	if _, err := s.Wait(ctx, 0); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Wait after Close: %v", err)
	}
	if err := s.Add(a); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Add after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// The Conn is untouched and in no set any more.
	a.SendBytes(ctx, []byte("x"))
	if m, err := b.RecvBytes(ctx); err != nil || string(m) != "x" {
		t.Fatal(m, err)
	}
	if b.watchers() != nil {
		t.Error("the Conn still knows the closed set")
	}
}

// A Conn closed while in the set is ready (its receives fail at once) once
// the set notices; the set's Wait itself keeps working.
func TestWaitSetClosedMember(t *testing.T) {
	ctx := testCtx(t)
	s := newSet(t)
	a, b := pipePair(t)
	c, d := pipePair(t)
	s.Add(b)
	s.Add(d)
	a.SendBytes(ctx, []byte("x"))
	got, err := s.Wait(ctx, -1)
	wantReady(t, got, err, b)
	b.Close()
	c.SendBytes(ctx, []byte("y"))
	waitForAll(t, ctx, s.Wait, b, d)
	if _, err := b.RecvBytes(ctx); !errors.Is(err, net.ErrClosed) {
		t.Fatal(err)
	}
	if err := s.Remove(b); err != nil {
		t.Fatal(err)
	}
	got, err = s.Wait(ctx, 0)
	wantReady(t, got, err, d)
}

// Waits from several goroutines take turns and all return.
func TestWaitSetConcurrentWaits(t *testing.T) {
	ctx := testCtx(t)
	s := newSet(t)
	a, b := pipePair(t)
	s.Add(b)
	a.SendBytes(ctx, nil)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.Wait(ctx, -1)
			if err != nil || len(got) != 1 {
				t.Errorf("%v %v", got, err)
			}
		}()
	}
	wg.Wait()
}

func TestWaitSetAddErrors(t *testing.T) {
	s := newSet(t)
	a, _ := pipePair(t)
	a.Close()
	if err := s.Add(a); !errors.Is(err, net.ErrClosed) {
		t.Errorf("closed conn: %v", err)
	}
	x, y := net.Pipe()
	defer y.Close()
	nc := NewConn(x, nil)
	defer nc.Close()
	if err := s.Add(nc); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("no descriptor: %v", err)
	}
	if err := s.Add(nil); err == nil {
		t.Error("nil added")
	}
	if s.Len() != 0 {
		t.Errorf("Len %d after failed adds", s.Len())
	}
}

// A listener in a set becomes ready from the accept loop's goroutine,
// waking a Wait blocked in the poller.
func TestWaitSetListenerWakes(t *testing.T) {
	ctx := testCtx(t)
	l, err := Listen("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := newSet(t)
	s.Add(l)
	dialed := make(chan *Conn, 1)
	go func() {
		time.Sleep(20 * time.Millisecond)
		c, _ := Dial(ctx, l.Address(), nil)
		dialed <- c
	}()
	defer func() {
		if c := <-dialed; c != nil {
			c.Close()
		}
	}()
	got, err := s.Wait(ctx, -1)
	wantReady(t, got, err, l)
	l.Close()
	got, err = s.Wait(ctx, 0)
	wantReady(t, got, err, l) // closed: Accept returns at once
}

// A Wait that finds another in progress waits its turn only within its
// own timeout.
func TestWaitSetWaitWhileWaiting(t *testing.T) {
	ctx := testCtx(t)
	s := newSet(t)
	a, b := pipePair(t)
	s.Add(b)
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := s.Wait(cctx, -1)
		errc <- err
	}()
	// Whether or not the first Wait has started, these return nothing.
	got, err := s.Wait(ctx, 0)
	wantReady(t, got, err)
	got, err = s.Wait(ctx, 10*time.Millisecond)
	wantReady(t, got, err)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	a.SendBytes(ctx, nil)
	got, err = s.Wait(ctx, -1)
	wantReady(t, got, err, b)
}

// A Conn closed while in a set is reported ready: its receives fail at
// once with net.ErrClosed.
func TestWaitSetReportsClosedConn(t *testing.T) {
	ctx := testCtx(t)
	s, err := NewWaitSet()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, _ := pipePair(t)
	if err := s.Add(a); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Wait(ctx, 0); err != nil || len(got) != 0 {
		t.Fatalf("before Close: %v %v", got, err)
	}
	done := make(chan []Waitable, 1)
	go func() {
		got, err := s.Wait(ctx, -1)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	a.Close()
	if got := <-done; len(got) != 1 || got[0] != Waitable(a) {
		t.Fatalf("after Close: %v", got)
	}
}

// Senders write messages of all sizes, some longer than the read-ahead
// buffer (and, on Windows, than a pipe's buffer and its first read), and
// then close. One loop waits and receives: every receive after Wait
// completes without waiting (it is given a cancelled context), every
// message arrives once and in order, and every EOF is seen. Windows runs
// fewer and smaller messages: under Wine each one costs milliseconds.
func TestWaitSetStress(t *testing.T) {
	ctx := testCtx(t)
	s := newSet(t)
	pipes, msgs, big := 16, 150, 200000
	if runtime.GOOS == "windows" {
		pipes, msgs, big = 4, 40, 24000
	}
	recv := make(map[*Conn]int)
	sent := make(chan error, pipes)
	for p := 0; p < pipes; p++ {
		a, b := pipePair(t)
		if err := s.Add(b); err != nil {
			t.Fatal(err)
		}
		recv[b] = 0
		go func() {
			defer a.Close()
			r := rand.New(rand.NewPCG(uint64(p), 7))
			for i := 0; i < msgs; i++ {
				size := r.IntN(100)
				if r.IntN(10) == 0 {
					size = r.IntN(big)
				}
				m := make([]byte, size+4)
				m[0], m[1], m[2], m[3] = byte(i), byte(i>>8), byte(p), 0xAB
				if err := a.SendBytes(ctx, m); err != nil {
					sent <- err
					return
				}
			}
			sent <- nil
		}()
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	for open := pipes; open > 0; {
		ready, err := s.Wait(ctx, -1)
		if err != nil {
			t.Fatal(err)
		}
		if len(ready) == 0 {
			t.Fatal("Wait(-1) returned nothing")
		}
		for _, o := range ready {
			c := o.(*Conn)
			m, err := c.RecvBytes(done)
			if err == io.EOF {
				if recv[c] != msgs {
					t.Fatalf("EOF after %d messages", recv[c])
				}
				s.Remove(c)
				open--
				continue
			}
			if err != nil {
				t.Fatalf("receive after Wait: %v", err)
			}
			if int(m[0])|int(m[1])<<8 != recv[c] || m[3] != 0xAB {
				t.Fatalf("message %d out of order: % x", recv[c], m[:4])
			}
			recv[c]++
		}
	}
	for p := 0; p < pipes; p++ {
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("%d left in the set", s.Len())
	}
}
