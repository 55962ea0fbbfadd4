package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
)

// pyValueClient connects with multiprocessing.connection.Client (argv[1] the
// address, "host:port" or a path; argv[2] the key in hex or "-"; argv[3]
// the mode; argv[4] "reply" to wait for a reply after each message;
// argv[5] a JSON list of Python literals). For each literal it sends the
// object (mode "value"), or its UTF-8 text raw (mode "bytes"), and prints
// its repr (or hex), then "reply " and the reply's repr (or hex). Mode
// "junk" first sends a message that is not a pickle; mode "two" opens two
// connections and sends the literals alternately on the second and the
// first, printing "sent N" before each repr. A failed connection prints
// "error CLASS". It runs on CPython 2.7 and 3.
const pyValueClient = `
import binascii, json, sys
from multiprocessing.connection import Client
a, key, mode, reply, lits = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "reply", json.loads(sys.argv[5])
if "/" not in a:
    host, port = a.rsplit(":", 1)
    a = (host, int(port))
key = None if key == "-" else binascii.unhexlify(key)
def out(s):
    sys.stdout.write(s + "\n")
try:
    conns = [Client(a, authkey=key)]
    if mode == "two":
        conns.append(Client(a, authkey=key))
except Exception as e:
    out("error %s" % type(e).__name__)
    sys.exit(0)
if mode == "junk":
    conns[0].send_bytes(b"not a pickle")
for i, lit in enumerate(lits):
    prefix = ""
    c = conns[0]
    if mode == "two":
        c = conns[(i + 1) % 2]
        prefix = "sent %d " % ((i + 1) % 2 + 1)
    if mode == "bytes":
        m = lit.encode("utf-8")
        c.send_bytes(m)
        out(prefix + binascii.hexlify(m).decode())
        if reply:
            out("reply " + binascii.hexlify(c.recv_bytes()).decode())
        continue
    obj = eval(lit)
    c.send(obj)
    out(prefix + repr(obj))
    if reply:
        out("reply " + repr(c.recv()))
for c in conns:
    c.close()
`

// runPyClient runs pyValueClient and returns the lines it prints.
func runPyClient(t *testing.T, py cpython.Python, addr, key, mode string, reply bool, lits []string) []string {
	t.Helper()
	arg, err := json.Marshal(lits)
	if err != nil {
		t.Fatal(err)
	}
	r := "noreply"
	if reply {
		r = "reply"
	}
	out, err := py.Output(testTimeout, pyValueClient, addr, key, mode, r, string(arg))
	if err != nil {
		t.Fatal(err)
	}
	return splitLines(string(out))
}

// readLines reads n lines of mpconn's standard output.
func (p *proc) readLines(t *testing.T, n int) []string {
	t.Helper()
	var lines []string
	for range n {
		line, err := p.stdout.ReadString('\n')
		if err != nil {
			t.Fatalf("reading mpconn's output: %v after %q (stderr: %q)", err, lines, p.stderr.String())
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
	}
	return lines
}

func prefixed(prefix string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = prefix + l
	}
	return out
}

// listenValuesPy2 are the literals Python 2 sends: no str (a Python 2
// str is bytes) but unicode.
var listenValuesPy2 = []string{
	"{'a': [1, 2.5, None]}", "(1,)", "()", "{1, 2}", "frozenset({3})", "123456789012345678901234567890",
	"[1e16, 1e-05, -0.0, float('-inf')]", "False", "u'\\u00e9\\U0001f600'", "[[], {}]",
}

// py2Strs are Python 2 str (bytes) values.
var py2Strs = []string{`'bytes \xff it\'s'`, `'\x00\n\t"'`, `('a', [b'\\'])`, "''"}

