//go:build unix && !race && !(386 || arm || mips || mipsle)

package mpconn

import (
	"errors"
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
)

// A CPython 2.7 to 3.7 child started with StartChild cannot read a
// message over 2 GiB: the parent refuses one before writing anything, and
// the child then reads the next message as if nothing had happened. (The
// 2 GiB buffer is never written to, so the OS does not back it with
// memory; not run under the race detector, whose shadow memory might.)
func TestHugeSendRefusedToOldPython(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a 2 GiB buffer: not run in -short mode")
	}
	huge := make([]byte, MaxSize32Bit+1)
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		if py.AtLeast(3, 8) {
			t.Skipf("%s reads messages over 2 GiB (TestHugeMessage sends one to the newest CPython, and receives one from it)", py)
		}
		ctx := testCtx(t)
		_, c := startChild(t, py.Command(ctx, pythonChild), nil)
		if _, err := c.RecvBytes(ctx); err != nil { // the key
			t.Fatal(err)
		}
		err := c.SendBytes(ctx, huge)
		var tl *SendTooLongError
		if !errors.As(err, &tl) || tl.Len != int64(len(huge)) || tl.Max != MaxSize32Bit {
			t.Fatalf("SendBytes of %d bytes to %s: %v, want a SendTooLongError", len(huge), py, err)
		}
		echo(t, ctx, c, []byte("after the refused message"))
	})
}
