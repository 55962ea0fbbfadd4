package mpconn

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestTryRecvBytes(t *testing.T) {
	c, raw := rawPair(t, nil)
	if _, err := c.TryRecvBytes(); err != ErrWouldBlock {
		t.Fatalf("empty: %v", err)
	}
	p := bytes.Repeat([]byte("q"), 100000)
	frame := append(hdr(len(p)), p...)
	mustWrite(t, raw, frame[:70000])
	for i := 0; i < 3; i++ {
		if _, err := c.TryRecvBytes(); err != ErrWouldBlock {
			t.Fatalf("partial message: %v", err)
		}
	}
	mustWrite(t, raw, frame[70000:])
	var got []byte
	var err error
	for got == nil {
		got, err = c.TryRecvBytes()
		if err != nil && err != ErrWouldBlock {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, p) {
		t.Fatal("message differs")
	}
	raw.Close()
	for err = ErrWouldBlock; err == ErrWouldBlock; {
		_, err = c.TryRecvBytes()
	}
	if err != io.EOF {
		t.Fatalf("at EOF: %v", err)
	}
}

// Non-blocking sends into a full socket: every message TrySendBytes
// accepted (wholly or in part) arrives whole, in order; refused ones never
// do.
func TestTrySendBytesKeepsFraming(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	var sent [][]byte
	partial := false
	for i := 0; !partial && i < 10000; i++ {
		p := bytes.Repeat([]byte{byte(i)}, 50000+i)
		err := a.TrySendBytes(p)
		var pe *partialSendError
		switch {
		case err == nil:
			sent = append(sent, p)
		case errors.As(err, &pe) && errors.Is(err, ErrWouldBlock):
			sent = append(sent, p)
			partial = true
		case errors.Is(err, ErrWouldBlock):
			// Not sent; try once more with the socket still full, then stop.
			if err := a.TrySendBytes([]byte("x")); !errors.Is(err, ErrWouldBlock) {
				t.Fatalf("second send into a full socket: %v", err)
			}
			partial = true
		default:
			t.Fatal(err)
		}
	}
	if !partial {
		t.Fatal("the socket never filled")
	}
	done := make(chan error, 1)
	go func() {
		if err := a.Flush(ctx); err != nil {
			done <- err
			return
		}
		done <- a.SendBytes(ctx, []byte("end"))
	}()
	for i, want := range sent {
		got, err := b.RecvBytes(ctx)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %v (len %d, want %d)", i, err, len(got), len(want))
		}
	}
	if got, err := b.RecvBytes(ctx); err != nil || string(got) != "end" {
		t.Fatalf("last: %q %v", got, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
