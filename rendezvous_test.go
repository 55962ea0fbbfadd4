package mpconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
	"github.com/mpconn/mpconn/internal/platform"
)

func init() {
	testChildren["rendezvous-child"] = rendezvousChild
}

// rendezvousChild is a child process that connects to the address in
// MPCONN_TEST_ADDR with DialRetry, sends a greeting, and echoes one
// message back.
func rendezvousChild() int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := DialRetry(ctx, os.Getenv("MPCONN_TEST_ADDR"), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	defer c.Close()
	if err := c.SendBytes(ctx, []byte(fmt.Sprintf("child %d", os.Getpid()))); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	msg, err := c.RecvBytes(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	if err := c.SendBytes(ctx, append([]byte("echo: "), msg...)); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

func childCommand(ctx context.Context, name string, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func TestRendezvousChildProcess(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			ctx := testCtx(t)
			r, err := NewRendezvous(network, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			addr := r.Address()
			if network == "unix" {
				if fi, err := os.Stat(addr); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
					t.Fatalf("socket file %s: %v, %v", addr, fi, err)
				}
			} else if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
				t.Fatalf("address %q: want 127.0.0.1 with a real port", addr)
			}
			cmd := childCommand(ctx, "rendezvous-child", "MPCONN_TEST_ADDR="+addr)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			c, err := r.Wait(ctx)
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatal(err)
			}
			defer c.Close()
			if network == "unix" {
				if _, err := os.Stat(addr); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("socket file still there after Wait: %v", err)
				}
				if _, err := os.Stat(filepath.Dir(addr)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("socket directory still there after Wait: %v", err)
				}
			} else {
				if nc, err := net.Dial("tcp", addr); err == nil {
					nc.Close()
					t.Errorf("still listening after Wait")
				}
			}
			msg, err := c.RecvBytes(ctx)
			if want := fmt.Sprintf("child %d", cmd.Process.Pid); err != nil || string(msg) != want {
				t.Fatalf("got %q, %v; want %q", msg, err, want)
			}
			if err := c.SendBytes(ctx, []byte("ping")); err != nil {
				t.Fatal(err)
			}
			msg, err = c.RecvBytes(ctx)
			if err != nil || string(msg) != "echo: ping" {
				t.Fatalf("got %q, %v", msg, err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child: %v", err)
			}
			if _, err := r.Wait(ctx); !errors.Is(err, net.ErrClosed) {
				t.Errorf("second Wait: %v, want net.ErrClosed", err)
			}
		})
	}
}

// TestDialRetryWaitsForListener starts DialRetry before anything listens
// at the address, and only listens once DialRetry has seen a failure.
func TestDialRetryWaitsForListener(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			ctx := testCtx(t)
			var addr string
			if network == "unix" {
				addr = filepath.Join(t.TempDir(), "later.sock")
			} else {
				addr = closedTCPAddress(t)
			}
			failed := make(chan error, 100)
			retryHook = func(attempt int, err error) {
				select {
				case failed <- err:
				default:
				}
			}
			defer func() { retryHook = nil }()
			type result struct {
				c   *Conn
				err error
			}
			done := make(chan result, 1)
			go func() {
				c, err := DialRetry(ctx, addr, nil)
				done <- result{c, err}
			}()
			first := <-failed
			var want error = syscall.ENOENT
			if network == "tcp" {
				want = platform.ECONNREFUSED
			}
			if !errors.Is(first, want) {
				t.Errorf("first failure %v, want %v", first, want)
			}
			l, err := Listen(addr, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			a, err := l.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			res := <-done
			if res.err != nil {
				t.Fatal(res.err)
			}
			defer res.c.Close()
			if err := res.c.SendBytes(ctx, []byte("late")); err != nil {
				t.Fatal(err)
			}
			if msg, err := a.RecvBytes(ctx); err != nil || string(msg) != "late" {
				t.Fatalf("got %q, %v", msg, err)
			}
		})
	}
}

// closedTCPAddress returns a loopback address where nothing listens.
func closedTCPAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// deadlineOnCue is a context whose deadline passes when the test says so
// (pass), so that a test decides where in DialRetry's loop the deadline
// falls, whatever the scheduler does.
type deadlineOnCue struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newDeadlineOnCue() *deadlineOnCue {
	return &deadlineOnCue{Context: context.Background(), done: make(chan struct{})}
}

