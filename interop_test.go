//go:build unix

package mpconn

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
	"golang.org/x/sys/unix"
)

// interopTimeout bounds each Python peer and each blocking call on the Go
// side, so that a broken peer fails the test instead of hanging it.
const interopTimeout = 60 * time.Second

// interopSizes are the payload sizes sent each way: empty, one byte, the
// largest payload CPython writes together with its header, the smallest
// it writes separately, and one that takes many reads.
var interopSizes = []int{0, 1, 16384, 16385, 1 << 20}

// interopPattern returns n bytes, byte i being (i*7 + n) % 251: it differs with
// the position and the length. testdata/interop/common.py computes the
// same.
func interopPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*7 + n) % 251)
	}
	return b
}

// interopScript returns the Python source of testdata/interop/NAME.py, after
// the shared helpers of common.py.
func interopScript(t *testing.T, name string) string {
	t.Helper()
	common, err := os.ReadFile(filepath.Join("testdata", "interop", "common.py"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join("testdata", "interop", name+".py"))
	if err != nil {
		t.Fatal(err)
	}
	return string(common) + "\n" + string(script)
}

// interopBuffer collects a peer's standard error while it runs.
type interopBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *interopBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *interopBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// interopPeer is a running child process: a Python script or the test binary.
type interopPeer struct {
	name   string
	cmd    *exec.Cmd
	lines  chan string // standard output, line by line; closed at EOF
	stderr *interopBuffer
	cancel context.CancelFunc
	waited bool
	// timeout bounds the wait for each line; interopTimeout by default.
	timeout time.Duration
}

// startInteropPython runs testdata/interop/NAME.py under py with args; extra
// files become descriptors 3, 4, ... in the child. The child is killed
// after interopTimeout or at the end of the test.
func startInteropPython(t *testing.T, py cpython.Python, name string, extra []*os.File, args ...string) *interopPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	cmd := py.Command(ctx, interopScript(t, name), args...)
	return startInteropPeer(t, py.String()+" "+name+".py", cmd, cancel, extra)
}

func startInteropPeer(t *testing.T, name string, cmd *exec.Cmd, cancel context.CancelFunc, extra []*os.File) *interopPeer {
	t.Helper()
	p := &interopPeer{name: name, cmd: cmd, lines: make(chan string, 16), stderr: &interopBuffer{}, cancel: cancel,
		timeout: interopTimeout}
	cmd.ExtraFiles = extra
	cmd.Stderr = p.stderr
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 5 * time.Second
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			p.lines <- s.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		cancel()
		if !p.waited {
			cmd.Wait()
		}
	})
	return p
}

// line returns the next line the peer prints.
func (p *interopPeer) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatalf("%s ended its output early; stderr:\n%s", p.name, p.stderr.String())
		}
		return l
	case <-time.After(p.timeout):
		t.Fatalf("%s printed nothing for %v; stderr:\n%s", p.name, p.timeout, p.stderr.String())
	}
	return ""
}

// expectLine checks that the next line the peer prints is want.
func (p *interopPeer) expectLine(t *testing.T, want string) {
	t.Helper()
	if got := p.line(t); got != want {
		t.Fatalf("%s printed %q, want %q; stderr:\n%s", p.name, got, want, p.stderr.String())
	}
}

// wait waits for the peer to exit and fails the test unless it exits
// with status 0 having printed nothing more.
func (p *interopPeer) wait(t *testing.T) {
	t.Helper()
	var extra []string
	for l := range p.lines {
		extra = append(extra, l)
	}
	err := p.cmd.Wait()
	p.waited = true
	if err != nil {
		t.Fatalf("%s: %v; stderr:\n%s", p.name, err, p.stderr.String())
	}
	if len(extra) > 0 {
		t.Fatalf("%s printed more than expected: %q", p.name, extra)
	}
}

// interopServer runs testdata/interop/NAME.py in serve mode for one
// version row: one interpreter runs the script once per line it is sent
// (see run in common.py), since a CPython start-up costs more CPU than
// what these scripts do. A subtest that fails stops the interpreter, which
// may be out of step; the next run starts another. When the row ends, the
// script must exit with status 0, having printed nothing more.
type interopServer struct {
	py    cpython.Python
	name  string
	p     *interopPeer
	stdin io.WriteCloser
}

func newInteropServer(t *testing.T, py cpython.Python, name string) *interopServer {
	s := &interopServer{py: py, name: name}
	t.Cleanup(func() {
		if s.p == nil {
			return
		}
		s.stdin.Close() // the script's loop ends
		stop := time.AfterFunc(interopTimeout, s.p.cancel)
		defer stop.Stop()
		s.p.wait(t)
		s.p.cancel()
	})
	return s
}

