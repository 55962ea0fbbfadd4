//go:build unix

package mpconn

import (
	"bytes"
	"io"
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
)

// pythonChild echoes messages; its first message is its key. "hang"
// makes it sleep until killed.
const pythonChild = `
import os, sys, time, binascii
try:
    from multiprocessing.connection import Connection
except ImportError:
    from _multiprocessing import Connection  # CPython 2.7
conn = Connection(int(os.environ['MPCONN_FD']))
conn.send_bytes(binascii.unhexlify(os.environ['MPCONN_AUTHKEY']))
while True:
    try:
        m = conn.recv_bytes()
    except EOFError:
        sys.exit(0)
    if m == b'hang':
        conn.send_bytes(b'hanging')
        while True:
            time.sleep(60)
    conn.send_bytes(m)
`

func TestStartChildPython(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		ctx := testCtx(t)
		// The parent closes: the child exits 0.
		ch, c := startChild(t, py.Command(ctx, pythonChild), nil)
		key, err := c.RecvBytes(ctx)
		if err != nil || !bytes.Equal(key, AuthKey()) {
			t.Fatalf("key %x, %v; want %x", key, err, AuthKey())
		}
		echo(t, ctx, c, echoMsgs...)
		got, err := Wait(ctx, 0, ch, c)
		wantReady(t, got, err)
		c.Close()
		got, err = Wait(ctx, -1, ch)
		wantReady(t, got, err, ch)
		if err := ch.Wait(); err != nil {
			t.Fatal(err)
		}

		// Killed: EOF on the pipe, and the exit is seen.
		ch, c = startChild(t, py.Command(ctx, pythonChild), &ChildOptions{AuthKey: []byte{1, 2, 3}})
		if key, err := c.RecvBytes(ctx); err != nil || !bytes.Equal(key, []byte{1, 2, 3}) {
			t.Fatalf("key %x, %v", key, err)
		}
		echo(t, ctx, c, []byte("x"))
		// Killed once it has read all: a socket closed with unread bytes
		// resets the connection instead.
		c.SendBytes(ctx, []byte("hang"))
		if m, err := c.RecvBytes(ctx); err != nil || string(m) != "hanging" {
			t.Fatal(m, err)
		}
		ch.Kill()
		if _, err := c.RecvBytes(ctx); err != io.EOF {
			t.Fatalf("receive from a killed child: %v", err)
		}
		got, err = Wait(ctx, -1, ch)
		wantReady(t, got, err, ch)
		if err := ch.Wait(); err == nil {
			t.Fatal("killed child exited cleanly")
		}
	})
}
