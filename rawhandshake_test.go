//go:build unix

package mpconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// Tests of the handshake paths that matter for Linux's raw handshake (on
// other systems they run through the poller, and must pass all the same):
// a peer slower than the blocking patience, so that the handshake moves to
// the poller half-way; bytes that follow the handshake in the same write;
// a slow client that must not hold up the next one.

// listenerFor returns an authenticating Listener on a fresh Unix socket
// (network "unix") or on TCP loopback.
func listenerFor(t *testing.T, network string, key []byte) *Listener {
	t.Helper()
	addr := ""
	if network == "tcp" {
		addr = "127.0.0.1:0"
	}
	l, err := Listen(addr, &ListenOptions{AuthKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// rawClient connects to l with a plain socket.
func rawClient(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	netw, a, err := ParseAddress(l.Address())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial(netw, a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// slowerThanPatience is a pause longer than any blocking wait of the
// handshake (handshakePatience), so that the waiting side hands the
// connection to the poller. (Behaviour is asserted, not time.)
const slowerThanPatience = 30 * time.Millisecond

// TestListenerSlowClientMovesOn: a client that answers the challenge only
// after a pause, and sends a message in the same write as its verdict.
// The Listener must complete the handshake (half of it through the
// poller), and the message must reach the accepted Conn.
func TestListenerSlowClientMovesOn(t *testing.T) {
	key := []byte("slow")
	for _, network := range []string{"unix", "tcp"} {
		for _, pause := range []string{"before-response", "before-verdict"} {
			t.Run(network+"/"+pause, func(t *testing.T) {
				ctx := authTestCtx(t)
				l := listenerFor(t, network, key)
				c := rawClient(t, l)
				ch, err := rawReadFrame(c)
				if err != nil {
					t.Fatal(err)
				}
				if pause == "before-response" {
					time.Sleep(slowerThanPatience)
				}
				payload, mine := sha256Challenge()
				rawWriteFrames(t, c, sha256Response(key, ch[11:]), mine)
				if v, err := rawReadFrame(c); err != nil || string(v) != "#WELCOME#" {
					t.Fatalf("verdict %q, %v", v, err)
				}
				if r, err := rawReadFrame(c); err != nil || !bytes.Equal(r, sha256Response(key, payload)) {
					t.Fatalf("answer %q, %v", r, err)
				}
				if pause == "before-verdict" {
					time.Sleep(slowerThanPatience)
				}
				// The verdict and a first message in one write.
				rawWriteFrames(t, c, []byte("#WELCOME#"), []byte("first"))
				s, err := l.Accept(ctx)
				if err != nil {
					t.Fatalf("Accept: %v", err)
				}
				defer s.Close()
				if m, err := s.RecvBytes(ctx); err != nil || string(m) != "first" {
					t.Fatalf("first message %q, %v", m, err)
				}
				if err := s.SendBytes(ctx, []byte("reply")); err != nil {
					t.Fatal(err)
				}
				if m, err := rawReadFrame(c); err != nil || string(m) != "reply" {
					t.Fatalf("reply %q, %v", m, err)
				}
			})
		}
	}
}

// TestListenerSlowClientDoesNotBlockOthers: while one client sits silent
// after connecting, another one connects, authenticates and is accepted.
func TestListenerSlowClientDoesNotBlockOthers(t *testing.T) {
	key := []byte("k")
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			ctx := authTestCtx(t)
			l := listenerFor(t, network, key)
			silent := rawClient(t, l)
			if _, err := rawReadFrame(silent); err != nil { // the challenge; no answer
				t.Fatal(err)
			}
			for i := range 3 {
				c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: key})
				if err != nil {
					t.Fatalf("dial %d: %v", i, err)
				}
				s, err := l.Accept(ctx)
				if err != nil {
					t.Fatalf("accept %d: %v", i, err)
				}
				if err := c.SendBytes(ctx, []byte("hi")); err != nil {
					t.Fatal(err)
				}
				if m, err := s.RecvBytes(ctx); err != nil || string(m) != "hi" {
					t.Fatalf("message %q, %v", m, err)
				}
				c.Close()
				s.Close()
			}
			// The silent client is still waiting: closing it gives
			// Accept a handshake error, not a connection.
			silent.Close()
			_, err := l.Accept(ctx)
			var he *HandshakeError
			if !errors.As(err, &he) || errors.Is(err, ErrAuthentication) {
				t.Fatalf("Accept after the silent client left: %v, want a *HandshakeError for the lost connection", err)
			}
		})
	}
}

