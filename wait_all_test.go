package mpconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"testing"
	"time"
)

// waiter is Wait or a WaitSet holding objs, so that one test body covers
// both.
type waiter func(ctx context.Context, timeout time.Duration) ([]Waitable, error)

func eachWaiter(t *testing.T, objs []Waitable, fn func(t *testing.T, wait waiter)) {
	t.Helper()
	t.Run("Wait", func(t *testing.T) {
		fn(t, func(ctx context.Context, timeout time.Duration) ([]Waitable, error) {
			return Wait(ctx, timeout, objs...)
		})
	})
	t.Run("WaitSet", func(t *testing.T) {
		s, err := NewWaitSet()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, o := range objs {
			if err := s.Add(o); err != nil {
				t.Fatal(err)
			}
		}
		fn(t, s.Wait)
	})
}

func wantReady(t *testing.T, got []Waitable, err error, want ...Waitable) {
	t.Helper()
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ready: got %v, want %v", names(got), names(want))
	}
}

// waitForAll checks that blocking waits report exactly want, in that
// order. Elsewhere the first wait must report them all. A WaitSet on
// Windows learns of a named pipe's message from a goroutine that reads
// the pipe (see WaitSet), so there an object made ready just before may
// come in a later wait, and the reports of successive waits are merged.
func waitForAll(t *testing.T, ctx context.Context, wait waiter, want ...Waitable) {
	t.Helper()
	waitMerged(t, ctx, wait, runtime.GOOS == "windows", want...)
}

// waitMerged is waitForAll, merging the reports of successive waits when
// merge is set.
func waitMerged(t *testing.T, ctx context.Context, wait waiter, merge bool, want ...Waitable) {
	t.Helper()
	got, err := wait(ctx, -1)
	for merge && err == nil && len(got) < len(want) {
		var more []Waitable
		if more, err = wait(ctx, -1); err != nil {
			break
		}
		all := append(got, more...)
		in := make(map[Waitable]bool)
		for _, o := range all {
			in[o] = true
		}
		got = nil
		for _, o := range append(want[:len(want):len(want)], all...) {
			if in[o] {
				got = append(got, o) // what is not wanted comes last
				delete(in, o)
			}
		}
	}
	wantReady(t, got, err, want...)
}

func names(objs []Waitable) []string {
	var s []string
	for _, o := range objs {
		switch o := o.(type) {
		case *Conn:
			if fd, err := o.Fd(); err == nil {
				s = append(s, "conn"+itoa(fd))
			} else {
				s = append(s, fmt.Sprintf("conn%p", o)) // a named pipe
			}
		case *Listener:
			s = append(s, "listener")
		case *Child:
			s = append(s, "child"+itoa(o.Pid()))
		default:
			s = append(s, "?")
		}
	}
	return s
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + itoa(n%10)
}