// TestListenPythonClients: CPython clients of every installed version send
// objects to mpconn listen, over a Unix socket and TCP; each line is
// "client-N: " and, on Python 3, Python's repr of the object sent, and on
// every version Go's repr of the literal.
func TestListenPythonClients(t *testing.T) {
	unix := start(t, nil, "listen")
	tcp := start(t, nil, "listen", "127.0.0.1:0")
	procs := map[string]*proc{"unix": unix, "tcp": tcp}
	addrs := map[string]string{"unix": unix.listening(t), "tcp": tcp.listening(t)}
	clients := map[string]int{}
	var py3Values []string
	for _, tc := range literalCases {
		if !tc.json {
			py3Values = append(py3Values, tc.lit)
		}
	}
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		values := py3Values
		if !py.AtLeast(3, 0) {
			values = listenValuesPy2
		}
		for _, network := range []string{"unix", "tcp"} {
			clients[network]++
			prefix := fmt.Sprintf("client-%d: ", clients[network])
			pyOut := runPyClient(t, py, addrs[network], "-", "value", false, values)
			got := procs[network].readLines(t, len(values))
			equalLines(t, network+": mpconn listen vs Go's repr", got, prefixed(prefix, goReprs(t, values)))
			if py.AtLeast(3, 0) {
				equalLines(t, network+": mpconn listen vs Python's repr", got, prefixed(prefix, pyOut))
				continue
			}
			// Python 2 str values print as Python 2 prints them.
			clients[network]++
			prefix = fmt.Sprintf("client-%d: ", clients[network])
			pyOut = runPyClient(t, py, addrs[network], "-", "value", false, py2Strs)
			got = procs[network].readLines(t, len(py2Strs))
			equalLines(t, network+": mpconn listen vs Python 2's repr of str", got, prefixed(prefix, pyOut))
		}
	})
	unix.stop(t, syscall.SIGINT)
	tcp.stop(t, syscall.SIGTERM)
}

// TestListenReplyAuthKey: mpconn listen --authkey --reply; clients with the
// right key get the reply after each message, clients with a wrong key
// are refused and do not count.
func TestListenReplyAuthKey(t *testing.T) {
	p := start(t, nil, "listen", "--authkey", "sesame", "--reply", "[1, (2.5, None)]")
	addr := p.listening(t)
	right, wrong := hex.EncodeToString([]byte("sesame")), hex.EncodeToString([]byte("wrong"))
	n := 0
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		if got := runPyClient(t, py, addr, wrong, "value", true, []string{"1"}); len(got) != 1 || got[0] != "error AuthenticationError" {
			t.Errorf("wrong key: %q, want error AuthenticationError", got)
		}
		n++
		got := runPyClient(t, py, addr, right, "value", true, []string{"1", "(2,)"})
		equalLines(t, "Python client", got, []string{"1", "reply [1, (2.5, None)]", "(2,)", "reply [1, (2.5, None)]"})
		prefix := fmt.Sprintf("client-%d: ", n)
		equalLines(t, "mpconn listen", p.readLines(t, 2), []string{prefix + "1", prefix + "(2,)"})
	})
	// A Go client with the key written in hex, and one without a key.
	code, stdout, stderr := runMpconn(t, "send", "--authkey-hex", right, addr, "'go'")
	if code != 0 || stdout != "[1, (2.5, None)]\n" {
		t.Errorf("mpconn send with the key: status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	equalLines(t, "mpconn listen", p.readLines(t, 1), []string{fmt.Sprintf("client-%d: 'go'", n+1)})
	code, stdout, stderr = runMpconn(t, "send", addr, "1")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "give --authkey") {
		t.Errorf("mpconn send without a key: status %d, stdout %q, stderr %q; want 1 and advice", code, stdout, stderr)
	}
	p.stop(t, syscall.SIGTERM)
	if !strings.Contains(p.stderr.String(), "handshake") {
		t.Errorf("no handshake error logged for the wrong keys; stderr: %q", p.stderr.String())
	}
}

// TestListenUndecodable: a message that is not a pickle prints a line
// saying so and the connection goes on.
func TestListenUndecodable(t *testing.T) {
	p := start(t, nil, "listen")
	addr := p.listening(t)
	n := 0
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		runPyClient(t, py, addr, "-", "junk", false, []string{"[1]"})
		n++
		got := p.readLines(t, 2)
		prefix := fmt.Sprintf("client-%d: ", n)
		if !strings.HasPrefix(got[0], prefix+"undecodable (12 bytes): pickle:") {
			t.Errorf("line 1: %q, want %q and the error", got[0], prefix+"undecodable (12 bytes): pickle:")
		}
		if got[1] != prefix+"[1]" {
			t.Errorf("line 2: %q, want %q", got[1], prefix+"[1]")
		}
	})
	p.stop(t, syscall.SIGTERM)
}

