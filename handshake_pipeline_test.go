//go:build unix

package mpconn

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

// Tests of the pipelined handshake against a hand-written peer that reads
// and writes raw frames, as CPython does: exactly one message at a time.

// rawWriteFrames writes msgs framed, in one write.
func rawWriteFrames(t *testing.T, c net.Conn, msgs ...[]byte) {
	t.Helper()
	var b []byte
	for _, m := range msgs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
		b = append(b, m...)
	}
	if _, err := c.Write(b); err != nil {
		t.Errorf("raw peer: write: %v", err)
	}
}

// rawReadFrame reads exactly one frame (at most 256 bytes of payload),
// nothing beyond it.
func rawReadFrame(c net.Conn) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n > 256 {
		return nil, errors.New("frame too long")
	}
	p := make([]byte, n)
	_, err := io.ReadFull(c, p)
	return p, err
}

// rawListen listens on a fresh Unix socket or on TCP loopback and serves
// one connection with serve, in a goroutine; wait waits for it.
func rawListen(t *testing.T, network string, serve func(net.Conn)) (addr string, wait func()) {
	t.Helper()
	var nl net.Listener
	var err error
	if network == "unix" {
		addr = t.TempDir() + "/s"
		nl, err = net.Listen("unix", addr)
	} else {
		nl, err = net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			addr = nl.Addr().String()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer nl.Close()
		c, err := nl.Accept()
		if err != nil {
			t.Errorf("raw peer: accept: %v", err)
			return
		}
		defer c.Close()
		serve(c)
	}()
	return addr, func() { nl.Close(); <-done }
}

func sha256Challenge() (payload, msg []byte) {
	payload = append([]byte("{sha256}"), bytes.Repeat([]byte{0x5a}, 40)...)
	return payload, append([]byte("#CHALLENGE#"), payload...)
}

func sha256Response(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return append([]byte("{sha256}"), m.Sum(nil)...)
}

// TestDialPipelinesChallenge: Dial's challenge arrives right behind its
// response, before any verdict, and a Listener-like peer that answers it
// only then (as CPython does) completes the handshake.
func TestDialPipelinesChallenge(t *testing.T) {
	key := []byte("pipe")
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			addr, wait := rawListen(t, network, func(c net.Conn) {
				payload, msg := sha256Challenge()
				rawWriteFrames(t, c, msg)
				resp, err := rawReadFrame(c)
				if err != nil || !bytes.Equal(resp, sha256Response(key, payload)) {
					t.Errorf("raw peer: response %q, %v", resp, err)
					return
				}
				// No verdict sent yet: the challenge must come anyway.
				ch, err := rawReadFrame(c)
				if err != nil || !bytes.HasPrefix(ch, []byte("#CHALLENGE#{sha256}")) || len(ch) != 11+8+40 {
					t.Errorf("raw peer: after the response, %q, %v; want the client's challenge", ch, err)
					return
				}
				rawWriteFrames(t, c, []byte("#WELCOME#"))
				rawWriteFrames(t, c, sha256Response(key, ch[11:]))
				if v, err := rawReadFrame(c); err != nil || string(v) != "#WELCOME#" {
					t.Errorf("raw peer: verdict %q, %v", v, err)
				}
			})
			defer wait()
			c, err := Dial(authTestCtx(t), addr, &DialOptions{AuthKey: key})
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		})
	}
}

