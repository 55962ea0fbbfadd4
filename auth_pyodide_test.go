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

// pyodideAuthPeer is testdata/py/auth_peer.py in serve mode under
// Pyodide: one process, started once for a test's Pyodide row (Pyodide
// takes seconds to start), that runs each handshake it is told of over a
// new pair of FIFOs (Pyodide has no sockets).
type pyodideAuthPeer struct {
	stdin   io.WriteCloser
	lines   chan string // result lines
	stderr  *strings.Builder
	stderrM *sync.Mutex
	done    chan struct{}
	broken  bool
}

// activePyodideAuth is the peer of the running Pyodide row, if any (the
// handshake subtests of a row run one after the other).
var activePyodideAuth *pyodideAuthPeer

// startPyodideAuthServer starts the serve-mode peer for t's row and stops
// it when t ends.
func startPyodideAuthServer(t *testing.T, py cpython.Python) {
	t.Helper()
	script, err := os.ReadFile(filepath.Join("testdata", "py", "auth_peer.py"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := py.Command(context.Background(), string(script), "serve")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &pyodideAuthPeer{stdin: stdin, lines: make(chan string, 1), stderr: new(strings.Builder), stderrM: new(sync.Mutex), done: make(chan struct{})}
	cmd.Stderr = lockedWriter{p.stderr, p.stderrM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		cmd.Wait()
	}()
	t.Cleanup(func() {
		activePyodideAuth = nil
		stdin.Close() // the script's loop ends
		select {
		case <-p.done:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			<-p.done
		}
	})
	// Started (which takes seconds, more on a busy machine) before any
	// handshake's deadline runs.
	select {
	case l := <-p.lines:
		if l != "READY" {
			p.stderrM.Lock()
			defer p.stderrM.Unlock()
			t.Fatalf("Pyodide peer printed %q; stderr:\n%s", l, p.stderr.String())
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("Pyodide peer not started after 5 minutes")
	}
	activePyodideAuth = p
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
// handshake of the serve-mode peer, over two new FIFOs.
func startPyodideAuthPeer(t *testing.T, ctx context.Context, mode string, key []byte, digest string) (*testFrameConn, func() string) {
	t.Helper()
	p := activePyodideAuth
	if p == nil {
		t.Fatal("no Pyodide peer running for this row")
	}
	if p.broken {
		t.Fatal("the Pyodide peer is out of step after an earlier handshake gave no result")
	}
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
	keyhex := hex.EncodeToString(key)
	if keyhex == "" {
		keyhex = "-"
	}
	if _, err := fmt.Fprintf(p.stdin, "%s %s %s %s %s\n", mode, keyhex, digest, toPy, fromPy); err != nil {
		t.Fatalf("Pyodide peer: %v", err)
	}
	var once sync.Once
	var out string
	wait := func() string {
		once.Do(func() {
			select {
			case l, ok := <-p.lines:
				if ok {
					out = l
					return
				}
				p.stderrM.Lock()
				out = "[pyodide exited; stderr: " + p.stderr.String() + "]"
				p.stderrM.Unlock()
			case <-ctx.Done():
				out = "[no result line before the deadline]"
				p.broken = true // its line, if it comes, would be taken as the next one's
			}
		})
		return out
	}
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