// run makes the script run once with args (words without spaces) and
// returns the peer to read its lines from.
func (s *interopServer) run(t *testing.T, args ...string) *interopPeer {
	t.Helper()
	if s.p == nil {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := s.py.Command(ctx, interopScript(t, s.name), "serve")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		p := &interopPeer{name: s.py.String() + " " + s.name + ".py serve", cmd: cmd, lines: make(chan string, 16),
			stderr: &interopBuffer{}, cancel: cancel, timeout: interopTimeout}
		cmd.Stderr = p.stderr
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				p.lines <- sc.Text()
			}
			close(p.lines)
		}()
		s.p, s.stdin = p, stdin
	}
	p := s.p
	t.Cleanup(func() {
		if t.Failed() && s.p == p {
			p.cancel()
			if !p.waited {
				p.cmd.Wait()
			}
			s.p, s.stdin = nil, nil
		}
	})
	if _, err := fmt.Fprintln(s.stdin, strings.Join(args, " ")); err != nil {
		t.Fatalf("%s: %v; stderr:\n%s", p.name, err, p.stderr.String())
	}
	return p
}

// interopCtx returns a context that ends after interopTimeout.
func interopCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	t.Cleanup(cancel)
	return ctx
}

// interopEchoUntilEOF echoes every message on c until the peer closes, checking
// that message k is interopPattern(interopSizes[k]).
func interopEchoUntilEOF(ctx context.Context, c *Conn) error {
	for k := 0; ; k++ {
		msg, err := c.RecvBytes(ctx)
		if err == io.EOF {
			if k != len(interopSizes) {
				return fmt.Errorf("EOF after %d messages, want %d", k, len(interopSizes))
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("message %d: %w", k, err)
		}
		if k >= len(interopSizes) || !bytes.Equal(msg, interopPattern(interopSizes[k])) {
			return fmt.Errorf("message %d (%d bytes) is not the expected pattern", k, len(msg))
		}
		if err := c.SendBytes(ctx, msg); err != nil {
			return fmt.Errorf("echo of message %d: %w", k, err)
		}
	}
}

// interopCheckEchoes sends every size over c and checks the echoes.
func interopCheckEchoes(t *testing.T, ctx context.Context, c *Conn) {
	t.Helper()
	for _, n := range interopSizes {
		want := interopPattern(n)
		if err := c.SendBytes(ctx, want); err != nil {
			t.Fatalf("send %d bytes: %v", n, err)
		}
		got, err := c.RecvBytes(ctx)
		if err != nil {
			t.Fatalf("receive the echo of %d bytes: %v", n, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("the echo of %d bytes differs (%d bytes back)", n, len(got))
		}
	}
}

// interopListenAddresses returns the Listener addresses of the socket tests: a
// fresh Unix socket, a Linux abstract socket with a fresh name, and TCP
// on the loopback with a free port.
func interopListenAddresses() []struct{ name, address string } {
	return []struct{ name, address string }{
		{"unix", ""},
		{"abstract", "@" + interopAbstractName()},
		{"tcp", "127.0.0.1:0"},
	}
}

// interopAbstractName returns a fresh name in the Linux abstract namespace.
func interopAbstractName() string {
	var r [8]byte
	rand.Read(r[:])
	return "mpconn-interop-" + hex.EncodeToString(r[:])
}

// interopKeyArg is how a script takes a key: hex, or "-" for none.
func interopKeyArg(key []byte) string {
	if key == nil {
		return "-"
	}
	return hex.EncodeToString(key)
}

// interopServeOne accepts one connection on l and echoes until the client
// closes; the result arrives on the returned channel.
func interopServeOne(ctx context.Context, l *Listener) <-chan error {
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept(ctx)
		if err != nil {
			done <- fmt.Errorf("accept: %w", err)
			return
		}
		defer c.Close()
		done <- interopEchoUntilEOF(ctx, c)
	}()
	return done
}

// TestInteropPythonClient: multiprocessing.connection.Client against a Go
// Listener, over a Unix socket and TCP.
func TestInteropPythonClient(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		clients := newInteropServer(t, py, "client_echo")
		for _, la := range interopListenAddresses() {
			t.Run(la.name, func(t *testing.T) {
				ctx := interopCtx(t)
				l, err := Listen(la.address, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				done := interopServeOne(ctx, l)
				p := clients.run(t, l.Address(), "-")
				p.expectLine(t, "ok")
				if err := <-done; err != nil {
					t.Fatalf("Go side: %v", err)
				}
				if la.name == "tcp" {
					ta, ok := l.LastAccepted().(*net.TCPAddr)
					if !ok || !ta.IP.IsLoopback() || ta.Port == 0 {
						t.Errorf("LastAccepted: %v, want the Python client's loopback address", l.LastAccepted())
					}
				}
			})
		}
	})
}

