//go:build unix

package mpconn

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
	"github.com/mpconn/mpconn/pickle"
)

func TestChildPythonNames(t *testing.T) {
	for _, tc := range []struct {
		name          string
		isPython      bool
		known         bool
		major, minor  int
		protocol2     bool
		limit32BitMsg bool
	}{
		{"python2.7", true, true, 2, 7, true, true},
		{"python2", true, true, 2, -1, true, true},
		{"python3.7", true, true, 3, 7, false, true},
		{"python3.6m", true, true, 3, 6, false, true},
		{"python3.8", true, true, 3, 8, false, false},
		{"python3.13t", true, true, 3, 13, false, false},
		{"python3", true, true, 3, -1, false, false},
		{"python", true, false, 0, 0, true, false},
		{"pypy", true, true, 2, 7, true, true},
		{"pypy3.10", true, true, 3, 10, false, false},
		{"bash", false, false, 0, 0, false, false},
		{"mypython3", false, false, 0, 0, false, false},
	} {
		// Through a symbolic link called "python", as in a venv.
		dir := t.TempDir()
		exe := filepath.Join(dir, tc.name)
		if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "link")
		if err := os.Symlink(exe, link); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{exe, link} {
			p, isPython, known := childPython(exec.Command(path))
			if isPython != tc.isPython || known != tc.known || (known && (p.major != tc.major || p.minor != tc.minor)) {
				t.Errorf("%s: childPython = %+v, %v, %v", path, p, isPython, known)
			}
			a, b, err := Pipe(nil)
			if err != nil {
				t.Fatal(err)
			}
			a.adaptToChild(exec.Command(path), nil)
			if got := a.peerProto.Load() == 2; got != tc.protocol2 {
				t.Errorf("%s: protocol 2 first: %v, want %v", tc.name, got, tc.protocol2)
			}
			if got := a.maxSend == MaxSize32Bit; got != tc.limit32BitMsg {
				t.Errorf("%s: 2 GiB send limit: %v, want %v", tc.name, got, tc.limit32BitMsg)
			}
			a.Close()
			b.Close()
		}
	}
	// The caller's own limit wins.
	a, b, _ := Pipe(nil)
	defer a.Close()
	defer b.Close()
	a.maxSend = 100
	a.adaptToChild(exec.Command("/nonexistent/python2.7"), &ConnOptions{MaxSendSize: 100})
	if a.maxSend != 100 {
		t.Errorf("maxSend = %d, want the caller's 100", a.maxSend)
	}
}

// A message larger than MaxSendSize is refused by every sender before
// anything is written: the next message arrives as the first.
func TestMaxSendSize(t *testing.T) {
	ctx := testCtx(t)
	a, b, err := Pipe(&ConnOptions{MaxSendSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	isTooLong := func(what string, err error, n int64) {
		t.Helper()
		var e *SendTooLongError
		if !errors.As(err, &e) || e.Len != n || e.Max != 20 {
			t.Fatalf("%s: err = %v, want a SendTooLongError{%d, 20}", what, err, n)
		}
	}
	long := []byte("0123456789abcdefghijk")
	isTooLong("SendBytes", a.SendBytes(ctx, long), 21)
	isTooLong("TrySendBytes", a.TrySendBytes(long), 21)
	isTooLong("SendBytesRange", a.SendBytesRange(ctx, long, 0, -1), 21)
	n, err := a.SendBytesMany(ctx, []byte("ok"), long)
	if n != 0 {
		t.Fatalf("SendBytesMany sent %d messages before refusing", n)
	}
	isTooLong("SendBytesMany", err, 21)
	isTooLong("Send", a.Send(ctx, "a long string"), int64(len(mustPickle(t, "a long string"))))
	n, err = a.SendMany(ctx, "s", "a long string")
	if n != 1 {
		t.Fatalf("SendMany sent %d messages, want the one before the long one", n)
	}
	isTooLong("SendMany", err, int64(len(mustPickle(t, "a long string"))))
	if err := a.SendBytes(ctx, []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := b.Recv(ctx, &s); err != nil || s != "s" {
		t.Fatalf("first message %q, %v; want SendMany's first", s, err)
	}
	if m, err := b.RecvBytes(ctx); err != nil || string(m) != "0123456789" {
		t.Fatalf("next message %q, %v", m, err)
	}
	if ready, err := b.Poll(ctx, 0); ready || err != nil {
		t.Fatalf("a refused message was written: Poll = %v, %v", ready, err)
	}
}

func mustPickle(t *testing.T, v any) []byte {
	t.Helper()
	p, err := pickle.MarshalProtocol(v, pickle.DefaultProtocol)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// goFirstChild receives a value, then sends it back with its repr.
const goFirstChild = `
import os
try:
    from multiprocessing.connection import Connection
except ImportError:
    from _multiprocessing import Connection
conn = Connection(int(os.environ['MPCONN_FD']))
v = conn.recv()
conn.send((v, repr(v)))
`

// A Python child started with StartChild reads what the Go parent sends
// first, whatever its version, without the caller choosing a protocol;
// a CPython 3.7 or older child gets the 2 GiB send limit.
func TestStartChildPythonGoSpeaksFirst(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		ctx := testCtx(t)
		cmd := py.Command(ctx, goFirstChild)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		_, c := startChild(t, cmd, nil)
		sent := map[string]any{"n": 1, "b": []byte("\x00\xff"), "s": "é", "t": pickle.Tuple{1.5, nil}}
		if err := c.Send(ctx, sent); err != nil {
			t.Fatal(err)
		}
		var back pickle.Tuple
		if err := c.Recv(ctx, &back); err != nil {
			t.Fatalf("%v; child's stderr:\n%s", err, stderr.String())
		}
		if py.Major == 2 {
			sent["b"] = pickle.ByteString("\x00\xff") // bytes arrive as a Python 2 str
		}
		var want any
		if err := pickle.Unmarshal(mustPickle(t, sent), &want); err != nil {
			t.Fatal(err)
		}
		if len(back) != 2 || !pickle.Equal(back[0], want) {
			t.Fatalf("child sent back %v", back)
		}
		t.Logf("%s read %v", py, back[1])
		if old := !py.AtLeast(3, 8); old != (c.maxSend == MaxSize32Bit) {
			t.Errorf("%s: 2 GiB send limit set: %v", py, c.maxSend == MaxSize32Bit)
		}
	})
}
