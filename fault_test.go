//go:build unix

package mpconn

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Faults: a peer process killed in the middle of a message, a peer that
// closes while we write, and Close racing every other call.

func init() { testChildren["fault-slow-sender"] = faultSlowSender }

// faultMessageLen is the length the slow sender announces: 64 MiB.
const faultMessageLen = 64 << 20

// faultSlowSender is a child (the test binary run again) that connects
// to its parent (a Pipe end on descriptor 3, or the address in
// MPCONN_FAULT_ADDR), announces a 64 MiB message and sends part of it:
// MPCONN_FAULT_AFTER bytes of the frame (header included) at full speed.
// It then prints "sent N" on standard output and trickles the rest, one
// 64 KiB piece every 100 ms, until it is killed.
func faultSlowSender() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "fault child:", err)
		return 1
	}
	ctx := context.Background()
	var c *Conn
	var err error
	if addr := os.Getenv("MPCONN_FAULT_ADDR"); addr != "" {
		c, err = Dial(ctx, addr, &DialOptions{AuthKey: []byte("fault")})
	} else {
		c, err = FDConn(3, nil)
	}
	if err != nil {
		return fail(err)
	}
	after, err := strconv.Atoi(os.Getenv("MPCONN_FAULT_AFTER"))
	if err != nil {
		return fail(err)
	}
	// The frame: the header, then byte i of the frame is byte(i). Each
	// piece is made as it is sent, so that only what goes out is ever in
	// memory (64 MiB touched would cost a second of CPU time under the race
	// detector).
	var header [4]byte
	binary.BigEndian.PutUint32(header[:], faultMessageLen)
	send := func(off, end int) error {
		b := make([]byte, end-off)
		for j := range b {
			if i := off + j; i < 4 {
				b[j] = header[i]
			} else {
				b[j] = byte(i)
			}
		}
		_, err := c.t.Write(b)
		return err
	}
	const frameLen = 4 + faultMessageLen
	if err := send(0, after); err != nil {
		return fail(err)
	}
	fmt.Printf("sent %d\n", after)
	for off := after; off < frameLen; off += 64 << 10 {
		time.Sleep(100 * time.Millisecond)
		if err := send(off, min(off+64<<10, frameLen)); err != nil {
			return fail(err)
		}
	}
	return fail(errors.New("was not killed"))
}

// startFaultChild starts faultSlowSender with the given environment and
// extra files, and returns it with its first line of output.
func startFaultChild(t *testing.T, env []string, extra []*os.File) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), childEnv+"=fault-slow-sender"), env...)
	cmd.ExtraFiles = extra
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(stdout)
}

// A child killed with SIGKILL in the middle of sending a 64 MiB message:
// the parent's receive ends with io.ErrUnexpectedEOF, never a partial
// message.
func TestFaultPeerKilledMidMessage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		transport string
		after     int
	}{
		{"pipe, 8 MiB into the payload", "pipe", 8 << 20},
		{"pipe, mid header", "pipe", 2},
		{"pipe, after the header", "pipe", 4},
		{"tcp, 8 MiB into the payload", "tcp", 8 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			env := []string{"MPCONN_FAULT_AFTER=" + strconv.Itoa(tc.after)}
			var c *Conn
			var cmd *exec.Cmd
			var lines *bufio.Scanner
			if tc.transport == "pipe" {
				a, b := pipePair(t)
				f, err := b.File()
				if err != nil {
					t.Fatal(err)
				}
				cmd, lines = startFaultChild(t, env, []*os.File{f})
				f.Close()
				b.Close()
				c = a
			} else {
				l, err := Listen("127.0.0.1:0", &ListenOptions{AuthKey: []byte("fault")})
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				cmd, lines = startFaultChild(t, append(env, "MPCONN_FAULT_ADDR="+l.Address()), nil)
				if c, err = l.Accept(ctx); err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			type result struct {
				msg []byte
				err error
			}
			res := make(chan result, 1)
			go func() {
				m, err := c.RecvBytes(ctx)
				res <- result{m, err}
			}()
			// The child prints its line once its first Write returned: for
			// 8 MiB, all but what the socket buffers hold is then in our
			// receive.
			if !lines.Scan() || lines.Text() != "sent "+strconv.Itoa(tc.after) {
				t.Fatalf("child said %q", lines.Text())
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child: %v, want death by SIGKILL", err)
			}
			r := <-res
			if r.msg != nil || r.err != io.ErrUnexpectedEOF {
				t.Fatalf("receive: %d bytes, %v; want io.ErrUnexpectedEOF and no message", len(r.msg), r.err)
			}
			if m, err := c.RecvBytes(ctx); m != nil || err != io.ErrUnexpectedEOF {
				t.Fatalf("second receive: %d bytes, %v; want io.ErrUnexpectedEOF again", len(m), err)
			}
		})
	}
}