func (c *deadlineOnCue) pass()                 { c.once.Do(func() { close(c.done) }) }
func (c *deadlineOnCue) Done() <-chan struct{} { return c.done }
func (c *deadlineOnCue) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// TestDialRetryGivesUpAtDeadline: the deadline passes after the first
// refused attempt (while DialRetry waits to try again, or during the next
// connect, whichever the scheduler makes it); the error says both why
// DialRetry stopped and why the peer was not reached.
func TestDialRetryGivesUpAtDeadline(t *testing.T) {
	cases := []struct {
		name string
		addr string
		want error
	}{
		{"unix missing", filepath.Join(t.TempDir(), "never.sock"), syscall.ENOENT},
		{"tcp refused", closedTCPAddress(t), platform.ECONNREFUSED},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := newDeadlineOnCue()
			defer ctx.pass()
			retryHook = func(attempt int, err error) { ctx.pass() }
			defer func() { retryHook = nil }()
			c, err := DialRetry(ctx, tc.addr, nil)
			if err == nil {
				c.Close()
				t.Fatal("connected to nothing")
			}
			var re *RetryError
			if !errors.As(err, &re) || re.Attempts < 1 {
				t.Fatalf("error %v (%T), want *RetryError", err, err)
			}
			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, tc.want) {
				t.Errorf("error %v: want it to wrap %v and %v", err, context.DeadlineExceeded, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "mpconn: ") {
				t.Errorf("error text %q", err)
			}
		})
	}
}

// TestDialRetryCutShort: when the deadline interrupts an attempt in the
// middle of connecting, that attempt's error ("i/o timeout") says nothing
// of the peer; the error reports the attempt before.
func TestDialRetryCutShort(t *testing.T) {
	addr := closedTCPAddress(t)
	refused, err := Dial(testCtx(t), addr, nil)
	if err == nil {
		refused.Close()
		t.Fatal("connected to nothing")
	}
	if !errors.Is(err, platform.ECONNREFUSED) {
		t.Fatalf("Dial: %v, want ECONNREFUSED", err)
	}
	ctx := newDeadlineOnCue()
	ctx.pass()
	_, cut := Dial(ctx, addr, nil) // the deadline has passed: cut short before connecting
	if cut == nil || !cutShort(ctx, cut) {
		t.Fatalf("Dial with a passed deadline: %v, want it cut short", cut)
	}
	re := retryGiveUp(ctx, 2, cut, err)
	if re.Last != err || !errors.Is(re, platform.ECONNREFUSED) || !errors.Is(re, context.DeadlineExceeded) {
		t.Errorf("gave up with %v, want the refused attempt's error and the deadline", re)
	}
	// An error of the peer's own is kept, whatever came before.
	hs := &net.OpError{Op: "dial", Net: "tcp", Err: &AuthError{Reason: "digest mismatch"}}
	if re := retryGiveUp(ctx, 2, hs, err); re.Last != hs {
		t.Errorf("gave up with %v, want the last attempt's own error", re)
	}
}

