//go:build unix

package mpconn

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// Hostile peers against a real Listener: lying and broken headers,
// garbage in the handshake, silent clients, clients that vanish, and
// connection churn. Figures (memory, durations) are measured and logged,
// never asserted against a clock; assertions are on behaviour.

// echoServer accepts connections from a Listener and echoes every
// message back, counting what Accept returns.
type echoServer struct {
	l    *Listener
	done chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	accepted int
	hsErrs   []error
	other    error
	conns    map[*Conn]bool
}

func startEchoServer(t *testing.T, l *Listener) *echoServer {
	t.Helper()
	s := &echoServer{l: l, done: make(chan struct{}), conns: map[*Conn]bool{}}
	go s.loop()
	t.Cleanup(s.stop)
	return s
}

func (s *echoServer) loop() {
	defer close(s.done)
	for {
		c, err := s.l.Accept(context.Background())
		var he *HandshakeError
		switch {
		case errors.Is(err, net.ErrClosed):
			return
		case errors.As(err, &he):
			s.mu.Lock()
			s.hsErrs = append(s.hsErrs, err)
			s.mu.Unlock()
			continue
		case err != nil:
			s.mu.Lock()
			s.other = err
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		s.accepted++
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			ctx := context.Background()
			for {
				m, err := c.RecvBytes(ctx)
				if err != nil {
					return
				}
				if err := c.SendBytes(ctx, m); err != nil {
					return
				}
			}
		}()
	}
}

// stop closes the Listener and every connection, and waits for the
// server's goroutines.
func (s *echoServer) stop() {
	s.l.Close()
	<-s.done
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *echoServer) counts() (accepted int, hsErrs []error, other error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted, append([]error(nil), s.hsErrs...), s.other
}

// waitHandshakeErrors waits until the server has seen n handshake errors.
func (s *echoServer) waitHandshakeErrors(t *testing.T, ctx context.Context, n int) []error {
	t.Helper()
	for {
		_, errs, other := s.counts()
		if other != nil {
			t.Fatalf("Accept: %v", other)
		}
		if len(errs) >= n {
			return errs
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d handshake errors, want %d", len(errs), n)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// checkServes dials the Listener with key and checks a round trip.
func checkServes(t *testing.T, ctx context.Context, l *Listener, key []byte) {
	t.Helper()
	c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: key})
	if err != nil {
		t.Fatalf("the Listener no longer serves: %v", err)
	}
	defer c.Close()
	if err := c.SendBytes(ctx, []byte("still there?")); err != nil {
		t.Fatal(err)
	}
	if m, err := c.RecvBytes(ctx); err != nil || string(m) != "still there?" {
		t.Fatalf("echo: %q, %v", m, err)
	}
}

// rawFrame returns payload framed as CPython frames it.
func rawFrame(payload []byte) []byte {
	var h [longHeaderLen]byte
	n := putHeader(h[:], int64(len(payload)))
	return append(h[:n:n], payload...)
}

// readRawFrame reads one frame of at most 1 MiB from a raw connection.
func readRawFrame(r io.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(h[:]))
	if n < 0 || n > 1<<20 {
		return nil, errors.New("unexpected frame header")
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return p, err
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A client sends a header claiming 2^40 bytes, some payload, then goes
// silent; later it closes. The server allocates in proportion to what
// arrived, not to the claim, and its receive ends with
// io.ErrUnexpectedEOF.
func TestHostileLyingHeader(t *testing.T) {
	for _, max := range []int64{0, 1 << 20} {
		name := "no MaxMessageSize"
		if max > 0 {
			name = "MaxMessageSize 1 MiB"
		}
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			l, err := Listen("", &ListenOptions{Conn: &ConnOptions{MaxMessageSize: max}})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			raw, err := net.Dial("unix", l.Address())
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			c, err := l.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			const sent = 4 << 20
			payload := bytes.Repeat([]byte{0xa5}, sent)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			type result struct {
				msg []byte
				err error
			}
			res := make(chan result, 1)
			go func() {
				m, err := c.RecvBytes(ctx)
				res <- result{m, err}
			}()
			// The lie: 2^40 bytes. Without a limit on a 32-bit system,
			// where a length past math.MaxInt is refused at once, the
			// largest length an int holds.
			claim := int64(1 << 40)
			if max == 0 {
				claim = min(1<<40, math.MaxInt)
			}
			var h [longHeaderLen]byte
			mustWrite(t, raw, h[:putHeader(h[:], claim)])
			if max > 0 {
				r := <-res
				var tl *MessageTooLongError
				if !errors.As(r.err, &tl) || tl.Len != 1<<40 || tl.Max != max {
					t.Fatalf("got %v, want a *MessageTooLongError for 2^40 bytes", r.err)
				}
				runtime.ReadMemStats(&after)
				t.Logf("MEASURED lying header, limit on: TotalAlloc +%d bytes", after.TotalAlloc-before.TotalAlloc)
				return
			}
			// 4 MiB of payload: once the Write returns, all but what the
			// socket buffers hold has been taken in by the receiver.
			mustWrite(t, raw, payload)
			time.Sleep(100 * time.Millisecond) // let the receiver take in the buffered rest
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(payload)
			heapGrowth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("MEASURED lying header (%d bytes claimed, %d bytes sent, receiver waiting): live heap %+d bytes, TotalAlloc +%d bytes",
				claim, sent, heapGrowth, allocated)
			// Generous: growth by doubling holds at most about 2x what
			// arrived, plus copies while growing.
			const bound = 64 << 20
			if allocated > bound {
				t.Fatalf("allocated %d bytes for %d bytes received (bound %d)", allocated, sent, bound)
			}
			select {
			case r := <-res:
				t.Fatalf("receive returned %d bytes, %v while the peer is silent", len(r.msg), r.err)
			default:
			}
			raw.Close()
			r := <-res
			if r.err != io.ErrUnexpectedEOF || r.msg != nil {
				t.Fatalf("after close: %d bytes, %v; want io.ErrUnexpectedEOF and no message", len(r.msg), r.err)
			}
		})
	}
}

