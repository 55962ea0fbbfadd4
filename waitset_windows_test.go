package mpconn

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// On Windows a WaitSet watches a named-pipe Conn with a goroutine that
// keeps a read pending on the pipe. What that read takes must reach the
// receives whole: an empty message, one longer than the pipe's first read
// (4096 bytes), and the one pending when the Conn leaves the set. The
// long message does not fit in the pipe's buffer (8 KiB): its send ends
// once the receiver has read it, so it is sent from another goroutine.
func TestWaitSetPipeReadAhead(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	s := newSet(t)
	if err := s.Add(b); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789"), 1234)
	done, cancel := context.WithCancel(ctx)
	cancel()
	send := func(m []byte) chan error {
		sent := make(chan error, 1)
		go func() { sent <- a.SendBytes(ctx, m) }()
		return sent
	}
	for _, m := range [][]byte{{}, big, []byte("x")} {
		sent := send(m)
		got, err := s.Wait(ctx, -1)
		wantReady(t, got, err, b)
		// Ready means a whole message: the receive does not wait.
		r, err := b.RecvBytes(done)
		if err != nil || !bytes.Equal(r, m) {
			t.Fatalf("receive after Wait: %d bytes, %v; want %d bytes", len(r), err, len(m))
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		got, err = s.Wait(ctx, 0)
		wantReady(t, got, err)
	}
	// The set's read is pending when b leaves it; the message sent next
	// arrives whole, by a plain receive.
	if err := s.Remove(b); err != nil {
		t.Fatal(err)
	}
	sent := send(big)
	if r, err := b.RecvBytes(ctx); err != nil || !bytes.Equal(r, big) {
		t.Fatalf("receive after Remove: %d bytes, %v", len(r), err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	// And one that arrived while b was in the set, after the set's read
	// took its start, stays for the receive too.
	if err := s.Add(b); err != nil {
		t.Fatal(err)
	}
	sent = send(big)
	got, err := s.Wait(ctx, -1)
	wantReady(t, got, err, b)
	s.Close()
	if r, err := b.RecvBytes(done); err != nil || !bytes.Equal(r, big) {
		t.Fatalf("receive after Close of the set: %d bytes, %v", len(r), err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// One pipe Conn in two sets: each has its own waiter; both report the
// messages, both see them go.
func TestWaitSetPipeTwoSets(t *testing.T) {
	ctx := testCtx(t)
	s1, s2 := newSet(t), newSet(t)
	a, b := pipePair(t)
	s1.Add(b)
	s2.Add(b)
	a.SendBytes(ctx, []byte("x"))
	a.SendBytes(ctx, []byte("y"))
	got, err := s1.Wait(ctx, -1)
	wantReady(t, got, err, b)
	got, err = s2.Wait(ctx, -1)
	wantReady(t, got, err, b)
	for _, want := range []string{"x", "y"} {
		if m, err := b.RecvBytes(ctx); err != nil || string(m) != want {
			t.Fatalf("got %q %v, want %q", m, err, want)
		}
	}
	for _, s := range []*WaitSet{s1, s2} {
		got, err = s.Wait(ctx, 0)
		wantReady(t, got, err)
	}
	s1.Close()
	a.SendBytes(ctx, nil)
	got, err = s2.Wait(ctx, -1)
	wantReady(t, got, err, b)
}

// A receive in another goroutine takes the first of two messages while
// the set waits; the set reports the second.
func TestWaitSetPipeConcurrentReceiver(t *testing.T) {
	ctx := testCtx(t)
	s := newSet(t)
	a, b := pipePair(t)
	if err := s.Add(b); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		recvd := make(chan error, 1)
		go func() {
			_, err := b.RecvBytes(ctx)
			recvd <- err
		}()
		waited := make(chan error, 1)
		go func() {
			got, err := s.Wait(ctx, -1)
			if err == nil && (len(got) != 1 || got[0] != b) {
				err = errors.New("wrong objects ready")
			}
			waited <- err
		}()
		a.SendBytes(ctx, []byte("x"))
		a.SendBytes(ctx, []byte("y"))
		if err := <-recvd; err != nil {
			t.Fatal(err)
		}
		if err := <-waited; err != nil {
			t.Fatal(err)
		}
		got, err := s.Wait(ctx, -1)
		wantReady(t, got, err, b)
		if _, err := b.RecvBytes(ctx); err != nil {
			t.Fatal(err)
		}
		got, err = s.Wait(ctx, 0)
		wantReady(t, got, err)
	}
}
