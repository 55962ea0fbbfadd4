//go:build unix && !race && !(386 || arm || mips || mipsle)

package mpconn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
)

// TestInteropHugeMessage sends a message of 2^31+5 bytes, which needs the
// -1 escape and the 8-byte length, from Go to the newest CPython over a
// Pipe and back again, and compares SHA-256 digests on both sides. It
// needs about 2 GiB of memory on the Go side and more in Python, so it is
// not built with the race detector and not run in -short mode.
func TestInteropHugeMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 2 GiB each way: not run in -short mode")
	}
	all := cpython.Find()
	if len(all) == 0 || !all[len(all)-1].AtLeast(3, 8) {
		t.Skip("no CPython 3.8 or later installed (messages over 2 GiB need 3.8+)")
	}
	py := all[len(all)-1]
	t.Logf("interopPeer: %s", py)
	if avail, ok := interopMemAvailable(); ok && avail < 8<<30 {
		t.Skipf("needs about 8 GiB of free memory (Go and Python together), %d MiB available", avail>>20)
	}

	const size = 1<<31 + 5
	ctx, timeout := longTestCtx(t)

	msg := make([]byte, size)
	rand.NewChaCha8([32]byte{1, 2, 3}).Read(msg)
	sum := sha256.Sum256(msg)
	want := fmt.Sprintf("%d %s", size, hex.EncodeToString(sum[:]))

	a, b, err := Pipe(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f, err := b.File()
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(ctx)
	cmd := py.Command(pctx, interopScript(t, "huge"))
	p := startInteropPeer(t, py.String()+" huge.py", cmd, pcancel, []*os.File{f})
	p.timeout = timeout
	interopCloseAfterStart(b, f)

	start := time.Now()
	if err := a.SendBytes(ctx, msg); err != nil {
		t.Fatalf("send %d bytes: %v; stderr:\n%s", size, err, p.stderr.String())
	}
	msg = nil
	debug.FreeOSMemory()
	if got := p.line(t); got != want {
		t.Fatalf("Python received %q, want %q", got, want)
	}
	t.Logf("Go -> Python: %v (including Python's SHA-256)", time.Since(start))

	start = time.Now()
	back, err := a.RecvBytes(ctx)
	if err != nil {
		t.Fatalf("receive the message back: %v; stderr:\n%s", err, p.stderr.String())
	}
	t.Logf("Python -> Go: %v", time.Since(start))
	if len(back) != size {
		t.Fatalf("received %d bytes back, want %d", len(back), size)
	}
	if sha256.Sum256(back) != sum {
		t.Fatal("the message sent back differs (SHA-256 mismatch)")
	}
	a.Close()
	p.expectLine(t, "eof")
	p.wait(t)
}

// interopMemAvailable returns the memory available to new processes, from
// /proc/meminfo (Linux); ok is false where that cannot be read.
func interopMemAvailable() (bytes uint64, ok bool) {
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
