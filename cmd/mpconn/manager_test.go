package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
)

// serving reads the first line of a manager serve's output and returns
// the address.
func (p *proc) serving(t *testing.T) string {
	t.Helper()
	line, err := p.stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the first line: %v (stderr: %q)", err, p.stderr.String())
	}
	addr, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "serving on ")
	if !ok || addr == "" {
		t.Fatalf("first line %q, want \"serving on ADDRESS\"", line)
	}
	return addr
}

// TestManagerServeCall serves with mpconn manager serve, uses it from
// mpconn manager call and from a Python SyncManager client, and stops it
// with SIGTERM.
func TestManagerServeCall(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "mgr.sock")
	p := start(t, nil, "manager", "serve", "--authkey", "secret", sock)
	addr := p.serving(t)
	if addr != sock {
		t.Fatalf("serving on %q, want %q", addr, sock)
	}
	code, out, errOut := runMpconn(t, "manager", "call", "--authkey", "secret", addr, "dict", "get", "'k'", "-1")
	if code != 0 || out != "-1\n" {
		t.Fatalf("call dict get: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runMpconn(t, "manager", "call", "--authkey", "secret", addr, "dict", "__getitem__", "'k'")
	if code != 1 || out != "" || errOut != "KeyError: 'k'\n" {
		t.Fatalf("call dict __getitem__: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runMpconn(t, "manager", "call", "--authkey", "secret", addr, "Queue", "get_nowait")
	if code != 1 || errOut != "Empty\n" {
		t.Fatalf("call Queue get_nowait: %d %q", code, errOut)
	}
	code, _, errOut = runMpconn(t, "manager", "call", "--authkey", "wrong", addr, "dict", "keys")
	if code != 1 || !strings.Contains(errOut, "authentication") {
		t.Fatalf("wrong key: %d %q", code, errOut)
	}
	code, _, errOut = runMpconn(t, "manager", "call", "--authkey", "secret", addr, "Nope", "x")
	if code != 1 || errOut != "KeyError: 'Nope'\n" {
		t.Fatalf("unknown typeid: %d %q", code, errOut)
	}
	if py, ok := cpython.Get("3.12"); ok {
		script := `
import sys, queue
from multiprocessing.managers import SyncManager
m = SyncManager(address=sys.argv[1], authkey=b'secret')
m.connect()
q = m.Queue()
q.put({'a': [1, 2.5]})
try:
    m.Queue().get(timeout=0.01)
except queue.Empty:
    print(q.get())
`
		out, err := py.Output(time.Minute, script, addr)
		if err != nil || string(out) != "{'a': [1, 2.5]}\n" {
			t.Fatalf("python client: %v %q", err, out)
		}
	} else {
		t.Log("CPython 3.12 not installed: the Python client part is skipped")
	}
	p.stop(t, syscall.SIGTERM)
}

// TestManagerCallPythonServer calls a CPython SyncManager server.
func TestManagerCallPythonServer(t *testing.T) {
	py, ok := cpython.Get("3.12")
	if !ok {
		t.Skip("CPython 3.12 is not installed: skipped")
	}
	sock := filepath.Join(t.TempDir(), "py.sock")
	script := `
import sys
from multiprocessing.managers import SyncManager
m = SyncManager(address=sys.argv[1], authkey=b'k')
s = m.get_server()
print(s.address, flush=True)
s.serve_forever()
`
	cmd := py.Command(t.Context(), script, sock)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	buf := make([]byte, len(sock)+1)
	if _, err := stdout.Read(buf); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMpconn(t, "manager", "call", "--authkey", "k", sock, "list", "__add__", "[1, 'x']")
	if code != 0 || out != "[1, 'x']\n" {
		t.Fatalf("call list __add__: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runMpconn(t, "manager", "call", "--authkey", "k", sock, "list", "pop")
	if code != 1 || errOut != "IndexError: pop from empty list\n" {
		t.Fatalf("call list pop: %d %q", code, errOut)
	}
}

func TestManagerBadCommandLines(t *testing.T) {
	for _, args := range [][]string{
		{"manager"},
		{"manager", "frob"},
		{"manager", "serve"},
		{"manager", "call", "/tmp/x", "dict"},
		{"manager", "call", "--authkey", "a", "--authkey-hex", "00", "/tmp/x", "dict", "keys"},
	} {
		if code, _, _ := runMpconn(t, args...); code != 2 {
			t.Errorf("%q: exit status %d, want 2", args, code)
		}
	}
}
