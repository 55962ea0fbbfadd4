package mpconn

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// A receive awaiting a reply from a fast peer polls first: a reply that
// is already there is taken by the poll, and the Conn keeps spinning.
func TestReplySpinTakesReadyReply(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	if err := a.SendBytes(ctx, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if !a.replyDue.Load() {
		t.Fatal("no reply due after a send")
	}
	a.rd.fast = true // as after a fast answer
	if err := b.SendBytes(ctx, []byte("pong")); err != nil {
		t.Fatal(err)
	}
	got, err := a.RecvBytes(ctx)
	if err != nil || string(got) != "pong" {
		t.Fatalf("reply: %q, %v", got, err)
	}
	if a.replyDue.Load() || !a.rd.fast {
		t.Fatalf("after a reply caught spinning: replyDue %v, fast %v; want false, true", a.replyDue.Load(), a.rd.fast)
	}
}

// A spin that finds nothing parks, gets the late reply whole, and stops
// spinning for a peer that answers slowly.
func TestReplySpinSlowPeer(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	if err := a.SendBytes(ctx, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	a.rd.fast = true
	go func() {
		time.Sleep(50 * time.Millisecond)
		b.SendBytes(ctx, []byte("late pong"))
	}()
	got, err := a.RecvBytes(ctx)
	if err != nil || string(got) != "late pong" {
		t.Fatalf("reply: %q, %v", got, err)
	}
	if a.rd.fast {
		t.Fatal("still spinning for a peer that took 50ms to answer")
	}
}

// Close ends a receive that was spinning for a reply, as any other.
func TestReplySpinClose(t *testing.T) {
	a, _ := pipePair(t)
	ctx := testCtx(t)
	if err := a.SendBytes(ctx, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	a.rd.fast = true
	done := make(chan error, 1)
	go func() {
		_, err := a.RecvBytes(ctx)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	a.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("receive after Close: %v, want net.ErrClosed", err)
	}
}

// A negative ReplySpin turns spinning off: no reply is ever awaited.
func TestReplySpinOff(t *testing.T) {
	a, b, err := Pipe(&ConnOptions{ReplySpin: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	ctx := testCtx(t)
	if err := a.SendBytes(ctx, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if a.replyDue.Load() {
		t.Fatal("reply due with spinning off")
	}
}

// Many round trips with an in-process echo, spinning or not: every reply
// is the right one, in order.
func TestReplySpinRoundTrips(t *testing.T) {
	for _, spin := range []time.Duration{0, -1, time.Millisecond} {
		t.Run(fmt.Sprint(spin), func(t *testing.T) {
			a, b, err := Pipe(&ConnOptions{ReplySpin: spin})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			ctx := testCtx(t)
			echoed := make(chan error, 1)
			go func() {
				defer b.Close()
				for {
					m, err := b.RecvBytes(ctx)
					if err != nil {
						echoed <- err
						return
					}
					if err := b.SendBytes(ctx, m); err != nil {
						echoed <- err
						return
					}
				}
			}()
			for i := range 2000 {
				want := fmt.Sprintf("message %d %s", i, make([]byte, i%300))
				if err := a.SendBytes(ctx, []byte(want)); err != nil {
					t.Fatal(err)
				}
				got, err := a.RecvBytes(ctx)
				if err != nil || string(got) != want {
					t.Fatalf("round trip %d: %q, %v", i, got, err)
				}
			}
			a.Close()
			if err := <-echoed; err != io.EOF {
				t.Fatalf("echo ended with %v, want io.EOF", err)
			}
		})
	}
}
