package main

import (
	"encoding/hex"
	"strings"
	"syscall"
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
)

// pyEchoClient connects with multiprocessing.connection.Client (argv[1]
// the address, "host:port" or a path; argv[2] the key in hex or "-"),
// sends messages of several sizes, checks the echoes and prints "ok", or
// "error CLASS" when connecting fails. It runs on CPython 2.7 and 3.
const pyEchoClient = `
import binascii, sys
from multiprocessing.connection import Client
a = sys.argv[1]
if "/" not in a:
    host, port = a.rsplit(":", 1)
    a = (host, int(port))
key = None if sys.argv[2] == "-" else binascii.unhexlify(sys.argv[2])
try:
    c = Client(a, authkey=key)
except Exception as e:
    sys.stdout.write("error %s\n" % type(e).__name__)
    sys.exit(0)
for n in [0, 1, 16384, 16385, 1 << 20]:
    # byte i is (i*7 + n) % 251: period 251, so repeat the first 251.
    m = (bytes(bytearray((i * 7 + n) % 251 for i in range(251))) * (n // 251 + 1))[:n]
    c.send_bytes(m)
    if c.recv_bytes() != m:
        sys.stderr.write("echo of %d bytes differs\n" % n)
        sys.exit(1)
c.close()
sys.stdout.write("ok\n")
`

func pyClient(t *testing.T, py cpython.Python, addr, key string) string {
	t.Helper()
	out, err := py.Output(testTimeout, pyEchoClient, addr, key)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestEchoPythonClients: CPython clients of every installed version
// against mpconn echo, on a Unix socket and on TCP.
func TestEchoPythonClients(t *testing.T) {
	unix := start(t, nil, "echo", "--bytes")
	tcp := start(t, nil, "echo", "--bytes", "127.0.0.1:0")
	addrs := map[string]string{"unix": unix.listening(t), "tcp": tcp.listening(t)}
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		for _, network := range []string{"unix", "tcp"} {
			if got := pyClient(t, py, addrs[network], "-"); got != "ok" {
				t.Errorf("%s client over %s: %q, want ok", py, network, got)
			}
		}
	})
	unix.stop(t, syscall.SIGTERM)
	tcp.stop(t, syscall.SIGTERM)
}

// TestEchoPythonClientsAuthenticated: CPython clients with the right key
// and a wrong one against mpconn echo --authkey.
func TestEchoPythonClientsAuthenticated(t *testing.T) {
	p := start(t, nil, "echo", "--bytes", "--authkey", "sesame")
	addr := p.listening(t)
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		if got := pyClient(t, py, addr, hex.EncodeToString([]byte("sesame"))); got != "ok" {
			t.Errorf("right key: %q, want ok", got)
		}
		if got := pyClient(t, py, addr, hex.EncodeToString([]byte("wrong"))); got != "error AuthenticationError" {
			t.Errorf("wrong key: %q, want error AuthenticationError", got)
		}
	})
	p.stop(t, syscall.SIGTERM)
	if n := strings.Count(p.stderr.String(), "handshake"); n == 0 {
		t.Errorf("no handshake error logged for the wrong keys; stderr: %q", p.stderr.String())
	}
}

// pyFDParent makes a multiprocessing.Pipe, runs "mpconn echo --bytes --fd
// N" (argv[1] is the binary) on one end, checks echoes on the other, then
// closes it and checks that mpconn exits with status 0.
const pyFDParent = `
import os, subprocess, sys
from multiprocessing import Pipe
mine, theirs = Pipe()
fd = theirs.fileno()
args = [sys.argv[1], "echo", "--bytes", "--fd", str(fd)]
if sys.version_info[0] == 2:
    # Every descriptor is inherited: the child must not keep ours.
    child = subprocess.Popen(args, close_fds=False, preexec_fn=lambda: os.close(mine.fileno()))
else:
    child = subprocess.Popen(args, pass_fds=[fd])
theirs.close()
for n in [0, 1, 16384, 16385, 1 << 20]:
    # byte i is (i*7 + n) % 251: period 251, so repeat the first 251.
    m = (bytes(bytearray((i * 7 + n) % 251 for i in range(251))) * (n // 251 + 1))[:n]
    mine.send_bytes(m)
    if mine.recv_bytes() != m:
        sys.stderr.write("echo of %d bytes differs\n" % n)
        sys.exit(1)
mine.close()
code = child.wait()
if code != 0:
    sys.stderr.write("mpconn exited with %d\n" % code)
    sys.exit(1)
sys.stdout.write("ok\n")
`

// TestEchoFDPythonParent: mpconn echo --fd on the end of a CPython Pipe
// inherited from a Python parent.
func TestEchoFDPythonParent(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		out, err := py.Output(testTimeout, pyFDParent, mpconnBin)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != "ok" {
			t.Fatalf("%q, want ok", got)
		}
	})
}