// startInteropListener runs listener_echo.py (listeners: its serve-mode
// interpreter) for family ("unix", "abstract" or "tcp") and returns it
// with the address it printed.
func startInteropListener(t *testing.T, listeners *interopServer, family string, key []byte) (*interopPeer, string) {
	where := "-"
	switch family {
	case "unix":
		dir, err := os.MkdirTemp("", "mpi-") // short: sun_path holds 108 bytes
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		where = dir
	case "abstract":
		where = interopAbstractName()
	}
	p := listeners.run(t, family, where, interopKeyArg(key))
	addr := p.line(t)
	switch family {
	case "unix":
		if !strings.HasPrefix(addr, where+"/") {
			t.Fatalf("Python listener address %q, want a path in %s", addr, where)
		}
	case "abstract":
		if addr != "@"+where {
			t.Fatalf("Python listener address %q, want @%s", addr, where)
		}
	}
	return p, addr
}

// TestInteropPythonListener: a Go Dial against a multiprocessing.connection
// Listener, over a Unix socket and TCP.
func TestInteropPythonListener(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		listeners := newInteropServer(t, py, "listener_echo")
		for _, family := range []string{"unix", "abstract", "tcp"} {
			t.Run(family, func(t *testing.T) {
				ctx := interopCtx(t)
				p, addr := startInteropListener(t, listeners, family, nil)
				c, err := Dial(ctx, addr, nil)
				if err != nil {
					t.Fatalf("dial %s: %v", addr, err)
				}
				interopCheckEchoes(t, ctx, c)
				c.Close()
				p.expectLine(t, "done")
			})
		}
	})
}

// interopPipeToChild returns a Pipe whose second end is a file for a child's
// ExtraFiles. The parent's copy of that end is closed once the child has
// started (see interopCloseAfterStart).
func interopPipeToChild(t *testing.T) (*Conn, *Conn, *os.File) {
	t.Helper()
	a, b, err := Pipe(nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := b.File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close(); f.Close() })
	return a, b, f
}

// interopCloseAfterStart closes the parent's copies of the end a child now holds,
// so that the child alone holds it and its exit is seen as EOF.
func interopCloseAfterStart(c *Conn, f *os.File) {
	f.Close()
	c.Close()
}

// TestInteropPipeChild: a Pipe end handed to a Python child, traffic both
// ways, recv_bytes_into and BufferTooShort in Python, RecvBytesInto and
// *BufferTooShortError in Go.
func TestInteropPipeChild(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		ctx := interopCtx(t)
		a, b, f := interopPipeToChild(t)
		p := startInteropPython(t, py, "pipe_child", []*os.File{f})
		interopCloseAfterStart(b, f)

		// Go -> Python, echoed back.
		interopCheckEchoes(t, ctx, a)
		// Python -> Go.
		for _, n := range interopSizes {
			got, err := a.RecvBytes(ctx)
			if err != nil {
				t.Fatalf("receive %d bytes from Python: %v", n, err)
			}
			if !bytes.Equal(got, interopPattern(n)) {
				t.Fatalf("from Python: %d bytes, want interopPattern(%d)", len(got), n)
			}
		}
		// Python's recv_bytes_into.
		if err := a.SendBytes(ctx, interopPattern(100)); err != nil {
			t.Fatal(err)
		}
		if err := a.SendBytes(ctx, interopPattern(50)); err != nil {
			t.Fatal(err)
		}
		if got, err := a.RecvBytes(ctx); err != nil || string(got) != "into ok" {
			t.Fatalf("Python's recv_bytes_into report: %q, %v; stderr:\n%s", got, err, p.stderr.String())
		}
		// Go's RecvBytesInto: too short, then at an offset.
		small := make([]byte, 10)
		_, err := a.RecvBytesInto(ctx, small, 0)
		var bts *BufferTooShortError
		if !errors.As(err, &bts) || !bytes.Equal(bts.Msg, interopPattern(100)) {
			t.Fatalf("RecvBytesInto a 10-byte buffer: %v, want *BufferTooShortError holding the 100-byte message", err)
		}
		buf := make([]byte, 64)
		n, err := a.RecvBytesInto(ctx, buf, 8)
		if err != nil || n != 50 || !bytes.Equal(buf[8:58], interopPattern(50)) {
			t.Fatalf("RecvBytesInto at offset 8: %d, %v; want the 50-byte message in buf[8:58]", n, err)
		}
		if err := a.SendBytes(ctx, []byte("bye")); err != nil {
			t.Fatal(err)
		}
		a.Close()
		p.expectLine(t, "eof")
		p.wait(t)
	})
}