// Negative lengths (other than the -1 escape) and a 64-bit length over
// 2^63-1 are protocol errors on an accepted connection.
func TestHostileNegativeHeaders(t *testing.T) {
	cases := map[string][]byte{
		"-2":                   {0xff, 0xff, 0xff, 0xfe},
		"MinInt32":             {0x80, 0, 0, 0},
		"-1 then 2^63":         {0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0},
		"after a good message": append(rawFrame([]byte("fine")), 0x80, 0, 0, 1),
	}
	ctx := testCtx(t)
	l, err := Listen("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			raw, err := net.Dial("unix", l.Address())
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			c, err := l.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			mustWrite(t, raw, b)
			if name == "after a good message" {
				if m, err := c.RecvBytes(ctx); err != nil || string(m) != "fine" {
					t.Fatalf("first message: %q, %v", m, err)
				}
			}
			_, err = c.RecvBytes(ctx)
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ProtocolError", err)
			}
			if c.Readable() {
				t.Error("still readable after a protocol error")
			}
		})
	}
}

// Garbage before and during the handshake: Accept returns a
// *HandshakeError for each, and the Listener keeps serving.
func TestHostileHandshakeGarbage(t *testing.T) {
	key := []byte("hostile key")
	ctx := testCtx(t)
	l, err := Listen("", &ListenOptions{AuthKey: key, HandshakeTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s := startEchoServer(t, l)

	type attack struct {
		name string
		run  func(raw net.Conn) error
		// want checks the handshake error.
		want func(err error) bool
	}
	isAuth := func(err error) bool { return errors.Is(err, ErrAuthentication) }
	isTooLong := func(err error) bool { var tl *MessageTooLongError; return errors.As(err, &tl) }
	isBroken := func(err error) bool {
		var pe *ProtocolError
		return errors.As(err, &pe) || isTooLong(err) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
	}
	readChallenge := func(raw net.Conn) ([]byte, error) { return readRawFrame(raw) }
	attacks := []attack{
		{"pickle instead of a response", func(raw net.Conn) error {
			if _, err := readChallenge(raw); err != nil {
				return err
			}
			_, err := raw.Write(rawFrame(mustHex(t, trPickle)))
			return err
		}, isAuth},
		{"257-byte message", func(raw net.Conn) error {
			_, err := raw.Write(rawFrame(bytes.Repeat([]byte{'A'}, 257)))
			return err
		}, isTooLong},
		{"half a header, then close", func(raw net.Conn) error {
			_, err := raw.Write([]byte{0, 0})
			raw.(*net.UnixConn).CloseWrite()
			return err
		}, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"wrong MAC", func(raw net.Conn) error {
			if _, err := readChallenge(raw); err != nil {
				return err
			}
			_, err := raw.Write(rawFrame(append([]byte("{sha256}"), make([]byte, 32)...)))
			return err
		}, isAuth},
		{"right MAC, then garbage instead of a challenge", func(raw net.Conn) error {
			chal, err := readChallenge(raw)
			if err != nil {
				return err
			}
			resp, aerr := responseTo(key, chal)
			if aerr != nil {
				return aerr
			}
			if _, err := raw.Write(rawFrame(resp)); err != nil {
				return err
			}
			if v, err := readRawFrame(raw); err != nil || string(v) != welcomeMsg {
				return errors.New("no welcome for a right MAC")
			}
			_, err = raw.Write(rawFrame([]byte("this is not a challenge")))
			return err
		}, isAuth},
	}
	// Random bytes, then the client closes its side.
	rng := rand.New(rand.NewSource(1))
	for i := range 8 {
		b := make([]byte, 1+rng.Intn(600))
		rng.Read(b)
		if i == 0 {
			binary.BigEndian.PutUint32(b, 100) // a plausible length, then too few bytes
		}
		attacks = append(attacks, attack{"random bytes " + string(rune('A'+i)), func(raw net.Conn) error {
			_, err := raw.Write(b)
			raw.(*net.UnixConn).CloseWrite()
			return err
		}, func(err error) bool { return isBroken(err) || isAuth(err) }})
	}

	for i, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			raw, err := net.Dial("unix", l.Address())
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if err := a.run(raw); err != nil {
				t.Fatalf("attack: %v", err)
			}
			errs := s.waitHandshakeErrors(t, ctx, i+1)
			err = errs[i]
			if !a.want(err) {
				t.Fatalf("handshake error %v does not match the attack", err)
			}
			checkServes(t, ctx, l, key)
		})
	}
	if accepted, _, _ := s.counts(); accepted != len(attacks) {
		t.Errorf("accepted %d connections, want %d (only the well-behaved ones)", accepted, len(attacks))
	}
}