// TestListenBytes: with --bytes, messages print as hex and the reply is
// sent raw.
func TestListenBytes(t *testing.T) {
	p := start(t, nil, "listen", "--bytes", "--reply", "pong")
	addr := p.listening(t)
	n := 0
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		got := runPyClient(t, py, addr, "-", "bytes", true, []string{"hello", "", "\u00e9"})
		equalLines(t, "Python client", got, []string{"68656c6c6f", "reply 706f6e67", "", "reply 706f6e67", "c3a9", "reply 706f6e67"})
		n++
		prefix := fmt.Sprintf("client-%d: ", n)
		equalLines(t, "mpconn listen", p.readLines(t, 3), []string{prefix + "68656c6c6f", prefix, prefix + "c3a9"})
	})
	p.stop(t, syscall.SIGTERM)
}

// TestListenConcurrentClients: two connections of one Python process
// are served at once: each gets its reply while the other is open.
func TestListenConcurrentClients(t *testing.T) {
	p := start(t, nil, "listen", "--reply", "[True]")
	addr := p.listening(t)
	n := 0
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		got := runPyClient(t, py, addr, "-", "two", true, []string{"2", "1", "(2,)"})
		equalLines(t, "Python client", got, []string{"sent 2 2", "reply [True]", "sent 1 1", "reply [True]", "sent 2 (2,)", "reply [True]"})
		first, second := fmt.Sprintf("client-%d: ", n+1), fmt.Sprintf("client-%d: ", n+2)
		n += 2
		equalLines(t, "mpconn listen", p.readLines(t, 3), []string{second + "2", first + "1", second + "(2,)"})
	})
	p.stop(t, syscall.SIGINT)
}

// TestListenGoClients: mpconn send talks to mpconn listen, without
// Python.
func TestListenGoClients(t *testing.T) {
	p := start(t, nil, "listen", "--reply", "{'ok': True}")
	addr := p.listening(t)
	values := sendValues
	code, stdout, stderr := runMpconn(t, append([]string{"send", addr}, values...)...)
	if code != 0 {
		t.Fatalf("mpconn send: status %d, stderr %q", code, stderr)
	}
	want := make([]string, len(values))
	for i := range want {
		want[i] = "{'ok': True}"
	}
	equalLines(t, "mpconn send", splitLines(stdout), want)
	equalLines(t, "mpconn listen", p.readLines(t, len(values)), prefixed("client-1: ", goReprs(t, values)))
	p.stop(t, syscall.SIGTERM)
}

func TestListenBadCommandLines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"two addresses", []string{"listen", "a", "b"}, "too many arguments"},
		{"unknown flag", []string{"listen", "--bogus"}, "flag provided but not defined"},
		{"bad reply", []string{"listen", "--reply", "[1,"}, `--reply "[1,": invalid literal at offset 3`},
		{"both keys", []string{"listen", "--authkey", "k", "--authkey-hex", "6b"}, "not both"},
		{"bad hex key", []string{"listen", "--authkey-hex", "zz"}, "--authkey-hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runMpconn(t, tc.args...)
			if code != 2 {
				t.Errorf("status %d, want 2", code)
			}
			if !strings.Contains(stderr, tc.stderr) || !strings.Contains(stderr, "usage: mpconn listen") {
				t.Errorf("stderr %q does not contain %q and the usage", stderr, tc.stderr)
			}
		})
	}
	code, out, _ := runMpconn(t, "listen", "-h")
	for _, f := range []string{"-authkey", "-authkey-hex", "-bytes", "-reply", "usage: mpconn listen"} {
		if !strings.Contains(out, f) {
			t.Errorf("mpconn listen -h does not mention %s", f)
		}
	}
	if code != 0 {
		t.Errorf("mpconn listen -h: status %d, want 0", code)
	}
}