func init() { testChildren["interop-echo"] = interopGoChild }

// interopGoChild is the child of TestInteropGoChild (the test binary run
// again): it greets its parent over the Pipe end on descriptor 3, then
// echoes until the parent closes, and exits 0 only on a clean EOF.
func interopGoChild() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "go child:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	c, err := FDConn(3, nil)
	if err != nil {
		return fail(err)
	}
	if err := c.SendBytes(ctx, []byte("hello from the child")); err != nil {
		return fail(err)
	}
	if err := interopEchoUntilEOF(ctx, c); err != nil {
		return fail(err)
	}
	c.Close()
	return 0
}

// TestInteropGoChild: a Pipe end handed to a Go child process (this test
// binary, re-run), which picks it up with FDConn.
func TestInteropGoChild(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx := interopCtx(t)
	a, b, f := interopPipeToChild(t)
	cctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	cmd := exec.CommandContext(cctx, exe)
	cmd.Env = append(os.Environ(), childEnv+"=interop-echo")
	p := startInteropPeer(t, "go child", cmd, cancel, []*os.File{f})
	interopCloseAfterStart(b, f)

	if got, err := a.RecvBytes(ctx); err != nil || string(got) != "hello from the child" {
		t.Fatalf("greeting: %q, %v; stderr:\n%s", got, err, p.stderr.String())
	}
	interopCheckEchoes(t, ctx, a)
	a.Close()
	// The child exits 0 only after a clean io.EOF.
	err = cmd.Wait()
	p.waited = true
	if err != nil {
		t.Fatalf("go child: %v; stderr:\n%s", err, p.stderr.String())
	}
}

// TestInteropOneWay: PipeOneWay with the write end, then the read end, in
// a Python child.
func TestInteropOneWay(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		t.Run("python writes", func(t *testing.T) {
			ctx := interopCtx(t)
			r, w, err := PipeOneWay(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			f, err := w.File()
			if err != nil {
				t.Fatal(err)
			}
			p := startInteropPython(t, py, "oneway", []*os.File{f}, "write")
			interopCloseAfterStart(w, f)
			for _, n := range interopSizes {
				got, err := r.RecvBytes(ctx)
				if err != nil {
					t.Fatalf("receive %d bytes: %v; stderr:\n%s", n, err, p.stderr.String())
				}
				if !bytes.Equal(got, interopPattern(n)) {
					t.Fatalf("%d bytes, want interopPattern(%d)", len(got), n)
				}
			}
			if _, err := r.RecvBytes(ctx); err != io.EOF {
				t.Fatalf("after the last message: %v, want io.EOF", err)
			}
			p.expectLine(t, "sent")
			p.wait(t)
		})
		t.Run("python reads", func(t *testing.T) {
			ctx := interopCtx(t)
			r, w, err := PipeOneWay(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			f, err := r.File()
			if err != nil {
				t.Fatal(err)
			}
			p := startInteropPython(t, py, "oneway", []*os.File{f}, "read")
			interopCloseAfterStart(r, f)
			for _, n := range interopSizes {
				if err := w.SendBytes(ctx, interopPattern(n)); err != nil {
					t.Fatalf("send %d bytes: %v; stderr:\n%s", n, err, p.stderr.String())
				}
			}
			w.Close()
			p.expectLine(t, "eof")
			p.wait(t)
		})
	})
}

