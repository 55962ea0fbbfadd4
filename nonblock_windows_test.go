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