// TestDialSlowListener: a listener that sends its challenge, and later
// its verdict, only after a pause; Dial completes (half of it through the
// poller) and the Conn works, including a message that came right behind
// the handshake.
func TestDialSlowListener(t *testing.T) {
	key := []byte("slow")
	for _, network := range []string{"unix", "tcp"} {
		for _, pause := range []string{"before-challenge", "before-verdict"} {
			t.Run(network+"/"+pause, func(t *testing.T) {
				addr, wait := rawListen(t, network, func(c net.Conn) {
					if pause == "before-challenge" {
						time.Sleep(slowerThanPatience)
					}
					payload, msg := sha256Challenge()
					rawWriteFrames(t, c, msg)
					resp, err := rawReadFrame(c)
					if err != nil || !bytes.Equal(resp, sha256Response(key, payload)) {
						t.Errorf("raw peer: response %q, %v", resp, err)
						return
					}
					ch, err := rawReadFrame(c)
					if err != nil {
						t.Errorf("raw peer: challenge: %v", err)
						return
					}
					if pause == "before-verdict" {
						time.Sleep(slowerThanPatience)
					}
					rawWriteFrames(t, c, []byte("#WELCOME#"), sha256Response(key, ch[11:]))
					if v, err := rawReadFrame(c); err != nil || string(v) != "#WELCOME#" {
						t.Errorf("raw peer: verdict %q, %v", v, err)
						return
					}
					rawWriteFrames(t, c, []byte("hello"))
					if m, err := rawReadFrame(c); err != nil || string(m) != "bye" {
						t.Errorf("raw peer: %q, %v", m, err)
					}
				})
				defer wait()
				ctx := authTestCtx(t)
				c, err := Dial(ctx, addr, &DialOptions{AuthKey: key})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if m, err := c.RecvBytes(ctx); err != nil || string(m) != "hello" {
					t.Fatalf("message %q, %v", m, err)
				}
				if err := c.SendBytes(ctx, []byte("bye")); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestDialHandshakeDeadline: a listener that never sends its challenge.
// Dial's handshake ends at HandshakeTimeout with context.DeadlineExceeded,
// and a cancelled context ends it with context.Canceled.
func TestDialHandshakeDeadline(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			release := make(chan struct{})
			addr, wait := rawListen(t, network, func(c net.Conn) { <-release })
			defer wait()
			defer close(release)
			_, err := Dial(authTestCtx(t), addr, &DialOptions{AuthKey: []byte("k"), HandshakeTimeout: 3 * slowerThanPatience})
			if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrAuthentication) {
				t.Fatalf("Dial: %v, want context.DeadlineExceeded", err)
			}
		})
	}
	t.Run("cancel", func(t *testing.T) {
		release := make(chan struct{})
		addr, wait := rawListen(t, "unix", func(c net.Conn) { <-release })
		defer wait()
		defer close(release)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(slowerThanPatience/3, cancel)
		_, err := Dial(ctx, addr, &DialOptions{AuthKey: []byte("k")})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Dial: %v, want context.Canceled", err)
		}
	})
}

