//go:build !race && !(386 || arm || mips || mipsle)

// (A message over 2 GiB cannot be held on a 32-bit system:
// TestMessageTooLongForInt checks that it is refused there. Not under the race
// detector either: its shadow memory would need tens of GiB.)

package mpconn

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHugeMessage: a message of 2^31+5 bytes needs the -1 escape and the
// 8-byte length. Go sends one over a Pipe to a peer that sends it back
// twice; Go receives it once with RecvBytes (which grows its buffer as
// bytes arrive) and once with RecvBytesInto (straight into a caller's
// buffer), and compares each with what it sent, byte for byte. The peer
// reports the length it received; since it sends back what it received,
// the echoes also prove that it received the right bytes.
//
// The peer is the newest CPython when that is 3.8 or later (older ones
// cannot read such a message: TestHugeSendRefusedToOldPython), so that
// the framing is checked against CPython's in both directions; without
// one, it is Go's own other end of the Pipe. On a VM, every fresh GiB
// touched costs seconds of page faults, so the message crosses the socket
// three times and nothing more (no hashes: the echoes are compared).
func TestHugeMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 2 GiB three times: not run in -short mode")
	}
	if avail, ok := memAvailable(); ok && avail < 8<<30 {
		t.Skipf("needs about 8 GiB of free memory (both peers together), %d MiB available", avail>>20)
	}
	const size = 1<<31 + 5
	ctx, timeout := longTestCtx(t)

	msg := make([]byte, size)
	rand.NewChaCha8([32]byte{1, 2, 3}).Read(msg)

	a, b, err := Pipe(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	peer, ok := startHugePythonPeer(t, ctx, timeout, b)
	if !ok {
		peer = startHugeGoPeer(ctx, b)
	}
	t.Logf("peer: %s", peer.name)

	start := time.Now()
	if err := a.SendBytes(ctx, msg); err != nil {
		t.Fatalf("send %d bytes: %v%s", size, err, peer.stderr())
	}
	if got := peer.line(t); got != strconv.Itoa(size) {
		t.Fatalf("%s received %s bytes, want %d", peer.name, got, size)
	}
	t.Logf("Go -> %s: %v", peer.name, time.Since(start))

	start = time.Now()
	back, err := a.RecvBytes(ctx)
	if err != nil {
		t.Fatalf("RecvBytes of the message sent back: %v%s", err, peer.stderr())
	}
	t.Logf("%s -> Go, RecvBytes: %v", peer.name, time.Since(start))
	if len(back) != size {
		t.Fatalf("RecvBytes: %d bytes back, want %d", len(back), size)
	}
	if i := firstDiff(back, msg); i >= 0 {
		t.Fatalf("RecvBytes: the message sent back differs from the one sent at byte %d", i)
	}

	// Again, into the same buffer, cleared.
	clear(back)
	start = time.Now()
	n, err := a.RecvBytesInto(ctx, back, 0)
	if err != nil || n != size {
		t.Fatalf("RecvBytesInto of the message sent back: %d, %v, want %d bytes%s", n, err, size, peer.stderr())
	}
	t.Logf("%s -> Go, RecvBytesInto: %v", peer.name, time.Since(start))
	if i := firstDiff(back, msg); i >= 0 {
		t.Fatalf("RecvBytesInto: the message sent back differs from the one sent at byte %d", i)
	}
	a.Close()
	if got := peer.line(t); got != "eof" {
		t.Fatalf("%s printed %q after its echoes, want \"eof\"", peer.name, got)
	}
	peer.wait(t)
}

// firstDiff returns the first index where a and b differ, or -1 if they
// are equal.
func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	const chunk = 1 << 20
	for off := 0; ; off += chunk {
		x, y := a[off:min(off+chunk, len(a))], b[off:min(off+chunk, len(b))]
		if bytes.Equal(x, y) {
			continue
		}
		for i := range min(len(x), len(y)) {
			if x[i] != y[i] {
				return off + i
			}
		}
		return off + min(len(x), len(y))
	}
}

// hugePeer is the other end of TestHugeMessage: it prints the length it
// received, sends the message back twice, and prints "eof" when Go closes.
type hugePeer struct {
	name   string
	line   func(t *testing.T) string // the next line it prints
	wait   func(t *testing.T)        // waits for it to end, failing t if it failed
	stderr func() string             // "; stderr: ..." for error messages, or ""
}

// startHugeGoPeer runs the peer in a goroutine, on b.
func startHugeGoPeer(ctx context.Context, b *Conn) hugePeer {
	lines := make(chan string, 2)
	errc := make(chan error, 1)
	go func() {
		defer close(lines)
		defer b.Close()
		errc <- func() error {
			m, err := b.RecvBytes(ctx)
			if err != nil {
				return fmt.Errorf("RecvBytes: %w", err)
			}
			lines <- strconv.Itoa(len(m))
			for range 2 {
				if err := b.SendBytes(ctx, m); err != nil {
					return fmt.Errorf("SendBytes: %w", err)
				}
			}
			m = nil
			if _, err := b.RecvBytes(ctx); err != io.EOF {
				return fmt.Errorf("after the message: %v, want io.EOF", err)
			}
			lines <- "eof"
			return nil
		}()
	}()
	var failed error
	peerErr := func() error {
		if failed == nil {
			failed = <-errc
		}
		return failed
	}
	return hugePeer{
		name: "Go peer (no CPython 3.8 or later installed)",
		line: func(t *testing.T) string {
			t.Helper()
			l, ok := <-lines
			if !ok {
				t.Fatalf("Go peer ended early: %v", peerErr())
			}
			return l
		},
		wait: func(t *testing.T) {
			t.Helper()
			if err := peerErr(); err != nil {
				t.Fatalf("Go peer: %v", err)
			}
		},
		stderr: func() string { return "" },
	}
}

// memAvailable returns the memory available to new processes, from
// /proc/meminfo (Linux); ok is false where that cannot be read.
func memAvailable() (bytes uint64, ok bool) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, found := strings.CutPrefix(line, "MemAvailable:"); found {
			var kb uint64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}
