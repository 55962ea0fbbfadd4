//go:build !race && !(386 || arm || mips || mipsle)

// (A message over 2 GiB cannot be held on a 32-bit system:
// toolong32_test.go checks that it is refused there.)

package mpconn

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

// Messages over 2 GiB use the -1 escape and an 8-byte length, both ways.
// (Not under the race detector: its shadow memory would need tens of GiB.)
func TestHugeMessageOver2GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("needs about 6 GiB of memory; skipped with -short")
	}
	const n = 1<<31 + 5
	p := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		p[i] = byte(i >> 12)
	}
	p[n-1] = 0x5a
	want := sha256.Sum256(p)
	a, b := pipePair(t)
	ctx, _ := longTestCtx(t)

	errc := make(chan error, 1)
	go func() { errc <- a.SendBytes(ctx, p) }()
	got, err := b.RecvBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(got) != n || sha256.Sum256(got) != want {
		t.Fatalf("received %d bytes, content differs", len(got))
	}
	got = nil

	// And into a caller's buffer.
	go func() { errc <- a.SendBytes(ctx, p) }()
	buf := make([]byte, n)
	k, err := b.RecvBytesInto(ctx, buf, 0)
	if err != nil || k != n || !bytes.Equal(buf[n-10:], p[n-10:]) || sha256.Sum256(buf) != want {
		t.Fatalf("into: %d %v", k, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