// TestDialRejectedWithChallengeUnread: a peer that rejects Dial's response
// and closes the connection with Dial's challenge still unread, with or
// without sending "#FAILURE#" first. The close may reach Dial as a reset;
// Dial must report the rejection, an *AuthError, in every case.
func TestDialRejectedWithChallengeUnread(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		for _, failure := range []bool{true, false} {
			name := network + "/silent"
			if failure {
				name = network + "/failure"
			}
			t.Run(name, func(t *testing.T) {
				addr, wait := rawListen(t, network, func(c net.Conn) {
					_, msg := sha256Challenge()
					rawWriteFrames(t, c, msg)
					if _, err := rawReadFrame(c); err != nil {
						t.Errorf("raw peer: response: %v", err)
						return
					}
					if failure {
						rawWriteFrames(t, c, []byte("#FAILURE#"))
					}
					// Deferred Close: the client's challenge is unread.
				})
				defer wait()
				c, err := Dial(authTestCtx(t), addr, &DialOptions{AuthKey: []byte("wrong")})
				if err == nil {
					c.Close()
					t.Fatal("Dial succeeded")
				}
				var ae *AuthError
				if !errors.Is(err, ErrAuthentication) || !errors.As(err, &ae) || !strings.HasPrefix(ae.Reason, reasonRejected) {
					t.Fatalf("Dial: %v, want an *AuthError saying %q", err, reasonRejected)
				}
				if !failure && ae.Err == nil {
					t.Fatalf("Dial: %v: the AuthError does not wrap the I/O error", err)
				}
				if ae.Err != nil && !peerGone(ae.Err) {
					t.Fatalf("Dial: AuthError.Err = %v, want an end of stream or a reset", ae.Err)
				}
			})
		}
	}
}

// TestListenerPipelinesAnswer: when the client's challenge comes with its
// response, the Listener sends its verdict and its answer in one write;
// the hand-written client reads both without sending anything in between.
func TestListenerPipelinesAnswer(t *testing.T) {
	key := []byte("pipe")
	for _, network := range []string{"", "127.0.0.1:0"} {
		t.Run(interopFamily(network), func(t *testing.T) {
			ctx := authTestCtx(t)
			l, err := Listen(network, &ListenOptions{AuthKey: key})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			accepted := make(chan error, 1)
			go func() {
				c, err := l.Accept(ctx)
				if err == nil {
					c.Close()
				}
				accepted <- err
			}()
			netw, a, _ := ParseAddress(l.Address())
			c, err := net.Dial(netw, a)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ch, err := rawReadFrame(c)
			if err != nil || !bytes.HasPrefix(ch, []byte("#CHALLENGE#{sha256}")) {
				t.Fatalf("challenge %q, %v", ch, err)
			}
			payload, mine := sha256Challenge()
			rawWriteFrames(t, c, sha256Response(key, ch[11:]), mine)
			if v, err := rawReadFrame(c); err != nil || string(v) != "#WELCOME#" {
				t.Fatalf("verdict %q, %v", v, err)
			}
			if r, err := rawReadFrame(c); err != nil || !bytes.Equal(r, sha256Response(key, payload)) {
				t.Fatalf("answer %q, %v", r, err)
			}
			rawWriteFrames(t, c, []byte("#WELCOME#"))
			if err := <-accepted; err != nil {
				t.Fatalf("Accept: %v", err)
			}
		})
	}
}

// TestListenerWrongKeyPipelined: a client that pipelines a wrong response
// and its challenge gets "#FAILURE#" and nothing else: its challenge is
// never answered.
func TestListenerWrongKeyPipelined(t *testing.T) {
	ctx := authTestCtx(t)
	l, err := Listen("", &ListenOptions{AuthKey: []byte("right")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("unix", l.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, err := rawReadFrame(c)
	if err != nil {
		t.Fatal(err)
	}
	_, mine := sha256Challenge()
	rawWriteFrames(t, c, sha256Response([]byte("wrong"), ch[11:]), mine)
	if v, err := rawReadFrame(c); err != nil || string(v) != "#FAILURE#" {
		t.Fatalf("verdict %q, %v", v, err)
	}
	if v, err := rawReadFrame(c); err == nil {
		t.Fatalf("after #FAILURE#, the Listener sent %q", v)
	}
	_, err = l.Accept(ctx)
	var he *HandshakeError
	if !errors.As(err, &he) || !errors.Is(err, ErrAuthentication) {
		t.Fatalf("Accept: %v, want a *HandshakeError wrapping ErrAuthentication", err)
	}
}
