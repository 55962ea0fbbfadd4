package mpconn

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/mpconn/mpconn/internal/npipe"
)

// The handshake of pipe_handshake_test.go over real named pipes: the Go
// side is Listen or Dial with an AuthKey; the CPython side is the model
// speaking raw pipe messages through internal/npipe, which records them.
// That every message Go sends arrives as exactly the payload CPython
// expects, one pipe message each and no header, is checked here against
// the bytes read from the pipe.

// npipeWire is a pyWire over a named pipe that records what the Go side
// sent (as read from the pipe) and what the model sent.
type npipeWire struct {
	c        *npipe.Conn
	mu       sync.Mutex
	got, put [][]byte
}

func (w *npipeWire) readMsg(ctx context.Context) ([]byte, error) {
	m, err := w.c.ReadMsg(ctx, 0)
	if err == nil {
		w.mu.Lock()
		w.got = append(w.got, m)
		w.mu.Unlock()
	}
	return m, err
}

func (w *npipeWire) writeMsg(data []byte) error {
	w.mu.Lock()
	w.put = append(w.put, data)
	w.mu.Unlock()
	return w.c.WriteMsg(context.Background(), data)
}

func TestPipeHandshakeRealPipeGoListener(t *testing.T) {
	key := []byte("secret")
	for _, v := range []pyVersion{py311, py312} {
		for _, digest := range []string{"sha256", "legacy"} {
			t.Run(fmt.Sprintf("py%d/%s", 311+v, digest), func(t *testing.T) {
				ctx := testCtx(t)
				l, err := Listen("", &ListenOptions{AuthKey: key, AuthDigest: digest})
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				if !npipe.IsAddress(l.Address()) {
					t.Fatalf("Listen(\"\") on Windows gave %q; want a named pipe", l.Address())
				}
				done := make(chan error, 1)
				w := &npipeWire{}
				go func() {
					pc, err := npipe.Dial(ctx, l.Address())
					if err != nil {
						done <- err
						return
					}
					defer pc.Close()
					w.c = pc
					py := pyPipeConn{ctx, w}
					err = py.answerChallenge(v, key)
					if err == nil {
						err = py.deliverChallenge(v, key, pyNonce(v))
					}
					if err == nil {
						// After the handshake: a message from Python, as it
						// would send with send_bytes.
						err = py.sendBytes([]byte("after"))
					}
					done <- err
				}()
				c, err := l.Accept(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if err := <-done; err != nil {
					t.Fatalf("CPython model: %v", err)
				}
				if m, err := c.RecvBytes(ctx); err != nil || string(m) != "after" {
					t.Fatalf("first message after the handshake: %q, %v", m, err)
				}
				if len(w.got) != 3 {
					t.Fatalf("the pipe carried %d messages from Go, want 3: %q", len(w.got), w.got)
				}
				chal := w.got[0]
				checkChallenge(t, chal, digest)
				wantMsgs(t, "Go", w.got, [][]byte{chal, []byte("#WELCOME#"), goResponse(v, key)})
				wantMsgs(t, "CPython", w.put, [][]byte{pyResponse(v, key, chal), pyChallenge(v), []byte("#WELCOME#"), []byte("after")})
			})
		}
	}
}

func TestPipeHandshakeRealPipeGoClient(t *testing.T) {
	key := []byte("secret")
	for _, v := range []pyVersion{py311, py312} {
		for _, digest := range []string{"sha256", "legacy"} {
			t.Run(fmt.Sprintf("py%d/%s", 311+v, digest), func(t *testing.T) {
				ctx := testCtx(t)
				pl, err := npipe.Listen("", nil)
				if err != nil {
					t.Fatal(err)
				}
				defer pl.Close()
				done := make(chan error, 1)
				w := &npipeWire{}
				go func() {
					pc, err := pl.Accept(ctx)
					if err != nil {
						done <- err
						return
					}
					w.c = pc
					py := pyPipeConn{ctx, w}
					err = py.deliverChallenge(v, key, pyNonce(v))
					if err == nil {
						err = py.answerChallenge(v, key)
					}
					if err == nil {
						_, err = py.recvBytes(1 << 20)
					}
					pc.Close()
					done <- err
				}()
				c, err := Dial(ctx, pl.Addr(), &DialOptions{AuthKey: key, AuthDigest: digest})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if err := c.SendBytes(ctx, []byte("after")); err != nil {
					t.Fatal(err)
				}
				if err := <-done; err != nil {
					t.Fatalf("CPython model: %v", err)
				}
				if len(w.got) != 4 {
					t.Fatalf("the pipe carried %d messages from Go, want 4: %q", len(w.got), w.got)
				}
				chal := w.got[1]
				checkChallenge(t, chal, digest)
				wantMsgs(t, "Go", w.got, [][]byte{goResponse(v, key), chal, []byte("#WELCOME#"), []byte("after")})
				wantMsgs(t, "CPython", w.put, [][]byte{pyChallenge(v), []byte("#WELCOME#"), pyResponse(v, key, chal)})
			})
		}
	}
}

// ListenOptions.PipeCPythonSecurity gives CPython's pipe: still usable by
// the current user's clients.
func TestListenPipeCPythonSecurity(t *testing.T) {
	ctx := testCtx(t)
	l, err := Listen("", &ListenOptions{AuthKey: []byte("k"), PipeCPythonSecurity: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	errc := make(chan error, 1)
	go func() {
		c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: []byte("k")})
		if err == nil {
			err = c.SendBytes(ctx, []byte("x"))
			c.Close()
		}
		errc <- err
	}()
	c, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if m, err := c.RecvBytes(ctx); err != nil || string(m) != "x" {
		t.Fatalf("got %q, %v", m, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