func TestDialRetryFatalError(t *testing.T) {
	// A path too long for sun_path fails with EINVAL, which no retry cures.
	long := "/" + strings.Repeat("x", 200)
	ctx := testCtx(t)
	_, err := DialRetry(ctx, long, nil)
	if err == nil {
		t.Fatal("no error")
	}
	var re *RetryError
	if errors.As(err, &re) {
		t.Fatalf("retried a fatal error: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("DialRetry waited for the deadline")
	}
	if _, err := DialRetry(ctx, "", nil); err == nil {
		t.Fatal("empty address accepted")
	}
}

func TestRendezvousWaitTimeoutThenAgain(t *testing.T) {
	ctx := testCtx(t)
	r, err := NewRendezvous("unix", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if c, err := r.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("Wait with nobody: %v", err)
	}
	// Still listening: a child can come now.
	d, err := Dial(ctx, r.Address(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := r.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := d.SendBytes(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if msg, err := c.RecvBytes(ctx); err != nil || string(msg) != "x" {
		t.Fatalf("got %q, %v", msg, err)
	}
	// A second client finds nobody.
	if d2, err := Dial(ctx, r.Address(), nil); err == nil {
		d2.Close()
		t.Fatal("a second client connected")
	}
}

func TestRendezvousCloseUnblocksWait(t *testing.T) {
	r, err := NewRendezvous("tcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		c, err := r.Wait(context.Background())
		if c != nil {
			c.Close()
		}
		errc <- err
	}()
	r.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Wait after Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestNewRendezvousBadNetwork(t *testing.T) {
	if r, err := NewRendezvous("udp", nil); err == nil {
		r.Close()
		t.Fatal("udp accepted")
	}
}

func TestPairOver(t *testing.T) {
	for _, network := range []string{"unix", "tcp", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			ctx := testCtx(t)
			p, c, err := PairOver(ctx, network, nil)
			if network == "tcp6" && err != nil && (errors.Is(err, platform.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT)) {
				t.Skipf("no IPv6 loopback on this machine: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			defer c.Close()
			if network == "unix" {
				path := p.LocalAddr().String()
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("socket file %q left behind: %v", path, err)
				}
			}
			if got := c.RemoteAddr().String(); got != p.LocalAddr().String() {
				t.Errorf("child's peer %s, parent's address %s", got, p.LocalAddr())
			}
			for i, pair := range [][2]*Conn{{p, c}, {c, p}} {
				want := fmt.Sprintf("message %d", i)
				if err := pair[0].SendBytes(ctx, []byte(want)); err != nil {
					t.Fatal(err)
				}
				if got, err := pair[1].RecvBytes(ctx); err != nil || string(got) != want {
					t.Fatalf("got %q, %v", got, err)
				}
			}
			c.Close()
			if _, err := p.RecvBytes(ctx); err != io.EOF {
				t.Fatalf("after the child closed: %v, want io.EOF", err)
			}
		})
	}
}

// TestRendezvousPythonChild has a CPython child connect with
// multiprocessing.connection.Client to a Go Rendezvous.
func TestRendezvousPythonChild(t *testing.T) {
	const script = `
import sys
from multiprocessing.connection import Client
network, addr = sys.argv[1], sys.argv[2]
if network == 'tcp':
    host, port = addr.rsplit(':', 1)
    addr = (host, int(port))
c = Client(addr)
c.send_bytes(('python %d.%d' % sys.version_info[:2]).encode('ascii'))
msg = c.recv_bytes()
c.send_bytes(b'echo: ' + msg)
c.close()
`
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		for _, network := range []string{"unix", "tcp"} {
			t.Run(network, func(t *testing.T) {
				ctx := testCtx(t)
				r, err := NewRendezvous(network, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				cmd := py.Command(ctx, script, network, r.Address())
				var stderr strings.Builder
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				c, err := r.Wait(ctx)
				if err != nil {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatal(err)
				}
				defer c.Close()
				msg, err := c.RecvBytes(ctx)
				if want := "python " + py.Version; err != nil || string(msg) != want {
					t.Fatalf("got %q, %v; want %q; stderr: %s", msg, err, want, stderr.String())
				}
				if err := c.SendBytes(ctx, []byte("ping")); err != nil {
					t.Fatal(err)
				}
				if msg, err := c.RecvBytes(ctx); err != nil || string(msg) != "echo: ping" {
					t.Fatalf("got %q, %v", msg, err)
				}
				if err := cmd.Wait(); err != nil {
					t.Fatalf("python: %v; stderr: %s", err, stderr.String())
				}
			})
		}
	})
}

// TestRendezvousAuthKey runs a keyed rendezvous: a client with the wrong
// key does not take the child's place.
func TestRendezvousAuthKey(t *testing.T) {
	ctx := testCtx(t)
	key := []byte("rendezvous key")
	opts := &ListenOptions{AuthKey: key}
	p, c, err := PairOver(ctx, "tcp", opts)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	c.Close()

	r, err := NewRendezvous("unix", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// An intruder with the wrong key fails and does not take the place.
	bad, err := Dial(ctx, r.Address(), &DialOptions{AuthKey: []byte("wrong")})
	if err == nil {
		bad.Close()
		t.Fatal("wrong key accepted")
	}
	done := make(chan error, 1)
	go func() {
		d, err := DialRetry(ctx, r.Address(), &DialOptions{AuthKey: key})
		if err == nil {
			err = d.SendBytes(ctx, []byte("authenticated"))
			d.Close()
		}
		done <- err
	}()
	a, err := r.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if msg, err := a.RecvBytes(ctx); err != nil || string(msg) != "authenticated" {
		t.Fatalf("got %q, %v", msg, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestRendezvousPythonChildAuthKey has CPython children authenticate to a
// keyed Rendezvous; one with the wrong key does not take the place of the
// right one.
func TestRendezvousPythonChildAuthKey(t *testing.T) {
	const script = `
import sys
from multiprocessing.connection import Client
addr, key = sys.argv[1], sys.argv[2].encode('ascii')
try:
    c = Client(addr, authkey=key)
except Exception as e:
    sys.stdout.write('refused: %s\n' % type(e).__name__)
    sys.exit(0)
c.send_bytes(b'authenticated')
c.close()
sys.stdout.write('ok\n')
`
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		ctx := testCtx(t)
		r, err := NewRendezvous("unix", &ListenOptions{AuthKey: []byte("right")})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		out, err := py.Output(30*time.Second, script, r.Address(), "wrong")
		if err != nil || !strings.HasPrefix(string(out), "refused: AuthenticationError") {
			t.Fatalf("wrong key: %q, %v", out, err)
		}
		cmd := py.Command(ctx, script, r.Address(), "right")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c, err := r.Wait(ctx)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%v; python stderr: %s", err, stderr.String())
		}
		defer c.Close()
		if msg, err := c.RecvBytes(ctx); err != nil || string(msg) != "authenticated" {
			t.Fatalf("got %q, %v", msg, err)
		}
		if err := cmd.Wait(); err != nil || stdout.String() != "ok\n" {
			t.Fatalf("python: %v, %q; stderr: %s", err, stdout.String(), stderr.String())
		}
	})
}
