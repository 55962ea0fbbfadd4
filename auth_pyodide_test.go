//go:build unix

package mpconn

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
	"golang.org/x/sys/unix"
)

// authServer is testdata/py/auth_peer.py in a serve mode: one process
// per version row of TestHandshakeCPython, started once, that runs each
// handshake it is told of on a new connection and prints its result line.
// Under Pyodide ("serve"), which has no sockets and takes seconds to
// start, the connection is a new pair of FIFOs; under CPython
// ("connect"), a new connection to a Unix socket the test listens on (a
// CPython start-up costs as much CPU as a dozen handshakes).
type authServer struct {
	stdin   io.WriteCloser
	lines   chan string // result lines
	stderr  *strings.Builder
	stderrM *sync.Mutex
	done    chan struct{}
	broken  bool
}

// activeAuthServer is the peer of the running row, if any (the handshake
// subtests of a row run one after the other).
var activeAuthServer *authServer

// startAuthServer starts the serve-mode peer for t's row and stops it
// when t ends; t fails then if the peer wrote anything on its standard
// error.
func startAuthServer(t *testing.T, py cpython.Python) {
	t.Helper()
	script, err := os.ReadFile(filepath.Join("testdata", "py", "auth_peer.py"))
	if err != nil {
		t.Fatal(err)
	}
	mode := "connect"
	if py.Pyodide {
		mode = "serve"
	}
	cmd := py.Command(context.Background(), string(script), mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &authServer{stdin: stdin, lines: make(chan string, 1), stderr: new(strings.Builder), stderrM: new(sync.Mutex), done: make(chan struct{})}
	cmd.Stderr = lockedWriter{p.stderr, p.stderrM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		waitErr = cmd.Wait()
	}()
	t.Cleanup(func() {
		activeAuthServer = nil
		stdin.Close() // the script's loop ends
		select {
		case <-p.done:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			<-p.done
		}
		p.stderrM.Lock()
		defer p.stderrM.Unlock()
		if waitErr != nil || p.stderr.Len() > 0 {
			t.Errorf("%s auth_peer.py %s: exit: %v; stderr:\n%s", py, mode, waitErr, p.stderr.String())
		}
	})
	// Started (which takes seconds under Pyodide, more on a busy machine)
	// before any handshake's deadline runs.
	select {
	case l := <-p.lines:
		if l != "READY" {
			p.stderrM.Lock()
			defer p.stderrM.Unlock()
			t.Fatalf("%s peer printed %q; stderr:\n%s", py, l, p.stderr.String())
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("%s peer not started after 5 minutes", py)
	}
	activeAuthServer = p
}

// next tells the serve-mode peer of the next handshake (line, without its
// newline) and returns the function that waits for its result line.
func (p *authServer) next(t *testing.T, ctx context.Context, line string) func() string {
	t.Helper()
	if p.broken {
		t.Fatal("the serve-mode peer is out of step after an earlier handshake gave no result")
	}
	if _, err := fmt.Fprintf(p.stdin, "%s\n", line); err != nil {
		t.Fatalf("serve-mode peer: %v", err)
	}
	var once sync.Once
	var out string
	return func() string {
		once.Do(func() {
			select {
			case l, ok := <-p.lines:
				if ok {
					out = l
					return
				}
				p.stderrM.Lock()
				out = "[the peer exited; stderr: " + p.stderr.String() + "]"
				p.stderrM.Unlock()
			case <-ctx.Done():
				out = "[no result line before the deadline]"
				p.broken = true // its line, if it comes, would be taken as the next one's
			}
		})
		return out
	}
}

// authKeyArg is key in hex for a serve-mode line, "-" if empty.
func authKeyArg(key []byte) string {
	if len(key) == 0 {
		return "-"
	}
	return hex.EncodeToString(key)
}

// startServedAuthPeer is startAuthPeer for a row with a serve-mode peer
// running (ok false without one): the next handshake, on a new connection.
func startServedAuthPeer(t *testing.T, ctx context.Context, py cpython.Python, mode string, key []byte, digest string) (fc *testFrameConn, wait func() string, ok bool) {
	t.Helper()
	p := activeAuthServer
	if p == nil {
		if py.Pyodide {
			t.Fatal("no Pyodide peer running for this row")
		}
		return nil, nil, false
	}
	if py.Pyodide {
		fc, wait := startPyodideAuthPeer(t, ctx, p, mode, key, digest)
		return fc, wait, true
	}
	dir, err := os.MkdirTemp("", "mpauth")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if d, ok := ctx.Deadline(); ok {
		ln.SetDeadline(d)
	}
	wait = p.next(t, ctx, fmt.Sprintf("%s %s %s %s", mode, authKeyArg(key), digest, path))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("accepting the peer's connection: %v (python: %s)", err, wait())
	}
	// Every handshake's line is read, even of a test that stops early, so
	// that the next one gets its own.
	t.Cleanup(func() { c.Close(); wait() })
	return &testFrameConn{c: c}, wait, true
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startPyodideAuthPeer is startAuthPeer for the Pyodide row: the next
// handshake of its serve-mode peer p, over two new FIFOs.
func startPyodideAuthPeer(t *testing.T, ctx context.Context, p *authServer, mode string, key []byte, digest string) (*testFrameConn, func() string) {
	t.Helper()
	dir := t.TempDir()
	toPy, fromPy := filepath.Join(dir, "to-py"), filepath.Join(dir, "from-py")
	for _, f := range []string{toPy, fromPy} {
		if err := unix.Mkfifo(f, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Opened read-write, which does not wait for the other side (Linux):
	// Python's opens then do not wait either. Go never sees EOF on its
	// read end this way; a Python that fails reports so on its result
	// line, and the test's deadline ends the reads.
	w, err := os.OpenFile(toPy, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(fromPy, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		t.Fatal(err)
	}
	fc := &fifoConn{r: r, w: w}
	t.Cleanup(func() { fc.Close() })
	wait := p.next(t, ctx, fmt.Sprintf("%s %s %s %s %s", mode, authKeyArg(key), digest, toPy, fromPy))
	// Every handshake's line is read, even of a test that stops early, so
	// that the next one gets its own.
	t.Cleanup(func() { fc.Close(); wait() })
	return &testFrameConn{c: fc}, wait
}

// fifoConn is a net.Conn over two FIFOs, one read and one written.
type fifoConn struct {
	r, w *os.File
}

func (c *fifoConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *fifoConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *fifoConn) Close() error                { return errors.Join(c.r.Close(), c.w.Close()) }
func (c *fifoConn) LocalAddr() net.Addr         { return fifoAddr(c.r.Name()) }
func (c *fifoConn) RemoteAddr() net.Addr        { return fifoAddr(c.w.Name()) }
func (c *fifoConn) SetDeadline(t time.Time) error {
	return errors.Join(c.r.SetDeadline(t), c.w.SetDeadline(t))
}
func (c *fifoConn) SetReadDeadline(t time.Time) error  { return c.r.SetReadDeadline(t) }
func (c *fifoConn) SetWriteDeadline(t time.Time) error { return c.w.SetWriteDeadline(t) }

type fifoAddr string

func (a fifoAddr) Network() string { return "fifo" }
func (a fifoAddr) String() string  { return string(a) }