// TestInteropEOF: how the end of a connection crosses between the
// languages.
func TestInteropEOF(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		t.Run("python closes", func(t *testing.T) {
			ctx := interopCtx(t)
			a, b, f := interopPipeToChild(t)
			p := startInteropPython(t, py, "eof", []*os.File{f}, "close")
			interopCloseAfterStart(b, f)
			if got, err := a.RecvBytes(ctx); err != nil || string(got) != "last" {
				t.Fatalf("last message: %q, %v", got, err)
			}
			if _, err := a.RecvBytes(ctx); err != io.EOF {
				t.Fatalf("after Python closed: %v, want io.EOF", err)
			}
			p.expectLine(t, "closed")
			p.wait(t)
		})
		for _, mode := range []string{"half-header", "half-payload"} {
			t.Run("python exits mid-message/"+mode, func(t *testing.T) {
				ctx := interopCtx(t)
				a, b, f := interopPipeToChild(t)
				p := startInteropPython(t, py, "eof", []*os.File{f}, mode)
				interopCloseAfterStart(b, f)
				if _, err := a.RecvBytes(ctx); !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("after Python wrote part of a message and exited: %v, want io.ErrUnexpectedEOF", err)
				}
				p.expectLine(t, "wrote")
				p.wait(t)
			})
		}
		t.Run("go closes", func(t *testing.T) {
			ctx := interopCtx(t)
			a, b, f := interopPipeToChild(t)
			p := startInteropPython(t, py, "eof", []*os.File{f}, "read-to-eof")
			interopCloseAfterStart(b, f)
			if err := a.SendBytes(ctx, []byte("last")); err != nil {
				t.Fatal(err)
			}
			a.Close()
			p.expectLine(t, "EOFError")
			p.wait(t)
		})
	})
}

// TestInteropFrames: frames written by hand in Python, as a CPython peer
// may legally send them.
func TestInteropFrames(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		t.Run("escape header with a small length", func(t *testing.T) {
			ctx := interopCtx(t)
			a, b, f := interopPipeToChild(t)
			p := startInteropPython(t, py, "frames", []*os.File{f}, "escape")
			interopCloseAfterStart(b, f)
			if got, err := a.RecvBytes(ctx); err != nil || string(got) != "hello" {
				t.Fatalf("escaped frame: %q, %v; want \"hello\"", got, err)
			}
			if got, err := a.RecvBytes(ctx); err != nil || len(got) != 0 {
				t.Fatalf("empty frame: %q, %v; want an empty message", got, err)
			}
			if _, err := a.RecvBytes(ctx); err != io.EOF {
				t.Fatalf("after the last frame: %v, want io.EOF", err)
			}
			p.expectLine(t, "wrote")
			p.wait(t)
		})
		// Unlike CPython's poll, Poll is true only for a whole message.
		t.Run("poll with half a message", func(t *testing.T) {
			ctx := interopCtx(t)
			a, b, f := interopPipeToChild(t)
			p := startInteropPython(t, py, "frames", []*os.File{f}, "partial")
			interopCloseAfterStart(b, f)
			// Python has written half the message and waits for "more".
			p.expectLine(t, "half")
			if ok, err := a.Poll(ctx, 0); ok || err != nil {
				t.Fatalf("Poll(0) with half a message: %v, %v; want false", ok, err)
			}
			if ok, err := a.Poll(ctx, 20*time.Millisecond); ok || err != nil {
				t.Fatalf("Poll(20ms) with half a message: %v, %v; want false", ok, err)
			}
			if err := a.SendBytes(ctx, []byte("more")); err != nil {
				t.Fatal(err)
			}
			if ok, err := a.Poll(ctx, -1); !ok || err != nil {
				t.Fatalf("Poll(-1) once the rest is sent: %v, %v; want true", ok, err)
			}
			if got, err := a.RecvBytes(ctx); err != nil || !bytes.Equal(got, interopPattern(1000)) {
				t.Fatalf("the message: %d bytes, %v; want interopPattern(1000)", len(got), err)
			}
			p.expectLine(t, "rest")
			p.wait(t)
		})
		// A receive cancelled part way through keeps what it has read.
		t.Run("cancelled receive with half a message", func(t *testing.T) {
			ctx := interopCtx(t)
			a, b, f := interopPipeToChild(t)
			p := startInteropPython(t, py, "frames", []*os.File{f}, "partial")
			interopCloseAfterStart(b, f)
			p.expectLine(t, "half")
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			_, err := a.RecvBytes(short)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("receive with half a message and a 20ms deadline: %v, want context.DeadlineExceeded", err)
			}
			if err := a.SendBytes(ctx, []byte("more")); err != nil {
				t.Fatal(err)
			}
			if got, err := a.RecvBytes(ctx); err != nil || !bytes.Equal(got, interopPattern(1000)) {
				t.Fatalf("the message after the cancelled receive: %d bytes, %v; want interopPattern(1000)", len(got), err)
			}
			p.expectLine(t, "rest")
			p.wait(t)
		})
	})
}

