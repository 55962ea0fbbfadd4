package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
)

// pyListener is a multiprocessing.connection.Listener (argv[1] "unix" or
// "tcp"; argv[2] the key in hex or "-"; argv[3] the mode). It prints
// "listening ADDRESS", accepts one client and, until the client closes,
// receives each message, prints it (repr in mode "value", hex in mode
// "bytes") and sends it back; in mode "mute" it prints and does not
// reply; in mode "close" it prints the first message and closes. A
// failed handshake prints "error CLASS". It runs on CPython 2.7
// and 3.
const pyListener = `
import binascii, sys
from multiprocessing.connection import Listener
family, key, mode = sys.argv[1], sys.argv[2], sys.argv[3]
key = None if key == "-" else binascii.unhexlify(key)
if family == "tcp":
    l = Listener(("127.0.0.1", 0), authkey=key)
    addr = "%s:%d" % l.address
else:
    l = Listener(family="AF_UNIX", authkey=key)
    addr = l.address
sys.stdout.write("listening %s\n" % addr)
sys.stdout.flush()
try:
    c = l.accept()
except Exception as e:
    sys.stdout.write("error %s\n" % type(e).__name__)
    sys.exit(0)
while True:
    try:
        if mode == "bytes":
            m = c.recv_bytes()
            sys.stdout.write(binascii.hexlify(m).decode() + "\n")
        else:
            m = c.recv()
            sys.stdout.write(repr(m) + "\n")
    except EOFError:
        break
    sys.stdout.flush()
    if mode == "mute":
        continue
    if mode == "close":
        break
    if mode == "bytes":
        c.send_bytes(m)
    else:
        c.send(m)
`

// pyListenerProc is a running pyListener.
type pyListenerProc struct {
	cmd  *exec.Cmd
	out  *bufio.Reader
	addr string
}

func startPyListener(t *testing.T, py cpython.Python, family, key, mode string) *pyListenerProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	cmd := py.Command(ctx, pyListener, family, key, mode)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	p := &pyListenerProc{cmd: cmd, out: bufio.NewReader(stdout)}
	line, err := p.out.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("Python listener: %q, %v (stderr: %q)", line, err, stderr.String())
	}
	p.addr = addr
	return p
}

// lines returns the rest of the listener's output, after it exits.
func (p *pyListenerProc) lines(t *testing.T) []string {
	t.Helper()
	var lines []string
	for {
		line, err := p.out.ReadString('\n')
		if line != "" {
			lines = append(lines, strings.TrimSuffix(line, "\n"))
		}
		if err != nil {
			break
		}
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("Python listener: %v", err)
	}
	return lines
}

// sendValues are VALUEs for mpconn send; the py2 ones have no bytes (a
// bytes value reaches Python 2 as a str and comes back as one) and are
// sent at protocol 2.
var (
	sendValues = []string{
		"{'a': [1, 2.5, None]}", `"it's"`, "(1,)", "()", "{1, 2}", "frozenset({3})", "b'\\x00\\xff'",
		"bytearray(b'ab')", "[123456789012345678901234567890, -1]", "-0x8000_0000_0000_0001",
		"[1e16, 1e-05, -0.0, float('inf'), float('nan')]", "'\\u00e9\\ud800\\U0001f600\\n'",
		`{"json": [true, false, null, 1.5e300, {"n": {}}]}`, "[[[[]]]]", "True",
	}
	sendValuesPy2 = []string{
		"{'a': [1, 2.5, None]}", "(1,)", "()", "{1, 2}", "frozenset({3})", "123456789012345678901234567890",
		"[1e16, 1e-05, -0.0, float('-inf')]", "'\\u00e9\\U0001f600'", `{"json": [true, null]}`, "False",
	}
)

// goReprs returns Go's repr of each literal.
func goReprs(t *testing.T, lits []string) []string {
	t.Helper()
	var out []string
	for _, l := range lits {
		v, err := parseLiteral(l)
		if err != nil {
			t.Fatalf("parseLiteral(%q): %v", l, err)
		}
		out = append(out, pyRepr(v))
	}
	return out
}

func equalLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d lines, want %d:\n got %q\nwant %q", what, len(got), len(want), got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s line %d: %s, want %s", what, i+1, got[i], want[i])
		}
	}
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestSendPythonListener: mpconn send to a CPython Listener that echoes,
// over a Unix socket and TCP. Each line mpconn prints is the Go repr of
// the value sent and, on Python 3, Python's repr of what it received.
func TestSendPythonListener(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		values, proto := sendValues, "4"
		if !py.AtLeast(3, 0) {
			values, proto = sendValuesPy2, "2"
		}
		want := goReprs(t, values)
		for _, family := range []string{"unix", "tcp"} {
			l := startPyListener(t, py, family, "-", "value")
			code, stdout, stderr := runMpconn(t, append([]string{"send", "--protocol", proto, l.addr}, values...)...)
			if code != 0 {
				t.Fatalf("%s: exit status %d, stderr %q", family, code, stderr)
			}
			got := splitLines(stdout)
			equalLines(t, family+": mpconn send output", got, want)
			pyGot := l.lines(t)
			if py.AtLeast(3, 0) {
				equalLines(t, family+": Python's repr of what it received", pyGot, want)
			} else if len(pyGot) != len(values) {
				t.Errorf("%s: Python received %d messages, want %d", family, len(pyGot), len(values))
			}
		}
	})
}

// TestSendGoListeners: mpconn send to mpconn echo (a Go Listener), with
// every protocol, and to mpconn listen.
func TestSendGoListeners(t *testing.T) {
	echo := start(t, nil, "echo")
	addr := echo.listening(t)
	values := sendValues
	want := goReprs(t, values)
	for _, proto := range []string{"2", "3", "4", "5"} {
		code, stdout, stderr := runMpconn(t, append([]string{"send", "--protocol", proto, addr}, values...)...)
		if code != 0 {
			t.Fatalf("protocol %s: exit status %d, stderr %q", proto, code, stderr)
		}
		equalLines(t, "protocol "+proto, splitLines(stdout), want)
	}
	// Negative numbers are VALUEs, also among flags.
	code, stdout, stderr := runMpconn(t, "send", addr, "-1", "--timeout", "5s", "-.5", "-float('inf')", "--protocol", "3", "- 2")
	if code != 0 || stdout != "-1\n-0.5\n-inf\n-2\n" {
		t.Errorf("negative VALUEs: status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	echo.stop(t, syscall.SIGTERM)
}

// TestSendAuthKey: mpconn send with the right key and a wrong one, to a
// CPython Listener with a key.
func TestSendAuthKey(t *testing.T) {
	key := hex.EncodeToString([]byte("sesame"))
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		l := startPyListener(t, py, "unix", key, "value")
		code, stdout, stderr := runMpconn(t, "send", "--protocol", "2", "--authkey", "sesame", l.addr, "[1, None]")
		if code != 0 || stdout != "[1, None]\n" {
			t.Errorf("right key: status %d, stdout %q, stderr %q; want 0 and [1, None]", code, stdout, stderr)
		}
		l.lines(t)

		l = startPyListener(t, py, "unix", key, "value")
		code, stdout, stderr = runMpconn(t, "send", "--protocol", "2", "--authkey-hex", key, l.addr, "1")
		if code != 0 || stdout != "1\n" {
			t.Errorf("right hex key: status %d, stdout %q, stderr %q; want 0 and 1", code, stdout, stderr)
		}
		l.lines(t)

		l = startPyListener(t, py, "unix", key, "value")
		code, stdout, stderr = runMpconn(t, "send", "--authkey", "wrong", l.addr, "1")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "mpconn send:") {
			t.Errorf("wrong key: status %d, stdout %q, stderr %q; want 1 and an error", code, stdout, stderr)
		}
		if got := l.lines(t); len(got) != 1 || got[0] != "error AuthenticationError" {
			t.Errorf("wrong key: Python says %q, want error AuthenticationError", got)
		}
	})
}

// TestSendBytesPython: --bytes sends each VALUE's text raw and prints
// the echoes as hex.
func TestSendBytesPython(t *testing.T) {
	values := []string{"hello", "", "é {not a literal", "[1, 2]"}
	var want []string
	for _, v := range values {
		want = append(want, hex.EncodeToString([]byte(v)))
	}
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		l := startPyListener(t, py, "unix", "-", "bytes")
		code, stdout, stderr := runMpconn(t, append([]string{"send", "--bytes", l.addr}, values...)...)
		if code != 0 {
			t.Fatalf("exit status %d, stderr %q", code, stderr)
		}
		equalLines(t, "mpconn send --bytes", splitLines(stdout), want)
		equalLines(t, "Python received", l.lines(t), want)
	})
}

