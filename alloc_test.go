package mpconn

import (
	"context"
	"runtime"
	"testing"
)

// SendBytes and RecvBytesInto allocate nothing per message in steady
// state (issue: zero allocations on the fast paths).
func TestSteadyStateAllocations(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows named pipes: a receive copies each message out of the pipe (npipe.ReadMsg, then Stream); the allocation budget of the socket path does not apply yet")
	}
	a, b := pipePair(t)
	ctx := context.Background()
	msg := make([]byte, 64)
	big := make([]byte, 100000)
	buf := make([]byte, len(big))
	for _, p := range [][]byte{msg, big} {
		// Warm up: buffers are allocated on first use.
		done := make(chan struct{})
		go func() {
			defer close(done)
			// The warm-up send, then AllocsPerRun's 1 + 100 runs.
			for i := 0; i < 102; i++ {
				if _, err := b.RecvBytesInto(ctx, buf, 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		a.SendBytes(ctx, p)
		allocs := testing.AllocsPerRun(100, func() {
			if err := a.SendBytes(ctx, p); err != nil {
				t.Fatal(err)
			}
		})
		<-done
		if allocs != 0 {
			t.Errorf("SendBytes(%d bytes): %v allocations per call", len(p), allocs)
		}
		go func() {
			for i := 0; i < 102; i++ {
				a.SendBytes(ctx, p)
			}
		}()
		b.RecvBytesInto(ctx, buf, 0)
		allocs = testing.AllocsPerRun(100, func() {
			if _, err := b.RecvBytesInto(ctx, buf, 0); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("RecvBytesInto(%d bytes): %v allocations per call", len(p), allocs)
		}
	}
}
