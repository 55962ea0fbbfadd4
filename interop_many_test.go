//go:build unix

package mpconn

import (
	"bytes"
	"os"
	"reflect"
	"strconv"
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
	"github.com/mpconn/mpconn/pickle"
)

// TestInteropSendMany: what SendBytesMany and SendMany gather into few
// writes, CPython's recv_bytes and recv take one message at a time, every
// size and value arriving equal.
func TestInteropSendMany(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		ctx := interopCtx(t)
		a, b, f := interopPipeToChild(t)
		var msgs [][]byte
		for _, n := range interopSizes {
			msgs = append(msgs, interopPattern(n))
		}
		for i := range 500 {
			msgs = append(msgs, interopPattern(i%70))
		}
		vals := []any{int64(1), "two", []any{3.5, nil, true}, interopPattern(100000), pickle.Tuple{int64(-7), "x"}}
		p := startInteropPython(t, py, "many", []*os.File{f}, strconv.Itoa(len(msgs)), strconv.Itoa(len(vals)))
		interopCloseAfterStart(b, f)

		sent := make(chan error, 1)
		go func() {
			n, err := a.SendBytesMany(ctx, msgs...)
			if err == nil && n != len(msgs) {
				t.Errorf("SendBytesMany: %d of %d sent", n, len(msgs))
			}
			sent <- err
		}()
		for i, want := range msgs {
			got, err := a.RecvBytes(ctx)
			if err != nil {
				t.Fatalf("echo %d: %v; stderr:\n%s", i, err, p.stderr.String())
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("echo %d: %d bytes, want %d", i, len(got), len(want))
			}
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		// Python's hello tells which pickle protocol it reads (2 for 2.7).
		var hello any
		if err := a.Recv(ctx, &hello); err != nil || (hello != "hello" && hello != pickle.ByteString("hello")) {
			t.Fatalf("hello: %#v, %v", hello, err)
		}
		if n, err := a.SendMany(ctx, vals...); err != nil || n != len(vals) {
			t.Fatalf("SendMany: %d, %v", n, err)
		}
		for i, want := range vals {
			if b, ok := want.([]byte); ok && py.Major == 2 {
				// Python 2 reads bytes as str and pickles str back as
				// an 8-bit string.
				want = pickle.ByteString(b)
			}
			var got any
			if err := a.Recv(ctx, &got); err != nil {
				t.Fatalf("object %d: %v; stderr:\n%s", i, err, p.stderr.String())
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("object %d: %#v, want %#v", i, got, want)
			}
		}
		p.expectLine(t, "done")
		p.wait(t)
	})
}