// Hundreds of clients connect and say nothing; well-behaved clients are
// served while the silent ones are still connected and their handshakes
// still pending (HandshakeTimeout is a minute, far longer than the test).
func TestHostileSilentClients(t *testing.T) {
	const silentN, goodN, msgs = 200, 20, 10
	key := []byte("silence")
	ctx := testCtx(t)
	l, err := Listen("", &ListenOptions{AuthKey: key, HandshakeTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s := startEchoServer(t, l)

	silent := make([]net.Conn, 0, silentN)
	defer func() {
		for _, c := range silent {
			c.Close()
		}
	}()
	for range silentN {
		c, err := dialRetry(ctx, "unix", l.Address())
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, c)
	}
	// Every silent client has been sent its challenge: the Listener has
	// started all their handshakes.
	for i, c := range silent {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if m, err := readRawFrame(c); err != nil || !bytes.HasPrefix(m, []byte(challengePrefix)) {
			t.Fatalf("silent client %d: %q, %v", i, m, err)
		}
	}

	start := time.Now()
	var wg sync.WaitGroup
	for g := range goodN {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: key})
			if err != nil {
				t.Errorf("good client %d: %v", g, err)
				return
			}
			defer c.Close()
			for i := range msgs {
				p := bytes.Repeat([]byte{byte(g), byte(i)}, 100*i)
				if err := c.SendBytes(ctx, p); err != nil {
					t.Errorf("good client %d: %v", g, err)
					return
				}
				if m, err := c.RecvBytes(ctx); err != nil || !bytes.Equal(m, p) {
					t.Errorf("good client %d, message %d: %v", g, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("MEASURED %d good clients (handshake + %d echoes each) served in %v with %d silent clients connected",
		goodN, msgs, elapsed, silentN)
	if t.Failed() {
		return
	}

	// The silent clients are all still connected and waiting: none has
	// been refused or timed out, and Accept reported no failure.
	for i, c := range silent {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [1]byte
		if n, err := c.Read(b[:]); n != 0 || !isTimeout(err) {
			t.Fatalf("silent client %d: read %d bytes, %v; want nothing yet", i, n, err)
		}
	}
	accepted, errs, other := s.counts()
	if accepted != goodN || len(errs) != 0 || other != nil {
		t.Fatalf("accepted %d (want %d), handshake errors %v, other %v", accepted, goodN, errs, other)
	}
}

// Clients that vanish in the middle of a message: the server's receive
// fails (io.ErrUnexpectedEOF on a close, a reset error on an abortive
// TCP close), never returning part of a message.
func TestHostileVanishMidMessage(t *testing.T) {
	key := []byte("vanish")
	for _, network := range []string{"unix", "tcp"} {
		for _, abort := range []bool{false, true} {
			if network == "unix" && abort {
				continue
			}
			name := network + " close"
			if abort {
				name = network + " reset"
			}
			t.Run(name, func(t *testing.T) {
				ctx := testCtx(t)
				addr := ""
				if network == "tcp" {
					addr = "127.0.0.1:0"
				}
				l, err := Listen(addr, &ListenOptions{AuthKey: key})
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				cc := make(chan *Conn, 1)
				go func() {
					c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: key})
					if err != nil {
						t.Error(err)
					}
					cc <- c
				}()
				sc, err := l.Accept(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer sc.Close()
				c := <-cc
				if c == nil {
					return
				}
				// A whole message, then half of one.
				if err := c.SendBytes(ctx, []byte("whole")); err != nil {
					t.Fatal(err)
				}
				var h [4]byte
				binary.BigEndian.PutUint32(h[:], 100000)
				if _, err := c.t.Write(append(h[:], make([]byte, 50000)...)); err != nil {
					t.Fatal(err)
				}
				if m, err := sc.RecvBytes(ctx); err != nil || string(m) != "whole" {
					t.Fatalf("first message: %q, %v", m, err)
				}
				if abort {
					fd, err := c.Fd()
					if err != nil {
						t.Fatal(err)
					}
					// SO_LINGER 0: Close resets the connection.
					if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
						t.Fatal(err)
					}
				}
				c.Close()
				m, err := sc.RecvBytes(ctx)
				if m != nil {
					t.Fatalf("a %d-byte partial message was returned", len(m))
				}
				switch {
				case err == io.ErrUnexpectedEOF:
				case abort && errors.Is(err, syscall.ECONNRESET):
				default:
					t.Fatalf("got %v, want io.ErrUnexpectedEOF or ECONNRESET", err)
				}
				if _, err2 := sc.RecvBytes(ctx); err2 == nil || err2 == io.EOF {
					t.Fatalf("second receive: %v, want the same failure", err2)
				}
			})
		}
	}
	// Vanishing in the middle of the handshake.
	t.Run("mid handshake", func(t *testing.T) {
		ctx := testCtx(t)
		l, err := Listen("", &ListenOptions{AuthKey: key})
		if err != nil {
			t.Fatal(err)
		}
		s := startEchoServer(t, l)
		raw, err := net.Dial("unix", l.Address())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := readRawFrame(raw); err != nil {
			t.Fatal(err)
		}
		raw.Write([]byte{0, 0, 0, 40, 1, 2, 3})
		raw.Close()
		errs := s.waitHandshakeErrors(t, ctx, 1)
		if !errors.Is(errs[0], io.ErrUnexpectedEOF) {
			t.Fatalf("got %v, want a handshake error wrapping io.ErrUnexpectedEOF", errs[0])
		}
		checkServes(t, ctx, l, key)
	})
}

// Thousands of connect/close cycles, authenticated or not, well-behaved
// or not: goroutines and memory come back to their baseline.
func TestHostileConnectCloseChurn(t *testing.T) {
	const cycles = 2000
	key := []byte("churn")
	ctx := testCtx(t)
	leaks := goleak.IgnoreCurrent()

	l, err := Listen("", &ListenOptions{AuthKey: key, HandshakeTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s := startEchoServer(t, l)
	// Warm up, then take the baseline with the Listener running.
	checkServes(t, ctx, l, key)
	waitAccepted := func(n int) {
		for {
			a, _, _ := s.counts()
			s.mu.Lock()
			open := len(s.conns)
			s.mu.Unlock()
			if a >= n && open == 0 {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("accepted %d of %d, %d still open", a, n, open)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	waitAccepted(1)
	baseG := runtime.NumGoroutine()
	baseHeap := heapInUse()

	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	good, rawN := 0, 0
	for i := range cycles {
		switch i % 4 {
		case 0, 1: // authenticated connect, one echo, close
			good++
		default: // raw connect and close, or close after the challenge
			rawN++
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			switch i % 4 {
			case 0:
				c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: key})
				if err != nil {
					t.Error(err)
					return
				}
				c.Close()
			case 1:
				c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: key})
				if err != nil {
					t.Error(err)
					return
				}
				c.SendBytes(ctx, []byte("x"))
				c.RecvBytes(ctx)
				c.Close()
			case 2:
				raw, err := dialRetry(ctx, "unix", l.Address())
				if err != nil {
					t.Error(err)
					return
				}
				raw.Close()
			case 3:
				raw, err := dialRetry(ctx, "unix", l.Address())
				if err != nil {
					t.Error(err)
					return
				}
				readRawFrame(raw)
				raw.Close()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	s.waitHandshakeErrors(t, ctx, rawN)
	waitAccepted(1 + good)
	elapsed := time.Since(start)

	// Goroutines come back to the baseline (the closes propagate
	// asynchronously: wait for them, bounded by the test's context).
	g := runtime.NumGoroutine()
	for g > baseG && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
		g = runtime.NumGoroutine()
	}
	heap := heapInUse()
	t.Logf("MEASURED %d connect/close cycles in %v: goroutines %d -> %d, live heap %d -> %d bytes (%+d)",
		cycles, elapsed, baseG, g, baseHeap, heap, int64(heap)-int64(baseHeap))
	if g > baseG {
		t.Fatalf("%d goroutines after the churn, baseline %d", g, baseG)
	}
	// Generous: the live heap may not grow by more than 8 MiB over the
	// baseline after 2,000 connections.
	if int64(heap)-int64(baseHeap) > 8<<20 {
		t.Fatalf("live heap grew from %d to %d bytes", baseHeap, heap)
	}
	accepted, errs, other := s.counts()
	if accepted != 1+good || len(errs) != rawN || other != nil {
		t.Fatalf("accepted %d (want %d), %d handshake errors (want %d), other %v", accepted, 1+good, len(errs), rawN, other)
	}
	s.stop()
	goleak.VerifyNone(t, leaks)
}

// A Unix socket's connect fails at once with EAGAIN when the Listener's
// backlog is full (Go's net package does not wait, unlike a blocking
// connect in CPython's Client). Dial must wait for room instead, until
// its context ends: a burst of clients is a normal load, not an error.
func TestHostileDialWaitsForFullBacklog(t *testing.T) {
	const clients = 16
	ctx := testCtx(t)
	l, err := Listen("", &ListenOptions{Backlog: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Nobody calls Accept yet: the Listener holds one connection and the
	// kernel queue fills up.
	errc := make(chan error, clients)
	conns := make(chan *Conn, clients)
	for range clients {
		go func() {
			c, err := Dial(ctx, l.Address(), nil)
			if err == nil {
				conns <- c
			}
			errc <- err
		}()
	}
	var accepted []*Conn
	defer func() {
		for _, c := range accepted {
			c.Close()
		}
	}()
	failed := 0
	for i := range clients {
		if err := <-errc; err != nil {
			t.Errorf("client %d: %v", i, err)
			failed++
		}
		if i == 0 {
			// Once the first result is in (the early Dials are queued),
			// start accepting.
			go func() {
				for {
					c, err := l.Accept(ctx)
					if err != nil {
						return
					}
					c.Close()
				}
			}()
		}
	}
	close(conns)
	for c := range conns {
		c.Close()
	}
	if failed > 0 {
		t.Fatalf("%d of %d Dials failed against a full backlog instead of waiting", failed, clients)
	}
}
