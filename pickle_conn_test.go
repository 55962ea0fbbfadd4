package mpconn

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
	"github.com/mpconn/mpconn/pickle"
)

type pickleItem struct {
	ID   int       `pickle:"id"`
	Name string    `pickle:"name"`
	Vals []float64 `pickle:"vals"`
}

// Objects between Go and every CPython over a Pipe, with the default
// codec: a Go struct arrives as a dict, a Python dict decodes into a Go
// struct, and Python values of every kind come back from Go equal and of
// the same type (Python 2 gets protocol 2 back, which it needs).
func TestPickleOverConn(t *testing.T) {
	script, err := os.ReadFile("testdata/py/pickle_peer.py")
	if err != nil {
		t.Fatal(err)
	}
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		ctx := testCtx(t)
		a, b, err := Pipe(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		f, err := b.File()
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		cmd := py.Command(ctx, string(script))
		cmd.ExtraFiles = []*os.File{f}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		defer cmd.Wait()
		defer cmd.Process.Kill()

		var hello any
		if err := a.Recv(ctx, &hello); err != nil || hello != "hello from python" {
			t.Fatalf("greeting: %v %v; stderr:\n%s", hello, err, stderr.String())
		}
		if err := a.Send(ctx, pickleItem{ID: 1, Name: "hello", Vals: []float64{1.5, 2.5, 3.5}}); err != nil {
			t.Fatal(err)
		}
		line, err := a.RecvBytes(ctx)
		if err != nil || !strings.HasPrefix(string(line), "struct ok") {
			t.Fatalf("Python got the struct as %q (%v); stderr:\n%s", line, err, stderr.String())
		}
		var item pickleItem
		if err := a.Recv(ctx, &item); err != nil {
			t.Fatal(err)
		}
		if item.ID != 7 || item.Name != "from python" || len(item.Vals) != 2 || item.Vals[1] != -2.0 {
			t.Fatalf("decoded struct %+v", item)
		}
		n := 0
		for {
			msg, err := a.RecvBytes(ctx)
			if err != nil {
				t.Fatalf("after %d values: %v; stderr:\n%s", n, err, stderr.String())
			}
			if strings.HasPrefix(string(msg), "values ") {
				if !strings.HasSuffix(string(msg), " bad 0") {
					t.Fatalf("Python: %s; stderr:\n%s", msg, stderr.String())
				}
				break
			}
			wantProto := 4 // what conn.send uses: pickle's default protocol
			switch {
			case py.Major == 2:
				wantProto = 2
			case !py.AtLeast(3, 8):
				wantProto = 3
			}
			if p := pickle.Protocol(msg); p != wantProto {
				t.Fatalf("Python %s sent protocol %d", py.Full, p)
			}
			var v any
			if err := a.codec.Unmarshal(msg, &v); err != nil {
				t.Fatalf("value %d: %v", n, err)
			}
			a.notePeerMessage(msg)
			if err := a.Send(ctx, v); err != nil {
				t.Fatalf("value %d: %v", n, err)
			}
			n++
		}
		if n < 40 {
			t.Fatalf("only %d values exchanged", n)
		}
		if _, err := a.RecvBytes(ctx); err != io.EOF {
			t.Fatalf("after the exchange: %v, want io.EOF", err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("python: %v; stderr:\n%s", err, stderr.String())
		}
	})
}

// Send allocates nothing per message in steady state with the pickle
// codec and a value of the model types.
func TestPickleSendAllocations(t *testing.T) {
	a, b := pipePair(t)
	ctx := context.Background()
	d := pickle.NewDict()
	d.Set("id", int64(1))
	d.Set("name", "hello")
	d.Set("vals", []any{1.5, 2.5, 3.5})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1024)
		for i := 0; i < 102; i++ {
			if _, err := b.RecvBytesInto(ctx, buf, 0); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	a.Send(ctx, d)
	allocs := testing.AllocsPerRun(100, func() {
		if err := a.Send(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
	<-done
	if allocs != 0 {
		t.Errorf("Send: %v allocations per call", allocs)
	}
}
