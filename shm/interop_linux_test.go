//go:build linux

package shm

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/internal/cpython"
	"github.com/mpconn/mpconn/pickle"
)

// startPeer runs testdata/peer.py under py with a Pipe to it.
func startPeer(t *testing.T, py cpython.Python) *mpconn.Conn {
	t.Helper()
	script, err := os.ReadFile("testdata/peer.py")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := py.Command(ctx, string(script))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	ch, c, err := mpconn.StartChild(cmd, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		werr := ch.Wait()
		cancel()
		if werr != nil && !t.Failed() {
			t.Errorf("%s peer: %v\n%s", py, werr, stderr.String())
		}
	})
	return c
}

// recvT receives a value and fails on a peer's error report.
func recvT(t *testing.T, c *mpconn.Conn, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msg, err := c.RecvBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var report pickle.Tuple
	if pickle.Unmarshal(msg, &report) == nil && len(report) == 2 && report[0] == "error" {
		t.Fatalf("peer failed:\n%s", report[1])
	}
	if err := pickle.Unmarshal(msg, v); err != nil {
		t.Fatalf("%v in %q", err, msg)
	}
}

func sendT(t *testing.T, c *mpconn.Conn, v any) {
	t.Helper()
	if err := c.Send(context.Background(), v); err != nil {
		t.Fatal(err)
	}
}

// pyValues are items every CPython stores intact (a str longer in UTF-8
// than its length rounded up to 8 would be cut short by CPython).
func pyValues() []any {
	return []any{
		"abcdefgh", int64(-5), "", int64(1 << 62), -2.25, true, false, nil,
		"ü€", []byte{}, []byte("\x01\x02bytes"), "x", int64(0),
	}
}

func TestInteropPython(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		if !py.AtLeast(3, 8) {
			t.Skipf("%s has no multiprocessing.shared_memory (3.8+)", py)
		}
		t.Parallel()
		layout := Layout39
		if !py.AtLeast(3, 9) {
			layout = Layout38
		}
		c := startPeer(t, py)

		// 1. Go creates, Python attaches through the pickles.
		pattern := make([]byte, 1000)
		for i := range pattern {
			pattern[i] = byte(i * 7)
		}
		blk := createT(t, len(pattern))
		copy(blk.Bytes(), pattern)
		lst, err := CreateList("", layout, pyValues()...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lst.Close(); Unlink(lst.Name()) })
		sendT(t, c, pickle.Tuple{blk, lst, pattern})
		var seen struct {
			Name    string
			Size    int
			Same    bool
			Values  []any
			Formats string
		}
		var got pickle.Tuple
		recvT(t, c, &got)
		seen.Name, _ = got[0].(string)
		seen.Same, _ = got[2].(bool)
		seen.Values, _ = got[3].([]any)
		seen.Formats, _ = got[4].(string)
		if seen.Name != blk.Name() || got[1] != int64(1000) || !seen.Same {
			t.Fatalf("Python saw %v; want name %s, size 1000, same bytes", got[:3], blk.Name())
		}
		if !reflect.DeepEqual(seen.Values, pyValues()) {
			t.Fatalf("Python read the list as\n%#v\nwant\n%#v", seen.Values, pyValues())
		}
		if f, _ := lst.Format(); f != seen.Formats {
			t.Fatalf("formats: Python %q, Go %q", seen.Formats, f)
		}
		var tooLong string
		recvT(t, c, &tooLong)
		if tooLong != "bytes/str item exceeds available storage" || "shm: "+tooLong != ErrTooLong.Error() {
			t.Fatalf("Python's error %q, Go's %q", tooLong, ErrTooLong)
		}
		if string(blk.Bytes()[:2]) != "py" {
			t.Fatalf("Python's write not seen: %q", blk.Bytes()[:2])
		}
		for i, want := range []any{"zz", int64(7), ""} {
			if v, err := lst.Get(i); err != nil || !reflect.DeepEqual(v, want) {
				t.Fatalf("after Python's writes, item %d = %#v, %v; want %#v", i, v, err, want)
			}
		}

		// 2. Python creates and sends; Go attaches through Ref.
		sendT(t, c, pyValues())
		var smRef, slRef Ref
		recvT(t, c, &smRef)
		recvT(t, c, &slRef)
		raw, err := c.RecvBytes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if smRef.List || smRef.Size != 1000 || !slRef.List {
			t.Fatalf("refs %+v %+v", smRef, slRef)
		}
		b2, err := smRef.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer b2.Close()
		for i, x := range b2.Bytes() {
			if x != byte(i%251) {
				t.Fatalf("byte %d of Python's block is %d", i, x)
			}
		}
		copy(b2.Bytes(), "go")
		l2, err := slRef.OpenList()
		if err != nil {
			t.Fatal(err)
		}
		defer l2.Close()
		if l2.Layout() != layout {
			t.Fatalf("layout %v, want %v", l2.Layout(), layout)
		}
		if vals, err := l2.Values(); err != nil || !reflect.DeepEqual(vals, pyValues()) {
			t.Fatalf("Go read Python's list as %#v, %v", vals, err)
		}
		// Byte for byte what Go writes for the same values.
		if mine := encodeT(t, layout, pyValues()...); !bytes.Equal(mine, raw) {
			t.Fatalf("Python's list:\n%x\nGo's:\n%x", raw, mine)
		}
		if err := l2.Set(0, "go"); err != nil {
			t.Fatal(err)
		}
		if err := l2.Set(1, 3.5); err != nil {
			t.Fatal(err)
		}
		sendT(t, c, "done")
		var after pickle.Tuple
		recvT(t, c, &after)
		if !reflect.DeepEqual(after, pickle.Tuple{[]byte("go"), "go", 3.5}) {
			t.Fatalf("Python saw Go's writes as %#v", after)
		}

		// 3. Python shrinks and unlinks a block Go has mapped: Go reads
		// the pages that are left and gets ErrFault for the others.
		var ref3 Ref
		recvT(t, c, &ref3)
		b3, err := ref3.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer b3.Close()
		if b3.Size() != 3*4096 {
			t.Fatalf("size %d", b3.Size())
		}
		sendT(t, c, "mapped")
		var shrunk string
		recvT(t, c, &shrunk)
		if err := b3.Check(); !errors.Is(err, ErrFault) {
			t.Fatalf("Check after Python shrank the block: %v", err)
		}
		if err := b3.Access(func(p []byte) { sink.Store(int32(p[0]) + int32(p[4095])) }); err != nil {
			t.Fatalf("the page left: %v", err)
		}
		if err := b3.Access(func(p []byte) { sink.Store(int32(p[2*4096])) }); !errors.Is(err, ErrFault) {
			t.Fatalf("a page gone: %v, want ErrFault", err)
		}
		sendT(t, c, "done")

		// The Go side's names survive Python (which untracked them).
		c.Close()
		for _, n := range []string{blk.Name(), lst.Name()} {
			if _, err := os.Stat("/dev/shm/" + n); err != nil {
				t.Errorf("Go's block %s: %v", n, err)
			}
		}
		// Python unlinked its own.
		for _, n := range []string{smRef.Name, slRef.Name} {
			if b, err := Open(n); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Python's block %s after its unlink: %v", n, err)
				if b != nil {
					b.Close()
				}
			}
		}
	})
}
