package msgio

import (
	"bytes"
	"context"
	"testing"
)

// Staged shows the next whole message, wherever the Reader keeps it (in
// the read-ahead buffer, header consumed or not, or gathered outside it),
// and consumes nothing: the messages are then received in order.
func TestStaged(t *testing.T) {
	ctx := context.Background()
	stream, want := frames(5, 0, 40000, 7)
	r, _ := newScript(stream, 1000)
	if _, ok := r.Staged(); ok {
		t.Fatal("Staged before any read")
	}
	for i, p := range want {
		// Nothing whole yet for the large one after a single read.
		if i == 2 {
			if err := r.Fill(); err != nil {
				t.Fatal(err)
			}
			if _, ok := r.Staged(); ok {
				t.Fatal("Staged with a part of a message")
			}
		}
		if _, _, err := r.ReadMessage(ctx, 1<<16, nil, true); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			got, ok := r.Staged()
			if !ok || !bytes.Equal(got, p) {
				t.Fatalf("message %d: Staged gave %d bytes, %v; want %d", i, len(got), ok, len(p))
			}
		}
		got, _, err := r.ReadMessage(ctx, 1<<16, nil, false)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("message %d after Staged: %d bytes, %v", i, len(got), err)
		}
	}
	// Read ahead: the header not consumed yet.
	stream, want = frames(3, 4)
	r, _ = newScript(stream, len(stream))
	if err := r.Fill(); err != nil {
		t.Fatal(err)
	}
	if got, ok := r.Staged(); !ok || !bytes.Equal(got, want[0]) {
		t.Fatalf("read ahead: %q, %v", got, ok)
	}
	for _, p := range want {
		if got, _, err := r.ReadMessage(ctx, 1<<16, nil, false); err != nil || !bytes.Equal(got, p) {
			t.Fatalf("after Staged: %q, %v", got, err)
		}
	}
}
