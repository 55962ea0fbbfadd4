package mpconn

import (
	"context"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/platform"
)

// testCtx returns a context that ends the test's blocking calls after a
// generous time, so a bug fails the test instead of hanging it.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// longTestCtx is testCtx for the tests whose work grows with the
// machine's load many times over (gigabytes through a socket, a million
// messages): it ends 30 s before the test binary's -timeout (whose panic
// would say less), or never without one. It returns the time it leaves.
func longTestCtx(t *testing.T) (context.Context, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	left := time.Duration(1<<63 - 1)
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(context.Background(), d.Add(-30*time.Second))
		left = time.Until(d.Add(-30 * time.Second))
	}
	t.Cleanup(cancel)
	return ctx, left
}

// pipePair returns a duplex Pipe whose ends are closed at cleanup.
func pipePair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	a, b, err := Pipe(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// rawPair returns a Conn and the raw socket at the other end, for writing
// arbitrary bytes at it.
func rawPair(t *testing.T, opts *ConnOptions) (*Conn, net.Conn) {
	t.Helper()
	if runtime.GOOS == "windows" {
		// No socketpair: a TCP connection over the loopback interface
		// (named pipes carry whole messages, not raw bytes).
		return tcpRawPair(t, opts)
	}
	fds, err := platform.Socketpair()
	if err != nil {
		t.Fatal(err)
	}
	c, err := socketConn(fds[0], "pipe", opts)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[1]), "raw")
	raw, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); raw.Close() })
	return c, raw
}

// tcpRawPair is rawPair over TCP on the loopback interface.
func tcpRawPair(t *testing.T, opts *ConnOptions) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := ln.Accept()
	if err != nil {
		raw.Close()
		t.Fatal(err)
	}
	c := NewConn(nc, opts)
	t.Cleanup(func() { c.Close(); raw.Close() })
	return c, raw
}

func mustWrite(t *testing.T, w net.Conn, b []byte) {
	t.Helper()
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
}
