package npipe

import (
	"bytes"
	"errors"
	"net"
	"testing"
)

// Both ends of a Pipe were opened by this process: the peer is not known
// until recorded, and a recorded one wins. After Close it is 0 again
// unless recorded (the handle is gone).
func TestPeerProcess(t *testing.T) {
	r, w := pipe(t, true)
	if p := r.PeerProcess(); p != 0 {
		t.Fatalf("a Pipe end names process %d; want 0 (both ends are ours)", p)
	}
	w.SetPeerProcess(1234)
	if p := w.PeerProcess(); p != 1234 {
		t.Fatalf("recorded 1234, got %d", p)
	}
	if p := r.PeerProcess(); p != 0 {
		t.Fatalf("the other end got %d", p)
	}
	r.Close()
	if p := r.PeerProcess(); p != 0 {
		t.Fatalf("after Close: %d", p)
	}
}

// Stream.Readable: false on an empty pipe, true for a message in the
// pipe (an empty one too) and for the rest of a message a Read has begun,
// and true at the end of the pipe; what Readable takes is read whole.
func TestStreamReadable(t *testing.T) {
	ctx := testCtx(t)
	r, w := pipe(t, true)
	s := NewStream(r, 0)
	want := func(ready bool) {
		t.Helper()
		if ok, err := s.Readable(); ok != ready || err != nil {
			t.Fatalf("Readable = %v, %v; want %v", ok, err, ready)
		}
	}
	want(false)
	msgs := [][]byte{{}, pattern(HeadSize+100, 1)}
	for _, m := range msgs {
		if err := w.WriteMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range msgs {
		want(true)
		want(true) // the head it read stays
		// Read in 3-byte pieces, asking before each.
		var got []byte
		for len(got) < 4+len(m) {
			want(true)
			var b [3]byte
			n, err := s.Read(b[:])
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b[:n]...)
		}
		if !bytes.Equal(got[4:], m) {
			t.Fatalf("read %d bytes of payload, want %d", len(got)-4, len(m))
		}
	}
	want(false)
	w.Close()
	want(true)
	if _, err := s.Read(make([]byte, 10)); err == nil {
		t.Fatal("Read at the end: no error")
	}
	r.Close()
	if _, err := s.Readable(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Readable after Close: %v", err)
	}
}