func TestWaitTimeouts(t *testing.T) {
	a, b := pipePair(t)
	c, d := pipePair(t)
	eachWaiter(t, []Waitable{b, d}, func(t *testing.T, wait waiter) {
		ctx := testCtx(t)
		got, err := wait(ctx, 0)
		wantReady(t, got, err)
		got, err = wait(ctx, 20*time.Millisecond)
		wantReady(t, got, err)

		// A message that arrives during a positive timeout.
		go func() {
			time.Sleep(10 * time.Millisecond)
			c.SendBytes(ctx, []byte("d"))
		}()
		got, err = wait(ctx, 30*time.Second)
		wantReady(t, got, err, d)
		got, err = wait(ctx, 0)
		wantReady(t, got, err, d) // still there: nothing received it

		// Negative waits until ready; both are reported, in order.
		go func() {
			time.Sleep(10 * time.Millisecond)
			a.SendBytes(ctx, []byte("b"))
		}()
		if _, err := d.RecvBytes(ctx); err != nil {
			t.Fatal(err)
		}
		got, err = wait(ctx, -1)
		wantReady(t, got, err, b)
		c.SendBytes(ctx, []byte("d"))
		waitForAll(t, ctx, wait, b, d)
		for _, x := range []*Conn{b, d} {
			if _, err := x.RecvBytes(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got, err = wait(ctx, 0)
		wantReady(t, got, err)
	})
}

func TestWaitEOF(t *testing.T) {
	a, b := pipePair(t)
	c, raw := rawPair(t, nil)
	eachWaiter(t, []Waitable{b, c}, func(t *testing.T, wait waiter) {
		ctx := testCtx(t)
		got, err := wait(ctx, 0)
		wantReady(t, got, err)
	})
	// EOF at a boundary, and EOF in the middle of a message.
	a.Close()
	mustWrite(t, raw, hdr(10)[:2])
	raw.Close()
	eachWaiter(t, []Waitable{b, c}, func(t *testing.T, wait waiter) {
		ctx := testCtx(t)
		waitForAll(t, ctx, wait, b, c)
	})
	ctx := testCtx(t)
	if _, err := b.RecvBytes(ctx); err != io.EOF {
		t.Fatalf("b: %v", err)
	}
	if _, err := c.RecvBytes(ctx); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("c: %v", err)
	}
	// Still ready: the receive keeps returning at once.
	got, err := Wait(ctx, 0, b, c)
	wantReady(t, got, err, b, c)
}

func TestWaitListener(t *testing.T) {
	l, err := Listen("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	eachWaiter(t, []Waitable{l}, func(t *testing.T, wait waiter) {
		ctx := testCtx(t)
		got, err := wait(ctx, 0)
		wantReady(t, got, err)
		got, err = wait(ctx, 20*time.Millisecond)
		wantReady(t, got, err)
		c, err := Dial(ctx, l.Address(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got, err = wait(ctx, -1)
		wantReady(t, got, err, l)
		got, err = wait(ctx, 0)
		wantReady(t, got, err, l)
		s, err := l.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got, err = wait(ctx, 0)
		wantReady(t, got, err)
		// Accept after Wait does not block.
		c2, err := Dial(ctx, l.Address(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		got, err = wait(ctx, -1)
		wantReady(t, got, err, l)
		done, cancel := context.WithCancel(ctx)
		cancel()
		s2, err := l.Accept(done)
		if err != nil {
			t.Fatalf("accept after wait: %v", err)
		}
		s2.Close()
	})
}

func TestWaitCancel(t *testing.T) {
	_, b := pipePair(t)
	l, err := Listen("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	eachWaiter(t, []Waitable{b, l}, func(t *testing.T, wait waiter) {
		ctx, cancel := context.WithCancel(testCtx(t))
		go func() {
			time.Sleep(20 * time.Millisecond)
			cancel()
		}()
		got, err := wait(ctx, -1)
		if !errors.Is(err, context.Canceled) || got != nil {
			t.Fatalf("got %v %v", got, err)
		}
		// A cancellation before a positive timeout is an error too.
		ctx2, cancel2 := context.WithTimeout(testCtx(t), 20*time.Millisecond)
		defer cancel2()
		if _, err := wait(ctx2, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestWaitErrors(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	a.Close()
	if _, err := Wait(ctx, 0, b, a); !errors.Is(err, net.ErrClosed) {
		t.Errorf("closed conn: %v", err)
	}
	r, w, err := PipeOneWay(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := Wait(ctx, 0, w); !errors.Is(err, ErrWriteOnly) {
		t.Errorf("write end: %v", err)
	}
	x, y := net.Pipe()
	nc := NewConn(x, nil)
	defer nc.Close()
	defer y.Close()
	if _, err := Wait(ctx, 0, nc); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("conn without descriptor: %v", err)
	}
	l, err := Listen("", nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := Wait(ctx, 0, l); !errors.Is(err, net.ErrClosed) {
		t.Errorf("closed listener: %v", err)
	}
	if _, err := Wait(ctx, 0, nil); err == nil {
		t.Errorf("nil object accepted")
	}
	if _, err := Wait(ctx, 0, (*Conn)(nil)); err == nil {
		t.Errorf("nil conn accepted")
	}
	// The read end of a one-way pipe works.
	w.SendBytes(ctx, []byte("x"))
	got, err := Wait(ctx, -1, r)
	wantReady(t, got, err, r)
}

// Duplicates are reported once, at their first place.
func TestWaitDuplicates(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	c, d := pipePair(t)
	a.SendBytes(ctx, nil)
	c.SendBytes(ctx, nil)
	got, err := Wait(ctx, -1, d, b, d)
	wantReady(t, got, err, d, b)
}

// With authentication the Listener is ready once a handshake has ended,
// and Accept then returns at once: the connection, or the handshake's
// error.
func TestWaitListenerAuth(t *testing.T) {
	key := []byte("key")
	l, err := Listen("", &ListenOptions{AuthKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := testCtx(t)
	dialed := make(chan *Conn, 1)
	go func() {
		c, _ := Dial(ctx, l.Address(), &DialOptions{AuthKey: key})
		dialed <- c
	}()
	defer func() {
		if c := <-dialed; c != nil {
			c.Close()
		}
	}()
	got, err := Wait(ctx, -1, l)
	wantReady(t, got, err, l)
	done, cancel := context.WithCancel(ctx)
	cancel()
	c, err := l.Accept(done)
	var he *HandshakeError
	switch {
	case err == nil:
		c.Close()
	case errors.As(err, &he):
	default:
		t.Fatalf("accept after wait: %v", err)
	}
}