// TestInteropAuthPythonClient: an authenticating Python Client against a
// Go Listener with AuthKey, over a Unix socket and TCP, with the default
// (sha256) challenge and the legacy one, with the right key and a wrong
// one. The Python Client waits for the verdict before it challenges, so
// the Listener cannot send its verdict and its answer together.
func TestInteropAuthPythonClient(t *testing.T) {
	key := []byte("sesame")
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		clients := newInteropServer(t, py, "client_echo")
		for _, where := range []string{"", "127.0.0.1:0"} {
			for _, digest := range []string{"", "legacy"} {
				for _, right := range []bool{true, false} {
					name := fmt.Sprintf("%s/digest=%q/right key=%v", interopFamily(where), digest, right)
					t.Run(name, func(t *testing.T) {
						ctx := interopCtx(t)
						l, err := Listen(where, &ListenOptions{AuthKey: key, AuthDigest: digest})
						if err != nil {
							t.Fatal(err)
						}
						defer l.Close()
						done := interopServeOne(ctx, l)
						clientKey := key
						if !right {
							clientKey = []byte("wrong")
						}
						p := clients.run(t, l.Address(), interopKeyArg(clientKey))
						if right {
							p.expectLine(t, "ok")
							if err := <-done; err != nil {
								t.Fatalf("Go side: %v", err)
							}
							return
						}
						p.expectLine(t, "error AuthenticationError")
						err = <-done
						var he *HandshakeError
						if !errors.As(err, &he) || !errors.Is(err, ErrAuthentication) {
							t.Fatalf("Go Accept: %v, want a *HandshakeError wrapping ErrAuthentication", err)
						}
					})
				}
			}
		}
	})
}

func interopFamily(address string) string {
	if address == "" {
		return "unix"
	}
	return "tcp"
}

// TestInteropAuthPythonListener: a Go Dial with AuthKey against an
// authenticating Python Listener, over a Unix socket and TCP, sending the
// default (sha256) challenge and the legacy one, with the right key and a
// wrong one. Dial sends its challenge right behind its response: the
// Python Listener finds it waiting when it comes to read it. With a wrong
// key, Python rejects the response and drops the connection with that
// challenge unread; Dial must still report the rejection, not a reset.
func TestInteropAuthPythonListener(t *testing.T) {
	key := []byte("sesame")
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		listeners := newInteropServer(t, py, "listener_echo")
		for _, family := range []string{"unix", "tcp"} {
			for _, digest := range []string{"", "legacy"} {
				for _, right := range []bool{true, false} {
					t.Run(fmt.Sprintf("%s/digest=%q/right key=%v", family, digest, right), func(t *testing.T) {
						ctx := interopCtx(t)
						p, addr := startInteropListener(t, listeners, family, key)
						dialKey := key
						if !right {
							dialKey = []byte("wrong")
						}
						c, err := Dial(ctx, addr, &DialOptions{AuthKey: dialKey, AuthDigest: digest})
						if right {
							if err != nil {
								t.Fatalf("dial: %v; stderr:\n%s", err, p.stderr.String())
							}
							interopCheckEchoes(t, ctx, c)
							c.Close()
							p.expectLine(t, "done")
							return
						}
						if err == nil {
							c.Close()
							t.Fatal("dial with the wrong key succeeded")
						}
						var ae *AuthError
						if !errors.Is(err, ErrAuthentication) || !errors.As(err, &ae) || !strings.HasPrefix(ae.Reason, reasonRejected) {
							t.Fatalf("dial with the wrong key: %v, want an *AuthError saying %q", err, reasonRejected)
						}
						p.expectLine(t, "error AuthenticationError")
					})
				}
			}
		}
	})
}

// TestInteropFileIsBlocking checks what a child is handed: the descriptor
// of Conn.File, as exec.Cmd.ExtraFiles passes it (through File.Fd), must
// be in blocking mode, since CPython's Connection reads and writes it with
// plain blocking calls (a non-blocking one makes it fail with EAGAIN).
func TestInteropFileIsBlocking(t *testing.T) {
	a, b, err := Pipe(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	r, w, err := PipeOneWay(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, tc := range []struct {
		name string
		c    *Conn
	}{{"Pipe", b}, {"PipeOneWay read end", r}, {"PipeOneWay write end", w}} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tc.c.File()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
			if err != nil {
				t.Fatal(err)
			}
			if fl&unix.O_NONBLOCK != 0 {
				t.Errorf("the descriptor of File() is non-blocking; a Python child would fail with EAGAIN")
			}
		})
	}
}
