package npipe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func pipe(t *testing.T, duplex bool) (r, w *Conn) {
	t.Helper()
	r, w, err := Pipe(duplex, nil)
	if err != nil {
		t.Fatalf("Pipe: %v", err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// pattern returns n bytes that differ from one message to the next.
func pattern(n, seed int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + seed)
	}
	return p
}

// sizes around the head, the pipe buffer and beyond.
var sizes = []int{0, 1, 127, 128, 129, HeadSize - 1, HeadSize, HeadSize + 1, 8191, 8192, 8193, 65536 + 3, 1 << 20}

func TestMessageBoundaries(t *testing.T) {
	ctx := testCtx(t)
	for _, duplex := range []bool{true, false} {
		t.Run(fmt.Sprintf("duplex=%v", duplex), func(t *testing.T) {
			r, w := pipe(t, duplex)
			errc := make(chan error, 1)
			go func() {
				for i, n := range sizes {
					if err := w.WriteMsg(ctx, pattern(n, i)); err != nil {
						errc <- fmt.Errorf("WriteMsg(%d bytes): %v", n, err)
						return
					}
				}
				errc <- nil
			}()
			for i, n := range sizes {
				got, err := r.ReadMsg(ctx, 0)
				if err != nil {
					t.Fatalf("ReadMsg #%d: %v", i, err)
				}
				if got == nil || !bytes.Equal(got, pattern(n, i)) {
					t.Fatalf("message #%d: got %d bytes (nil: %v), want %d", i, len(got), got == nil, n)
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Messages written before the read starts complete the reads at once,
// ERROR_MORE_DATA included: the completion packets must still come.
func TestQueuedMessages(t *testing.T) {
	ctx := testCtx(t)
	r, w := pipe(t, true)
	queued := []int{0, 5, HeadSize + 100, 0, 3000}
	for i, n := range queued {
		if err := w.WriteMsg(ctx, pattern(n, i)); err != nil {
			t.Fatalf("WriteMsg(%d): %v", n, err)
		}
	}
	for i, n := range queued {
		got, err := r.ReadMsg(ctx, 0)
		if err != nil || !bytes.Equal(got, pattern(n, i)) {
			t.Fatalf("message #%d: got %d bytes, %v; want %d bytes", i, len(got), err, n)
		}
	}
}

func TestBothDirections(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipe(t, true)
	for i := range 3 {
		if err := a.WriteMsg(ctx, []byte("ping")); err != nil {
			t.Fatal(err)
		}
		if got, err := b.ReadMsg(ctx, 0); err != nil || string(got) != "ping" {
			t.Fatalf("round %d: b got %q, %v", i, got, err)
		}
		if err := b.WriteMsg(ctx, []byte("pong")); err != nil {
			t.Fatal(err)
		}
		if got, err := a.ReadMsg(ctx, 0); err != nil || string(got) != "pong" {
			t.Fatalf("round %d: a got %q, %v", i, got, err)
		}
	}
}

func TestEOF(t *testing.T) {
	ctx := testCtx(t)
	for _, closeEnd := range []string{"server", "client"} {
		t.Run(closeEnd, func(t *testing.T) {
			s, c := pipe(t, true)
			from, to := c, s
			if closeEnd == "server" {
				from, to = s, c
			}
			if err := from.WriteMsg(ctx, []byte("last")); err != nil {
				t.Fatal(err)
			}
			if err := from.WriteMsg(ctx, nil); err != nil {
				t.Fatal(err)
			}
			from.Close()
			if got, err := to.ReadMsg(ctx, 0); err != nil || string(got) != "last" {
				t.Fatalf("got %q, %v; want the message written before Close", got, err)
			}
			if got, err := to.ReadMsg(ctx, 0); err != nil || got == nil || len(got) != 0 {
				t.Fatalf("got %q (nil: %v), %v; want the empty message written before Close", got, got == nil, err)
			}
			for range 2 {
				if got, err := to.ReadMsg(ctx, 0); err != io.EOF {
					t.Fatalf("got %q, %v; want io.EOF", got, err)
				}
			}
			if ok, err := to.Readable(); !ok || err != nil {
				t.Fatalf("Readable at EOF = %v, %v; want true", ok, err)
			}
			err := to.WriteMsg(ctx, []byte("x"))
			if !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("WriteMsg after the peer closed: %v; want an error matching EPIPE", err)
			}
		})
	}
}

func TestOneWay(t *testing.T) {
	ctx := testCtx(t)
	r, w := pipe(t, false)
	if err := r.WriteMsg(ctx, []byte("x")); err == nil {
		t.Fatal("WriteMsg on the read end succeeded")
	}
	if err := w.WriteMsg(ctx, []byte("one way")); err != nil {
		t.Fatal(err)
	}
	if got, err := r.ReadMsg(ctx, 0); err != nil || string(got) != "one way" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := w.ReadMsg(ctx, 0); err == nil || err == io.EOF {
		t.Fatalf("ReadMsg on the write end: %v; want an access error", err)
	}
}

func TestMaxLength(t *testing.T) {
	ctx := testCtx(t)
	for _, tc := range []struct{ n, max int }{{300, 256}, {HeadSize + 1, HeadSize}, {100000, 99999}, {257, 256}} {
		t.Run(fmt.Sprint(tc.n, ">", tc.max), func(t *testing.T) {
			r, w := pipe(t, true)
			go w.WriteMsg(ctx, pattern(tc.n, 0))
			_, err := r.ReadMsg(ctx, int64(tc.max))
			var tl *TooLongError
			if !errors.As(err, &tl) || tl.Len != int64(tc.n) || tl.Max != int64(tc.max) {
				t.Fatalf("got %v; want TooLongError{%d, %d}", err, tc.n, tc.max)
			}
			if _, err2 := r.ReadMsg(ctx, 0); err2 != err {
				t.Fatalf("next ReadMsg: %v; want the same error again", err2)
			}
		})
	}
	r, w := pipe(t, true)
	for _, n := range []int{256, 0} {
		if err := w.WriteMsg(ctx, pattern(n, 1)); err != nil {
			t.Fatal(err)
		}
		if got, err := r.ReadMsg(ctx, 256); err != nil || !bytes.Equal(got, pattern(n, 1)) {
			t.Fatalf("%d bytes under a 256 limit: got %d bytes, %v", n, len(got), err)
		}
	}
}

func TestReadable(t *testing.T) {
	ctx := testCtx(t)
	r, w := pipe(t, true)
	if ok, err := r.Readable(); ok || err != nil {
		t.Fatalf("Readable on an empty pipe = %v, %v", ok, err)
	}
	// An empty message is something to receive: PeekNamedPipe counts no
	// bytes for it, so Readable must not rely on that.
	if err := w.WriteMsg(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Readable(); !ok || err != nil {
		t.Fatalf("Readable with an empty message waiting = %v, %v", ok, err)
	}
	if got, err := r.ReadMsg(ctx, 0); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("got %q, %v; want the empty message", got, err)
	}
	if ok, err := r.Readable(); ok || err != nil {
		t.Fatalf("Readable after the message was read = %v, %v", ok, err)
	}
	big := pattern(HeadSize*3, 2)
	go w.WriteMsg(ctx, big)
	if err := r.WaitReadable(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Readable(); !ok || err != nil {
		t.Fatalf("Readable after WaitReadable = %v, %v", ok, err)
	}
	if got, err := r.ReadMsg(ctx, 0); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
}

// pending arranges for the next wait on an operation to send on the
// returned channel before it blocks: the operation is then in flight.
func pending(t *testing.T) <-chan struct{} {
	ch := make(chan struct{}, 16)
	testHookWait = func(*ioop) {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	t.Cleanup(func() { testHookWait = nil })
	return ch
}

func TestReadCancelKeepsMessages(t *testing.T) {
	ctx := testCtx(t)
	r, w := pipe(t, true)
	started := pending(t)
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := r.ReadMsg(rctx, 0)
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("cancelled ReadMsg: %v; want context.Canceled", err)
	}
	// WaitReadable, cancelled the same way, must not lose anything either.
	wctx, wcancel := context.WithCancel(ctx)
	go func() { errc <- r.WaitReadable(wctx) }()
	<-started
	wcancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("cancelled WaitReadable: %v; want context.Canceled", err)
	}
	testHookWait = nil
	sizes := []int{10, HeadSize * 2, 0}
	go func() {
		for i, n := range sizes {
			if err := w.WriteMsg(ctx, pattern(n, i)); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i, n := range sizes {
		if i == 1 {
			// Read the head of the long message and stop there: the
			// message must stay whole for the next receive.
			if err := r.WaitReadable(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := r.ReadMsg(ctx, 0); err != nil || !bytes.Equal(got, pattern(n, i)) {
			t.Fatalf("message #%d after cancellations: got %d bytes, %v; want %d", i, len(got), err, n)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestReadDeadline(t *testing.T) {
	r, _ := pipe(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := r.ReadMsg(ctx, 0); err != context.DeadlineExceeded {
		t.Fatalf("ReadMsg past the deadline: %v", err)
	}
}

// A write that waits for room in the pipe and is cancelled sends nothing:
// the reader gets the next message whole, never a piece.
func TestWriteCancelSendsNothing(t *testing.T) {
	ctx := testCtx(t)
	r, w := pipe(t, true)
	started := pending(t)
	wctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	big := pattern(1<<20, 3)
	go func() { errc <- w.WriteMsg(wctx, big) }()
	<-started
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("cancelled WriteMsg: %v; want context.Canceled", err)
	}
	testHookWait = nil
	go func() { errc <- w.WriteMsg(ctx, []byte("after")) }()
	if got, err := r.ReadMsg(ctx, 0); err != nil || string(got) != "after" {
		t.Fatalf("got %d bytes %.20q, %v; want the message sent after the cancelled one", len(got), got, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestCloseUnblocks(t *testing.T) {
	ctx := testCtx(t)
	t.Run("read", func(t *testing.T) {
		r, _ := pipe(t, true)
		started := pending(t)
		errc := make(chan error, 1)
		go func() { _, err := r.ReadMsg(ctx, 0); errc <- err }()
		<-started
		r.Close()
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadMsg across Close: %v; want net.ErrClosed", err)
		}
	})
	t.Run("write", func(t *testing.T) {
		_, w := pipe(t, true)
		started := pending(t)
		errc := make(chan error, 1)
		go func() { errc <- w.WriteMsg(ctx, pattern(1<<20, 0)) }()
		<-started
		w.Close()
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("WriteMsg across Close: %v; want net.ErrClosed", err)
		}
	})
	t.Run("waiting for the lock", func(t *testing.T) {
		r, _ := pipe(t, true)
		started := pending(t)
		errc := make(chan error, 2)
		go func() { _, err := r.ReadMsg(ctx, 0); errc <- err }()
		<-started
		go func() { errc <- r.WaitReadable(ctx) }()
		r.Close()
		for range 2 {
			if err := <-errc; !errors.Is(err, net.ErrClosed) {
				t.Fatalf("call across Close: %v; want net.ErrClosed", err)
			}
		}
	})
	t.Run("after", func(t *testing.T) {
		r, _ := pipe(t, true)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := r.ReadMsg(ctx, 0); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadMsg after Close: %v", err)
		}
		if err := r.WriteMsg(ctx, nil); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("WriteMsg after Close: %v", err)
		}
		if _, err := r.Readable(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Readable after Close: %v", err)
		}
	})
}

func TestConcurrentSenders(t *testing.T) {
	ctx := testCtx(t)
	r, w := pipe(t, true)
	const senders, each = 8, 50
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := (s*each + i) * 97 % 20000
				msg := append([]byte{byte(s), byte(i)}, pattern(n, s+i)...)
				if err := w.WriteMsg(ctx, msg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]int, senders)
	for range senders * each {
		got, err := r.ReadMsg(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		s, i := int(got[0]), int(got[1])
		n := (s*each + i) * 97 % 20000
		if i != next[s] || !bytes.Equal(got[2:], pattern(n, s+i)) {
			t.Fatalf("sender %d message %d: out of order or garbled (want message %d, %d bytes; got %d)", s, i, next[s], n, len(got)-2)
		}
		next[s]++
	}
	wg.Wait()
}

func BenchmarkRoundTrip(b *testing.B) {
	for _, n := range []int{64, HeadSize * 4, 1 << 20} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			x, y, err := Pipe(true, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer x.Close()
			defer y.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					m, err := y.ReadMsg(ctx, 0)
					if err != nil || y.WriteMsg(ctx, m) != nil {
						return
					}
				}
			}()
			msg := pattern(n, 0)
			b.SetBytes(int64(2 * n))
			for b.Loop() {
				if err := x.WriteMsg(ctx, msg); err != nil {
					b.Fatal(err)
				}
				if _, err := x.ReadMsg(ctx, 0); err != nil {
					b.Fatal(err)
				}
			}
			x.Close()
			<-done
		})
	}
}