// faultConnPair returns two connected Conns over the given transport.
func faultConnPair(t *testing.T, ctx context.Context, transport string) (*Conn, *Conn) {
	t.Helper()
	switch transport {
	case "pipe":
		return pipePair(t)
	case "oneway":
		r, w, err := PipeOneWay(nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		return w, r
	}
	addr := ""
	if transport == "tcp" {
		addr = "127.0.0.1:0"
	}
	l, err := Listen(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cc := make(chan *Conn, 1)
	go func() {
		c, err := Dial(ctx, l.Address(), nil)
		if err != nil {
			t.Error(err)
		}
		cc <- c
	}()
	a, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := <-cc
	if b == nil {
		a.Close()
		t.FailNow()
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// isBrokenPeer reports whether err is what a write to a vanished peer
// gives: EPIPE or ECONNRESET, wrapped.
func isBrokenPeer(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// The peer closes its end while we write: the send fails with EPIPE or
// ECONNRESET (wrapped in a *net.OpError), it does not hang, and the
// process is not killed by SIGPIPE. Every later send fails too.
func TestFaultPeerClosesWhileWriting(t *testing.T) {
	for _, transport := range []string{"pipe", "oneway", "unix", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			ctx := testCtx(t)
			w, r := faultConnPair(t, ctx, transport)
			// Far more than the transport buffers hold: a Unix socket
			// about 200 KB each way (wmem_default: mpconn sets no buffer
			// size), an OS pipe 64 KiB (at most 1 MiB, pipe-max-size),
			// loopback TCP tens of MiB once autotuned (tcp_wmem and
			// tcp_rmem maxima, often 4 and 6 to 32 MiB). (Under the race
			// detector every write call checks the whole rest of the
			// message: 8 MiB where that is enough costs a fraction of
			// 64 MiB.)
			size := 8 << 20
			if transport == "tcp" {
				size = 64 << 20
			}
			big := make([]byte, size)
			errc := make(chan error, 1)
			go func() { errc <- w.SendBytes(ctx, big) }()
			// Take in some of the message, then close.
			buf := make([]byte, 1<<20)
			if _, err := io.ReadFull(r.t, buf); err != nil {
				t.Fatal(err)
			}
			r.Close()
			err := <-errc
			var oe *net.OpError
			if !isBrokenPeer(err) || !errors.As(err, &oe) {
				t.Fatalf("send: %v, want a *net.OpError wrapping EPIPE or ECONNRESET", err)
			}
			if errors.Is(err, net.ErrClosed) {
				t.Fatalf("send: %v: net.ErrClosed is for our own Close", err)
			}
			if err := w.SendBytes(ctx, []byte("again")); !isBrokenPeer(err) {
				t.Fatalf("next send: %v, want EPIPE or ECONNRESET", err)
			}
			// A small message to a peer already gone.
			if err := w.SendBytes(ctx, []byte("small")); !isBrokenPeer(err) {
				t.Fatalf("small send: %v, want EPIPE or ECONNRESET", err)
			}
			// Our own Close turns later errors into net.ErrClosed.
			w.Close()
			if err := w.SendBytes(ctx, []byte("x")); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("send after Close: %v, want net.ErrClosed", err)
			}
		})
	}
}

// Close races Send, Recv, Poll, Readable and Writable from many goroutines:
// nothing panics, every call returns, calls that fail because of the Close
// report net.ErrClosed, and no goroutine is left behind.
func TestFaultCloseRacesCalls(t *testing.T) {
	iterations := 300
	if raceEnabled {
		iterations = 60
	}
	leaks := goleak.IgnoreCurrent()
	rng := rand.New(rand.NewSource(7))
	ctx := testCtx(t)
	for it := range iterations {
		transport := []string{"pipe", "unix", "tcp"}[it%3]
		a, b := faultConnPair(t, ctx, transport)
		// b drains and echoes until a is closed; a stays the only end that
		// closes, so every failure on a is caused by the Close.
		var peer sync.WaitGroup
		peer.Add(1)
		go func() {
			defer peer.Done()
			for {
				m, err := b.RecvBytes(ctx)
				if err != nil {
					return
				}
				b.SendBytes(ctx, m)
			}
		}()
		errs := make(chan error, 64)
		var wg sync.WaitGroup
		call := func(name string, f func() error) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if err := f(); err != nil {
						errs <- fmt.Errorf("%s: %w", name, err)
						return
					}
				}
			}()
		}
		for g := range 4 {
			p := make([]byte, []int{10, 20000, 100000, 0}[g])
			call("send", func() error { return a.SendBytes(ctx, p) })
			call("recv", func() error { _, err := a.RecvBytes(ctx); return err })
		}
		call("poll", func() error { _, err := a.Poll(ctx, time.Millisecond); return err })
		call("poll0", func() error { _, err := a.Poll(ctx, 0); return err })
		call("state", func() error {
			if a.Closed() && (a.Readable() || a.Writable()) {
				return errors.New("readable or writable after Close")
			}
			if a.Closed() {
				return net.ErrClosed
			}
			return nil
		})
		time.Sleep(time.Duration(rng.Intn(2000)) * time.Microsecond)
		var closers sync.WaitGroup
		for range 3 {
			closers.Add(1)
			go func() { defer closers.Done(); a.Close() }()
		}
		closers.Wait()
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("iteration %d (%s): %v, want net.ErrClosed", it, transport, err)
			}
		}
		b.Close()
		peer.Wait()
	}
	goleak.VerifyNone(t, leaks)
}

