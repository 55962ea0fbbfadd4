package ductworks

import (
	"bufio"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/internal/cpython"
)

// pyDuct is a minimal Python implementation of ductworks' message framing
// (ductworks.message_duct: struct '!cL', magic b'\x54', UTF-8 JSON),
// written for this test since ductworks itself is not installed. It runs
// on CPython 2.7 and 3. It prints its frame for "hi", then connects to the
// TCP port in argv[1] and answers each message with an echo, until it
// receives null; "bad" makes it send a frame with a wrong magic byte.
const pyDuct = `
import binascii, json, socket, struct, sys
MAGIC = b'\x54'

def frame(obj):
    data = json.dumps(obj).encode('utf-8')
    return struct.pack('!cL', MAGIC, len(data)) + data

def recv_exact(s, n):
    parts, got = [], 0
    while got < n:
        chunk = s.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError('remote duct closed mid-message')
        parts.append(chunk)
        got += len(chunk)
    return b''.join(parts)

def recv(s):
    magic, n = struct.unpack('!cL', recv_exact(s, 5))
    if magic != MAGIC:
        raise ValueError('invalid magic byte')
    return json.loads(recv_exact(s, n).decode('utf-8', 'replace'))

sys.stdout.write(binascii.hexlify(frame("hi")).decode('ascii') + '\n')
sys.stdout.flush()
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
version = '%d.%d' % sys.version_info[:2]
while True:
    obj = recv(s)
    if obj is None:
        break
    if obj == 'bad':
        s.sendall(b'\x00\x00\x00\x00\x01x')
        continue
    s.sendall(frame({'echo': obj, 'python': version}))
s.close()
`

func TestPythonFraming(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		ctx := testCtx(t)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		cmd := py.Command(ctx, pyDuct, port)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		line, err := bufio.NewReader(out).ReadString('\n')
		if want := "540000000422686922\n"; err != nil || line != want {
			t.Fatalf("Python's frame for \"hi\": %q, %v; want %q; stderr: %s", line, err, want, stderr.String())
		}
		nc, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c := NewConn(nc, nil)
		defer c.Close()

		type reply struct {
			Echo   any    `json:"echo"`
			Python string `json:"python"`
		}
		values := []any{
			"hi",
			"héllo ☃ \U0001F600",
			map[string]any{"a": []any{1.0, 2.5, nil, true}, "b": map[string]any{}},
			strings.Repeat("0123456789", 200_000), // 2 MB
			"",
		}
		for _, v := range values {
			if err := c.Send(ctx, v); err != nil {
				t.Fatal(err)
			}
			var r reply
			if err := c.Recv(ctx, &r); err != nil {
				t.Fatalf("%v; stderr: %s", err, stderr.String())
			}
			if r.Python != py.Version || !equalJSON(r.Echo, v) {
				t.Fatalf("reply %.80v from %q, want an echo of %.80v from %s", r.Echo, r.Python, v, py.Version)
			}
		}
		if err := c.Send(ctx, "bad"); err != nil {
			t.Fatal(err)
		}
		_, err = c.RecvBytes(ctx)
		var pe *mpconn.ProtocolError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "expected 54, got 00") {
			t.Fatalf("after a bad frame: %v", err)
		}
		if err := c.Send(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("python: %v; stderr: %s", err, stderr.String())
		}
	})
}

func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !equalJSON(x[k], y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}
