package mpconn

import (
	"context"
	"testing"
)

// TestBuffered: bytes read ahead and not yet received are counted, and a
// Conn at a message boundary with nothing read ahead reports zero.
func TestBuffered(t *testing.T) {
	c, raw := rawPair(t, nil)
	ctx := context.Background()
	if n := c.Buffered(); n != 0 {
		t.Fatalf("Buffered of a new Conn = %d", n)
	}
	// Two messages in one write: receiving the first reads the second
	// ahead, or Poll does.
	mustWrite(t, raw, []byte{0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 2, 'd', 'e'})
	if msg, err := c.RecvBytes(ctx); err != nil || string(msg) != "abc" {
		t.Fatalf("RecvBytes = %q, %v", msg, err)
	}
	if ok, err := c.Poll(ctx, -1); !ok || err != nil {
		t.Fatalf("Poll = %v, %v", ok, err)
	}
	if n := c.Buffered(); n != 6 {
		t.Fatalf("Buffered with a 2-byte message read ahead = %d, want 6", n)
	}
	if msg, err := c.RecvBytes(ctx); err != nil || string(msg) != "de" {
		t.Fatalf("RecvBytes = %q, %v", msg, err)
	}
	if n := c.Buffered(); n != 0 {
		t.Fatalf("Buffered after the last message = %d", n)
	}
}
