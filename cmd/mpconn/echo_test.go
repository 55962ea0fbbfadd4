package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/internal/platform"
)

// echoSizes are the payload sizes echoed in each test: empty, tiny, the
// largest payload written with its header, the smallest that is not, and
// one large enough to need many reads.
var echoSizes = []int{0, 1, 16384, 16385, 1 << 20}

// payload returns n bytes that differ with n and with the position.
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*7 + n) % 251)
	}
	return b
}

// checkEcho sends each of echoSizes over c and checks that the same bytes
// come back.
func checkEcho(t *testing.T, c *mpconn.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, n := range echoSizes {
		want := payload(n)
		if err := c.SendBytes(ctx, want); err != nil {
			t.Fatalf("send %d bytes: %v", n, err)
		}
		got, err := c.RecvBytes(ctx)
		if err != nil {
			t.Fatalf("receive the echo of %d bytes: %v", n, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("echo of %d bytes: got %d bytes that differ", n, len(got))
		}
	}
}

func dial(t *testing.T, addr string, opts *mpconn.DialOptions) *mpconn.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := mpconn.Dial(ctx, addr, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEchoListenUnix(t *testing.T) {
	p := start(t, nil, "echo", "--bytes")
	addr := p.listening(t)
	fi, err := os.Stat(addr)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("announced address %q is not a Unix socket: %v", addr, err)
	}
	// Two clients at once, each served in turn.
	c1 := dial(t, addr, nil)
	c2 := dial(t, addr, nil)
	checkEcho(t, c2)
	checkEcho(t, c1)
	p.stop(t, syscall.SIGTERM)
	if _, err := os.Stat(addr); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file %s still there after exit: %v", addr, err)
	}
}

func TestEchoListenTCP(t *testing.T) {
	p := start(t, nil, "echo", "--bytes", "127.0.0.1:0")
	addr := p.listening(t)
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("announced address %q, want 127.0.0.1:PORT", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n == 0 {
		t.Fatalf("announced address %q does not carry the bound port", addr)
	}
	checkEcho(t, dial(t, addr, nil))
	p.stop(t, os.Interrupt)
}

func TestEchoStopClosesOpenConnections(t *testing.T) {
	p := start(t, nil, "echo", "--bytes")
	c := dial(t, p.listening(t), nil)
	checkEcho(t, c)
	p.stop(t, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := c.RecvBytes(ctx); err != io.EOF {
		t.Fatalf("client receive after the server stopped: %v, want io.EOF", err)
	}
}

func TestEchoDial(t *testing.T) {
	l, err := mpconn.Listen("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := start(t, nil, "echo", "--bytes", "--dial", l.Address())
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEcho(t, c)
	c.Close()
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d after the peer closed, want 0 (stderr: %q)", code, p.stderr.String())
	}
}

func TestEchoDialRefused(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runMpconn(t, "echo", "--bytes", "--dial", dir+"/nobody")
	if code != 1 || !strings.Contains(stderr, "mpconn echo:") {
		t.Fatalf("status %d, stderr %q; want 1 and an error line", code, stderr)
	}
}

func TestEchoListenFails(t *testing.T) {
	addr := t.TempDir() + "/no/such/dir/sock"
	code, stdout, stderr := runMpconn(t, "echo", "--bytes", addr)
	if code != 1 || !strings.HasPrefix(stderr, "mpconn echo: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("status %d, stderr %q; want 1 and one error line", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want no listening line", stdout)
	}
}

func TestEchoFD(t *testing.T) {
	a, b, err := mpconn.Pipe(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f, err := b.File()
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, []*os.File{f}, "echo", "--bytes", "--fd", "3")
	f.Close()
	b.Close()
	checkEcho(t, a)
	a.Close()
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d after the peer closed, want 0 (stderr: %q)", code, p.stderr.String())
	}
}

// TestEchoFDStopsOnSignal: --fd mode ends with status 0 on SIGTERM while
// it waits for a message.
func TestEchoFDStopsOnSignal(t *testing.T) {
	a, b, err := mpconn.Pipe(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f, err := b.File()
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, []*os.File{f}, "echo", "--bytes", "--fd", "3")
	f.Close()
	b.Close()
	checkEcho(t, a) // it is running and waiting for the next message
	p.stop(t, syscall.SIGTERM)
}

func TestEchoFDNotOpen(t *testing.T) {
	code, _, stderr := runMpconn(t, "echo", "--bytes", "--fd", "57")
	if code != 1 || !strings.Contains(stderr, "descriptor 57") {
		t.Fatalf("status %d, stderr %q; want 1 and an error naming descriptor 57", code, stderr)
	}
}

