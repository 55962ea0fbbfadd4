package npipe

import (
	"os"
	"strconv"
	"testing"
)

// A message over 2 GiB (2^31 + 5 bytes) crosses a named pipe whole: one
// WriteFile, and on the reading side the 4096-byte head, ERROR_MORE_DATA,
// PeekNamedPipe and one read of the rest. It needs about 3 x 2 GiB of
// memory (both buffers), so it runs only when MPCONN_HUGE_PIPE=1.
//
// Wine 8 cannot carry it: its client hands a WriteFile's data to the
// wineserver in one write(2), which Linux caps at 0x7ffff000 bytes, and
// a partial write is fatal there ("wine client error:...: partial write
// 2147479552"; the writing thread is gone and the write never
// completes); the request's header goes in the same write, so a message
// of exactly 0x7ffff000 = 2147479552 bytes failed too (measured). Sends
// under Wine refuse such messages at once (errWineTooBig), which is what
// the test checks there. MPCONN_HUGE_PIPE_SIZE=N tries another size.
func TestHugeMessage(t *testing.T) {
	if os.Getenv("MPCONN_HUGE_PIPE") != "1" {
		t.Skip("a 2 GiB + 5 message needs about 4 GB of memory: set MPCONN_HUGE_PIPE=1 to run it")
	}
	n := 1<<31 + 5
	if s := os.Getenv("MPCONN_HUGE_PIPE_SIZE"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		n = v
	}
	ctx := testCtx(t)
	r, w := pipe(t, true)
	msg := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		msg[i] = byte(i >> 12)
	}
	msg[n-1] = 0xEE
	if onWine() && n >= wineMaxWrite-4096 {
		// Refused at once rather than hanging the writer.
		if err := w.WriteMsg(ctx, msg); err != errWineTooBig {
			t.Fatalf("WriteMsg under Wine: %v", err)
		}
		return
	}
	errc := make(chan error, 1)
	go func() { errc <- w.WriteMsg(ctx, msg) }()
	got, err := r.ReadMsg(ctx, 0)
	if err != nil {
		t.Fatalf("ReadMsg: %v", err)
	}
	if len(got) != n {
		t.Fatalf("got %d bytes, want %d", len(got), n)
	}
	for i := 0; i < n; i += 4096 {
		if got[i] != byte(i>>12) {
			t.Fatalf("byte %d differs", i)
		}
	}
	if got[n-1] != 0xEE {
		t.Fatal("last byte differs")
	}
	if err := <-errc; err != nil {
		t.Fatalf("WriteMsg: %v", err)
	}
}

// The limits of a send, checked before any I/O: 4 GiB - 1 everywhere,
// and under Wine the cap of its write to the server.
func TestSendSizeLimits(t *testing.T) {
	if err := checkSize(MaxMessage + 1); err != ErrMessageTooBig {
		t.Errorf("4 GiB: %v", err)
	}
	if err := checkSize(1 << 20); err != nil {
		t.Errorf("1 MiB: %v", err)
	}
	want := error(nil)
	if onWine() {
		want = errWineTooBig
	}
	if err := checkSize(wineMaxWrite); err != want {
		t.Errorf("0x7ffff000 bytes: %v, want %v", err, want)
	}
}