// TestSendNoReplyAndTimeout: --no-reply sends without waiting; a peer
// that does not reply makes send fail after --timeout.
func TestSendNoReplyAndTimeout(t *testing.T) {
	py, ok := cpython.Get("3.12")
	if !ok {
		if all := cpython.Find(); len(all) > 0 {
			py = all[len(all)-1]
		} else {
			t.Skip("no CPython installed")
		}
	}
	l := startPyListener(t, py, "unix", "-", "mute")
	code, stdout, stderr := runMpconn(t, "send", "--no-reply", "--protocol", "2", l.addr, "1", "[2]", "(3,)")
	if code != 0 || stdout != "" {
		t.Errorf("--no-reply: status %d, stdout %q, stderr %q; want 0 and nothing printed", code, stdout, stderr)
	}
	equalLines(t, "Python received", l.lines(t), []string{"1", "[2]", "(3,)"})

	l = startPyListener(t, py, "unix", "-", "mute")
	code, stdout, stderr = runMpconn(t, "send", "--timeout", "200ms", l.addr, "1")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "no reply to VALUE 1 within 200ms") {
		t.Errorf("mute peer: status %d, stdout %q, stderr %q; want 1 and a timeout", code, stdout, stderr)
	}
	l.lines(t)
}

// TestSendPeerCloses: a Listener that closes without replying makes send
// fail, and so does an address where nothing listens.
func TestSendPeerCloses(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		l := startPyListener(t, py, "unix", "-", "close")
		code, stdout, stderr := runMpconn(t, "send", "--protocol", "2", l.addr, "1", "2")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "closed the connection before replying to VALUE 1") {
			t.Errorf("closing peer: status %d, stdout %q, stderr %q; want 1 and an error", code, stdout, stderr)
		}
		l.lines(t)
	})
	p := start(t, nil, "listen") // listen does not reply without --reply
	addr := p.listening(t)
	p.stop(t, syscall.SIGTERM)
	code, _, stderr := runMpconn(t, "send", addr, "1")
	if code != 1 || !strings.Contains(stderr, "mpconn send:") {
		t.Errorf("no listener: status %d, stderr %q; want 1 and an error", code, stderr)
	}
}

func TestSendBadCommandLines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"nothing", []string{"send"}, "missing ADDRESS and VALUE"},
		{"no value", []string{"send", "/tmp/x"}, "missing VALUE"},
		{"unknown flag", []string{"send", "--bogus", "/tmp/x", "1"}, "flag provided but not defined"},
		{"protocol 1", []string{"send", "--protocol", "1", "/tmp/x", "1"}, "--protocol 1: want 2 to 5"},
		{"protocol 6", []string{"send", "--protocol", "6", "/tmp/x", "1"}, "--protocol 6"},
		{"negative timeout", []string{"send", "--timeout", "-1s", "/tmp/x", "1"}, "--timeout"},
		{"bad literal", []string{"send", "/tmp/x", "1", "[1, 2"}, `VALUE 2 "[1, 2": invalid literal at offset 5`},
		{"both keys", []string{"send", "--authkey", "k", "--authkey-hex", "6b", "/tmp/x", "1"}, "not both"},
		{"bad hex key", []string{"send", "--authkey-hex", "zz", "/tmp/x", "1"}, "--authkey-hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runMpconn(t, tc.args...)
			if code != 2 {
				t.Errorf("status %d, want 2", code)
			}
			if !strings.Contains(stderr, tc.stderr) || !strings.Contains(stderr, "usage: mpconn send") {
				t.Errorf("stderr %q does not contain %q and the usage", stderr, tc.stderr)
			}
		})
	}
	code, out, _ := runMpconn(t, "send", "-h")
	for _, f := range []string{"-authkey", "-authkey-hex", "-bytes", "-no-reply", "-timeout", "-protocol", "usage: mpconn send"} {
		if !strings.Contains(out, f) {
			t.Errorf("mpconn send -h does not mention %s", f)
		}
	}
	if code != 0 {
		t.Errorf("mpconn send -h: status %d, want 0", code)
	}
}