// TestEchoBadClients checks that clients that break the protocol lose
// their own connection, with a line on standard error, and that everyone
// else is still served.
func TestEchoBadClients(t *testing.T) {
	p := start(t, nil, "echo", "--bytes")
	addr := p.listening(t)
	good := dial(t, addr, nil)
	checkEcho(t, good)

	for _, tc := range []struct {
		name   string
		send   []byte
		stderr string
	}{
		{"negative length", binary.BigEndian.AppendUint32(nil, 0xfffffffe), "negative message length"},
		{"half a message", append(binary.BigEndian.AppendUint32(nil, 100), "only ten b"...), "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("unix", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := nc.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			if tc.name == "half a message" {
				nc.(*net.UnixConn).CloseWrite()
			}
			// The server drops this connection: the client reads EOF.
			nc.SetReadDeadline(time.Now().Add(testTimeout))
			if n, err := nc.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("bad client read %d bytes, err %v; want the connection closed (EOF)", n, err)
			}
			waitFor(t, func() bool { return strings.Contains(p.stderr.String(), tc.stderr) },
				"an error line about "+tc.stderr, p)
			// The connection that was already open, and a new one, work.
			checkEcho(t, good)
			checkEcho(t, dial(t, addr, nil))
		})
	}
	for _, line := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		if !strings.HasPrefix(line, "mpconn echo: client ") {
			t.Errorf("stderr line %q: want one line per failed client, starting \"mpconn echo: client \"", line)
		}
	}
	p.stop(t, syscall.SIGTERM)
}

// linesWith counts the lines of s that contain sub.
func linesWith(s, sub string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t *testing.T, cond func() bool, what string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (stderr: %q)", what, p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEchoAuthenticated(t *testing.T) {
	p := start(t, nil, "echo", "--bytes", "--authkey", "sesame")
	addr := p.listening(t)
	checkEcho(t, dial(t, addr, &mpconn.DialOptions{AuthKey: []byte("sesame")}))

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, err := mpconn.Dial(ctx, addr, &mpconn.DialOptions{AuthKey: []byte("wrong")})
	if !errors.Is(err, mpconn.ErrAuthentication) {
		t.Fatalf("dial with the wrong key: %v, want ErrAuthentication", err)
	}
	waitFor(t, func() bool { return strings.Contains(p.stderr.String(), "handshake") },
		"a handshake error line", p)
	checkEcho(t, dial(t, addr, &mpconn.DialOptions{AuthKey: []byte("sesame")}))
	p.stop(t, syscall.SIGTERM)

	// The same key in hex: 73 65 73 61 6d 65 is "sesame".
	q := start(t, nil, "echo", "--bytes", "--authkey-hex", "736573616d65")
	checkEcho(t, dial(t, q.listening(t), &mpconn.DialOptions{AuthKey: []byte("sesame")}))
	q.stop(t, syscall.SIGTERM)
}

// TestEchoHandshakeFailures checks that clients failing the handshake are
// logged one line each and do not stop the listener. They send a
// 300-byte message where the 256-byte-capped challenge response belongs.
func TestEchoHandshakeFailures(t *testing.T) {
	p := start(t, nil, "echo", "--bytes", "--authkey", "sesame")
	addr := p.listening(t)
	junk := append(binary.BigEndian.AppendUint32(nil, 300), make([]byte, 300)...)
	for i := 1; i <= 2; i++ {
		nc, err := net.Dial("unix", addr)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		nc.SetDeadline(time.Now().Add(testTimeout))
		nc.Write(junk) // may fail if the server has already hung up
		// Whatever the server sent (a challenge), it then hangs up.
		if _, err := io.Copy(io.Discard, nc); err != nil && !errors.Is(err, platform.ECONNRESET) {
			t.Fatalf("client %d: %v, want the server to close the connection", i, err)
		}
		nc.Close()
		waitFor(t, func() bool { return linesWith(p.stderr.String(), "handshake") == i },
			"handshake error line "+strconv.Itoa(i), p)
	}
	p.stop(t, syscall.SIGTERM)
}

func TestEchoDialAuthenticated(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flagKey string
		ok      bool
	}{
		{"right key", "sesame", true},
		{"wrong key", "wrong", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := mpconn.Listen("", &mpconn.ListenOptions{AuthKey: []byte("sesame")})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			p := start(t, nil, "echo", "--bytes", "--authkey", tc.flagKey, "--dial", l.Address())
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			c, err := l.Accept(ctx)
			if !tc.ok {
				var he *mpconn.HandshakeError
				if !errors.As(err, &he) || !errors.Is(err, mpconn.ErrAuthentication) {
					t.Fatalf("accept: %v, want a *HandshakeError wrapping ErrAuthentication", err)
				}
				if code := p.wait(t); code != 1 {
					t.Fatalf("exit status %d, want 1 (stderr: %q)", code, p.stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkEcho(t, c)
			c.Close()
			if code := p.wait(t); code != 0 {
				t.Fatalf("exit status %d, want 0 (stderr: %q)", code, p.stderr.String())
			}
		})
	}
}
