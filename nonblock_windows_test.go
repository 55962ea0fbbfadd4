package mpconn

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TryRecvBytes on a named pipe: nothing there is ErrWouldBlock; a message
// that has arrived (its send returned) is taken whole, an empty one and
// one longer than the pipe's first read (4096 bytes) included; the end
// of the pipe is io.EOF.
func TestTryRecvBytesPipe(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	if _, err := b.TryRecvBytes(); err != ErrWouldBlock {
		t.Fatalf("empty pipe: %v", err)
	}
	for _, m := range [][]byte{{}, []byte("x"), bytes.Repeat([]byte("y"), 6000)} {
		if err := a.SendBytes(ctx, m); err != nil {
			t.Fatal(err)
		}
		got, err := b.TryRecvBytes()
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("after a send of %d bytes: %d bytes, %v", len(m), len(got), err)
		}
	}
	if _, err := b.TryRecvBytes(); err != ErrWouldBlock {
		t.Fatalf("drained pipe: %v", err)
	}
	a.Close()
	if _, err := b.TryRecvBytes(); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
}

// TryRecvBytes keeps message boundaries however the messages sit: several
// queued in the pipe (taken one per call, in order), one that Poll has
// made whole in the Conn, one that a WaitSet's read took the start of,
// and one longer than the pipe's buffer (its send ends only once the
// receiver reads it, so Poll waits for it first). None is lost when a
// TryRecvBytes finds nothing between them.
func TestTryRecvBytesPipeBoundaries(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	queued := [][]byte{[]byte("one"), {}, bytes.Repeat([]byte("2"), 5000), []byte("three")}
	for _, m := range queued {
		if err := a.SendBytes(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range queued {
		got, err := b.TryRecvBytes()
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("queued message %d: %d bytes, %v; want %d", i, len(got), err, len(m))
		}
	}
	if _, err := b.TryRecvBytes(); err != ErrWouldBlock {
		t.Fatalf("after the queued ones: %v", err)
	}

	// Made whole by Poll, then taken.
	if err := a.SendBytes(ctx, []byte("polled")); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Poll(ctx, 0); !ok || err != nil {
		t.Fatalf("Poll: %v, %v", ok, err)
	}
	if got, err := b.TryRecvBytes(); err != nil || string(got) != "polled" {
		t.Fatalf("after Poll: %q, %v", got, err)
	}

	// Reported by a WaitSet, whose read took the message's start.
	ws := newSet(t)
	if err := ws.Add(b); err != nil {
		t.Fatal(err)
	}
	if err := a.SendBytes(ctx, bytes.Repeat([]byte("w"), 7000)); err != nil {
		t.Fatal(err)
	}
	got, err := ws.Wait(ctx, -1)
	wantReady(t, got, err, b)
	if m, err := b.TryRecvBytes(); err != nil || !bytes.Equal(m, bytes.Repeat([]byte("w"), 7000)) {
		t.Fatalf("after the set reported it: %d bytes, %v", len(m), err)
	}
	if err := ws.Remove(b); err != nil {
		t.Fatal(err)
	}

	// Longer than the pipe's buffer.
	big := bytes.Repeat([]byte("0123456789"), 10000)
	sent := make(chan error, 1)
	go func() { sent <- a.SendBytes(ctx, big) }()
	if ok, err := b.Poll(ctx, -1); !ok || err != nil {
		t.Fatalf("Poll for the long message: %v, %v", ok, err)
	}
	if m, err := b.TryRecvBytes(); err != nil || !bytes.Equal(m, big) {
		t.Fatalf("the long message: %d bytes, %v", len(m), err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if _, err := b.TryRecvBytes(); err != ErrWouldBlock {
		t.Fatalf("at the end: %v", err)
	}
}

// TrySendBytes on a named pipe sends a message whole or not at all: small
// messages fill the pipe's buffer until one is refused; the receiver gets
// exactly the accepted ones, in order; once it has read them the pipe
// takes messages again. A message larger than the buffer is refused
// while the peer does not read.
func TestTrySendBytesPipe(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	var sent [][]byte
	refused := false
	for i := 0; !refused && i < 10000; i++ {
		p := bytes.Repeat([]byte{byte(i)}, 100+i%50)
		switch err := a.TrySendBytes(p); {
		case err == nil:
			sent = append(sent, p)
		case errors.Is(err, ErrWouldBlock):
			refused = true
		default:
			t.Fatal(err)
		}
	}
	if !refused {
		t.Fatal("the pipe never filled")
	}
	if err := a.TrySendBytes(make([]byte, 20000)); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("a large message into a full pipe: %v", err)
	}
	// A blocking send after the refusals waits for the reader.
	done := make(chan error, 1)
	go func() { done <- a.SendBytes(ctx, []byte("end")) }()
	for i, want := range append(sent, []byte("end")) {
		got, err := b.RecvBytes(ctx)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %v (%d bytes, want %d)", i, err, len(got), len(want))
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Drained: the pipe takes a message again.
	if err := a.TrySendBytes([]byte("again")); err != nil {
		t.Fatalf("after the reader drained the pipe: %v", err)
	}
	if got, err := b.RecvBytes(ctx); err != nil || string(got) != "again" {
		t.Fatalf("got %q, %v", got, err)
	}
}