// TestListenerHandshakeTimeoutRaw: a client that never answers fails its
// handshake at HandshakeTimeout, reported by Accept.
func TestListenerHandshakeTimeoutRaw(t *testing.T) {
	for _, network := range []string{"", "127.0.0.1:0"} {
		t.Run(interopFamily(network), func(t *testing.T) {
			l, err := Listen(network, &ListenOptions{AuthKey: []byte("k"), HandshakeTimeout: 2 * slowerThanPatience})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			c := rawClient(t, l)
			if _, err := rawReadFrame(c); err != nil {
				t.Fatal(err)
			}
			_, err = l.Accept(authTestCtx(t))
			var he *HandshakeError
			if !errors.As(err, &he) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Accept: %v, want a *HandshakeError wrapping context.DeadlineExceeded", err)
			}
		})
	}
}

// TestManyConcurrentAuthDials: more concurrent authenticating Dials than
// there are blocking slots; every one succeeds.
func TestManyConcurrentAuthDials(t *testing.T) {
	key := []byte("many")
	l := listenerFor(t, "unix", key)
	ctx := authTestCtx(t)
	const n = 40
	errs := make(chan error, n)
	for range n {
		go func() {
			c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: key})
			if err == nil {
				err = c.SendBytes(ctx, []byte("x"))
				c.Close()
			}
			errs <- err
		}()
	}
	for i := range n {
		s, err := l.Accept(ctx)
		if err != nil {
			t.Fatalf("accept %d: %v", i, err)
		}
		if m, err := s.RecvBytes(ctx); err != nil || string(m) != "x" {
			t.Fatalf("accept %d: message %q, %v", i, m, err)
		}
		s.Close()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuthDialsBeforeAccept: more authenticating clients than Accept
// keeps ready (maxQueued) connect while nobody calls Accept; every Dial
// completes, and Accept then returns them all.
func TestAuthDialsBeforeAccept(t *testing.T) {
	key := []byte("eager")
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			ctx := authTestCtx(t)
			l := listenerFor(t, network, key)
			const n = maxQueued + 8
			for i := range n {
				c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: key})
				if err != nil {
					t.Fatalf("dial %d: %v", i, err)
				}
				defer c.Close()
				if err := c.SendBytes(ctx, []byte{byte(i)}); err != nil {
					t.Fatal(err)
				}
			}
			seen := make(map[byte]bool)
			for i := range n {
				s, err := l.Accept(ctx)
				if err != nil {
					t.Fatalf("accept %d: %v", i, err)
				}
				m, err := s.RecvBytes(ctx)
				s.Close()
				if err != nil || len(m) != 1 || seen[m[0]] {
					t.Fatalf("accept %d: message %v, %v", i, m, err)
				}
				seen[m[0]] = true
			}
		})
	}
}

// TestAuthSendFileRightAway: a descriptor sent the moment Dial returns
// (so that it may arrive with the client's verdict) reaches the accepted
// Conn: the Listener must not lose it in the handshake's reads.
func TestAuthSendFileRightAway(t *testing.T) {
	key := []byte("fd")
	for i := range 20 {
		ctx := authTestCtx(t)
		l := listenerFor(t, "unix", key)
		done := make(chan error, 1)
		go func() {
			c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: key})
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			r, w, err := os.Pipe()
			if err != nil {
				done <- err
				return
			}
			defer r.Close()
			defer w.Close()
			if err := c.SendFile(ctx, w); err != nil {
				done <- err
				return
			}
			if err := c.SendBytes(ctx, []byte("after")); err != nil {
				done <- err
				return
			}
			b := make([]byte, 5)
			_, err = io.ReadFull(r, b)
			if err == nil && string(b) != "hello" {
				err = fmt.Errorf("pipe carried %q", b)
			}
			done <- err
		}()
		s, err := l.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f, err := s.RecvFile(ctx)
		if err != nil {
			t.Fatalf("round %d: RecvFile: %v", i, err)
		}
		f.Write([]byte("hello"))
		f.Close()
		if m, err := s.RecvBytes(ctx); err != nil || string(m) != "after" {
			t.Fatalf("round %d: message %q, %v", i, m, err)
		}
		if err := <-done; err != nil {
			t.Fatalf("round %d: client: %v", i, err)
		}
		s.Close()
		l.Close()
	}
}