// Listener.Close races Accept from many goroutines while clients connect:
// every Accept returns (a connection, or net.ErrClosed), and no goroutine
// is left behind.
func TestFaultListenerCloseRacesAccept(t *testing.T) {
	iterations := 100
	if raceEnabled {
		iterations = 40
	}
	leaks := goleak.IgnoreCurrent()
	ctx := testCtx(t)
	rng := rand.New(rand.NewSource(8))
	for it := range iterations {
		var opts *ListenOptions
		if it%2 == 1 {
			opts = &ListenOptions{AuthKey: []byte("k")}
		}
		l, err := Listen("", opts)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c, err := l.Accept(ctx)
					if err != nil {
						errs <- err
						return
					}
					c.Close()
				}
			}()
		}
		var dialers sync.WaitGroup
		for range 8 {
			dialers.Add(1)
			go func() {
				defer dialers.Done()
				dctx, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				var dopts *DialOptions
				if opts != nil {
					dopts = &DialOptions{AuthKey: []byte("k")}
				}
				if c, err := Dial(dctx, l.Address(), dopts); err == nil {
					c.Close()
				}
			}()
		}
		time.Sleep(time.Duration(rng.Intn(3000)) * time.Microsecond)
		l.Close()
		wg.Wait()
		dialers.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("iteration %d: Accept: %v, want net.ErrClosed", it, err)
			}
		}
	}
	goleak.VerifyNone(t, leaks)
}
