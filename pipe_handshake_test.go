package mpconn

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/mpconn/mpconn/internal/platform"
)

// CPython's handshake over a Windows named pipe (AF_PIPE), pinned byte for
// byte.
//
// On a named pipe CPython's PipeConnection sends every message, the six
// of the handshake included, as one WriteFile of the bare payload: no
// length header. It receives with ReadFile(min(maxsize, 128)); a longer
// message reports ERROR_MORE_DATA, PeekNamedPipe gives what is left, and
// over maxsize the receive fails ("bad message length"). Every handshake
// receive is recv_bytes(256). (Lib/multiprocessing/connection.py:
// PipeConnection._send_bytes, _recv_bytes, _get_more_data;
// deliver_challenge, answer_challenge.)
//
// No Windows CPython runs here, so the tests below play CPython's side
// with pyPipeConn, written from that source, against the Go handshake,
// over msgPipe: a message-mode pipe in memory that records every pipe
// message. They require each message to be exactly the bytes CPython
// writes or expects, for both schemes (3.12+ "{sha256}" and 40 bytes,
// HMAC-SHA256 over the whole payload; <= 3.11 20 bytes, raw HMAC-MD5),
// in both roles.

// pipeMsg is one pipe message: one WriteFile.
type pipeMsg struct {
	from string // "go" or "py"
	data []byte
}

// msgPipe is a message-mode pipe between a Go end and a CPython end.
type msgPipe struct {
	mu   sync.Mutex
	cond *sync.Cond
	q    map[string][][]byte // messages waiting, by receiving end
	shut map[string]bool     // the end has closed
	wire []pipeMsg
}

func newMsgPipe() *msgPipe {
	p := &msgPipe{q: map[string][][]byte{}, shut: map[string]bool{}}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func other(end string) string {
	if end == "go" {
		return "py"
	}
	return "go"
}

// write sends one message from end.
func (p *msgPipe) write(end string, data []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shut[other(end)] || p.shut[end] {
		// ERROR_NO_DATA, which a Conn over a named pipe reports as a
		// peer gone (an error matching EPIPE).
		return fmt.Errorf("write to a closed pipe: %w", platform.EPIPE)
	}
	p.wire = append(p.wire, pipeMsg{end, bytes.Clone(data)})
	p.q[other(end)] = append(p.q[other(end)], bytes.Clone(data))
	p.cond.Broadcast()
	return nil
}

// read takes the next message for end; io.EOF once the other end closed
// and nothing is left (ERROR_BROKEN_PIPE).
func (p *msgPipe) read(ctx context.Context, end string) ([]byte, error) {
	stop := context.AfterFunc(ctx, func() { p.mu.Lock(); p.cond.Broadcast(); p.mu.Unlock() })
	defer stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.q[end]) == 0 {
		if p.shut[other(end)] {
			return nil, io.EOF
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p.cond.Wait()
	}
	m := p.q[end][0]
	p.q[end] = p.q[end][1:]
	return m, nil
}

func (p *msgPipe) waiting(end string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.q[end]) > 0
}

func (p *msgPipe) close(end string) {
	p.mu.Lock()
	p.shut[end] = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// sent returns the messages end wrote, in order.
func (p *msgPipe) sent(end string) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][]byte
	for _, m := range p.wire {
		if m.from == end {
			out = append(out, m.data)
		}
	}
	return out
}

// goPipeEnd is the Go side: what a Conn over a named pipe gives the
// handshake. One sendMsg is one pipe message; a message over max fails as
// a Conn's receive does.
type goPipeEnd struct {
	p *msgPipe
}

func (e goPipeEnd) sendMsg(ctx context.Context, data []byte) error { return e.p.write("go", data) }

func (e goPipeEnd) recvMsg(ctx context.Context, max int) ([]byte, error) {
	m, err := e.p.read(ctx, "go")
	if err != nil {
		return nil, err
	}
	if len(m) > max {
		return nil, &MessageTooLongError{Len: int64(len(m)), Max: int64(max)}
	}
	return m, nil
}

// goPeekEnd is a goPipeEnd that tells when a message waits, so that the
// listener may pipeline its verdict and response.
type goPeekEnd struct{ goPipeEnd }

func (e goPeekEnd) msgBuffered() bool { return e.p.waiting("go") }

// pyPipeConn plays CPython's PipeConnection and handshake functions over
// a pyWire: the in-memory msgPipe here, a real named pipe on Windows
// (TestPipeHandshakeRealPipeGoListener and GoClient).
type pyPipeConn struct {
	ctx context.Context
	w   pyWire
}

// pyWire is the CPython end of a message-mode pipe: whole messages.
type pyWire interface {
	readMsg(ctx context.Context) ([]byte, error)
	writeMsg(data []byte) error
}

// pyEnd is the CPython end of a msgPipe.
type pyEnd struct{ p *msgPipe }

func (e pyEnd) readMsg(ctx context.Context) ([]byte, error) { return e.p.read(ctx, "py") }
func (e pyEnd) writeMsg(data []byte) error                  { return e.p.write("py", data) }

// pyAuthError is CPython's AuthenticationError.
type pyAuthError struct{ msg string }

func (e *pyAuthError) Error() string { return "AuthenticationError: " + e.msg }

// recvBytes is PipeConnection.recv_bytes(maxsize) on a message-mode pipe.
func (c pyPipeConn) recvBytes(maxsize int) ([]byte, error) {
	m, err := c.w.readMsg(c.ctx)
	if err != nil {
		return nil, fmt.Errorf("EOFError (%w)", err)
	}
	bsize := min(maxsize, 128)
	if len(m) <= bsize {
		return m, nil // ReadFile completed: the whole message
	}
	// ERROR_MORE_DATA: bsize bytes read, PeekNamedPipe tells the rest.
	left := len(m) - bsize
	if bsize+left > maxsize {
		return nil, errors.New("OSError: bad message length")
	}
	return m, nil
}

func (c pyPipeConn) sendBytes(data []byte) error { return c.w.writeMsg(data) }

// pyVersion selects the handshake of CPython <= 3.11 or of 3.12+.
type pyVersion int

const (
	py311 pyVersion = iota
	py312
)

// deliverChallenge is CPython's deliver_challenge, with the nonce given.
func (c pyPipeConn) deliverChallenge(v pyVersion, key, nonce []byte) error {
	var message []byte
	if v == py311 {
		message = nonce // 20 bytes
	} else {
		message = append([]byte("{sha256}"), nonce...) // 40 bytes after the prefix
	}
	if err := c.sendBytes(append([]byte("#CHALLENGE#"), message...)); err != nil {
		return err
	}
	response, err := c.recvBytes(256)
	if err != nil {
		return err
	}
	ok := false
	if v == py311 {
		ok = hmac.Equal(response, refMAC("md5", key, message))
	} else if name, mac, perr := pyDigestAndPayload(response); perr == nil {
		if name == "" {
			name = "md5"
		}
		ok = hmac.Equal(mac, refMAC(name, key, message))
	}
	if !ok {
		c.sendBytes([]byte("#FAILURE#"))
		return &pyAuthError{"digest received was wrong"}
	}
	return c.sendBytes([]byte("#WELCOME#"))
}

// answerChallenge is CPython's answer_challenge.
func (c pyPipeConn) answerChallenge(v pyVersion, key []byte) error {
	msg, err := c.recvBytes(256)
	if err != nil {
		return err
	}
	message, ok := bytes.CutPrefix(msg, []byte("#CHALLENGE#"))
	if !ok {
		return &pyAuthError{"Protocol error, expected challenge"} // 3.11: AssertionError
	}
	var digest []byte
	if v == py311 {
		digest = refMAC("md5", key, message) // whatever the payload is
	} else {
		if len(message) < 20 {
			return &pyAuthError{"challenge too short"}
		}
		name, _, perr := pyDigestAndPayload(message)
		if perr != nil {
			return perr
		}
		if name == "" {
			digest = refMAC("md5", key, message)
		} else {
			digest = append([]byte("{"+name+"}"), refMAC(name, key, message)...)
		}
	}
	if err := c.sendBytes(digest); err != nil {
		return err
	}
	response, err := c.recvBytes(256)
	if err != nil {
		return err
	}
	if string(response) != "#WELCOME#" {
		return &pyAuthError{"digest sent was rejected"}
	}
	return nil
}

// pyDigestAndPayload is CPython's _get_digest_name_and_payload.
func pyDigestAndPayload(message []byte) (name string, payload []byte, err error) {
	if len(message) == 20 || len(message) == 16 {
		return "", message, nil
	}
	if len(message) > 0 && message[0] == '{' {
		if end := bytes.IndexByte(message[1:min(len(message), 8+2)], '}'); end > 0 {
			name := string(message[1 : end+1])
			if _, ok := refSize[name]; ok {
				return name, message[end+2:], nil
			}
		}
	}
	return "", nil, &pyAuthError{"unsupported message length, missing digest prefix, or unsupported digest"}
}

// Fixed nonces of the CPython side.
var (
	pyNonce20 = bytes.Repeat([]byte{0x5a}, 20)
	pyNonce40 = []byte("0123456789abcdefghijklmnopqrstuvwxyzABCD")
)

func pyNonce(v pyVersion) []byte {
	if v == py311 {
		return pyNonce20
	}
	return pyNonce40
}

// pyChallenge is the challenge message CPython version v sends.
func pyChallenge(v pyVersion) []byte {
	if v == py311 {
		return append([]byte("#CHALLENGE#"), pyNonce20...)
	}
	return append([]byte("#CHALLENGE#{sha256}"), pyNonce40...)
}

// pyResponse is what CPython version v answers to the challenge message
// chal, under key.
func pyResponse(v pyVersion, key, chal []byte) []byte {
	payload := chal[len("#CHALLENGE#"):]
	if v == py311 || len(payload) == 20 {
		return refMAC("md5", key, payload)
	}
	name, _, _ := pyDigestAndPayload(payload)
	return append([]byte("{"+name+"}"), refMAC(name, key, payload)...)
}

// goResponse is what the Go side must answer to CPython's challenge.
func goResponse(v pyVersion, key []byte) []byte {
	if v == py311 {
		return refMAC("md5", key, pyNonce20)
	}
	payload := append([]byte("{sha256}"), pyNonce40...)
	return append([]byte("{sha256}"), refMAC("sha256", key, payload)...)
}

func wantMsgs(t *testing.T, who string, got, want [][]byte) {
	t.Helper()
	if !equalMsgs(got, want) {
		t.Fatalf("%s wrote the pipe messages\n%q\nwant\n%q", who, got, want)
	}
}

// A Go Listener (authenticateServer) and a CPython Client over a pipe:
// CPython's Client runs answer_challenge, then deliver_challenge.
func TestPipeHandshakeGoListener(t *testing.T) {
	key := []byte("secret")
	for _, v := range []pyVersion{py311, py312} {
		for _, peek := range []bool{false, true} {
			for _, digest := range []string{"sha256", "legacy"} {
				t.Run(fmt.Sprintf("py%d/peek=%v/%s", 311+v, peek, digest), func(t *testing.T) {
					ctx := authTestCtx(t)
					p := newMsgPipe()
					var goEnd handshakeConn = goPipeEnd{p: p}
					if peek {
						goEnd = goPeekEnd{goPipeEnd{p: p}}
					}
					done := make(chan error, 1)
					go func() {
						py := pyPipeConn{ctx, pyEnd{p}}
						err := py.answerChallenge(v, key)
						if err == nil {
							err = py.deliverChallenge(v, key, pyNonce(v))
						}
						p.close("py")
						done <- err
					}()
					gerr := authenticateServer(ctx, goEnd, key, digest)
					p.close("go")
					if perr := <-done; gerr != nil || perr != nil {
						t.Fatalf("Go listener: %v; CPython client: %v", gerr, perr)
					}
					goSent := p.sent("go")
					if len(goSent) != 3 {
						t.Fatalf("Go wrote %d pipe messages, want 3: %q", len(goSent), goSent)
					}
					chal := goSent[0]
					checkChallenge(t, chal, digest)
					wantMsgs(t, "Go", goSent, [][]byte{chal, []byte("#WELCOME#"), goResponse(v, key)})
					wantMsgs(t, "CPython", p.sent("py"), [][]byte{pyResponse(v, key, chal), pyChallenge(v), []byte("#WELCOME#")})
				})
			}
		}
	}
}

// A Go Dial (authenticateClient) and a CPython Listener over a pipe:
// Listener.accept runs deliver_challenge, then answer_challenge. The Go
// client sends its challenge right behind its response; CPython reads it
// after sending its verdict, as the next message in the pipe.
func TestPipeHandshakeGoClient(t *testing.T) {
	key := []byte("secret")
	for _, v := range []pyVersion{py311, py312} {
		for _, digest := range []string{"sha256", "legacy"} {
			t.Run(fmt.Sprintf("py%d/%s", 311+v, digest), func(t *testing.T) {
				ctx := authTestCtx(t)
				p := newMsgPipe()
				done := make(chan error, 1)
				go func() {
					py := pyPipeConn{ctx, pyEnd{p}}
					err := py.deliverChallenge(v, key, pyNonce(v))
					if err == nil {
						err = py.answerChallenge(v, key)
					}
					p.close("py")
					done <- err
				}()
				gerr := authenticateClient(ctx, goPipeEnd{p: p}, key, digest)
				p.close("go")
				if perr := <-done; gerr != nil || perr != nil {
					t.Fatalf("Go client: %v; CPython listener: %v", gerr, perr)
				}
				goSent := p.sent("go")
				if len(goSent) != 3 {
					t.Fatalf("Go wrote %d pipe messages, want 3: %q", len(goSent), goSent)
				}
				chal := goSent[1]
				checkChallenge(t, chal, digest)
				wantMsgs(t, "Go", goSent, [][]byte{goResponse(v, key), chal, []byte("#WELCOME#")})
				wantMsgs(t, "CPython", p.sent("py"), [][]byte{pyChallenge(v), []byte("#WELCOME#"), pyResponse(v, key, chal)})
			})
		}
	}
}

// The recorded CPython 3.13 and 3.11 challenges (spec §3.12, transcripts
// A and B) get, as one pipe message each, exactly the response CPython
// recorded.
func TestPipeHandshakeRecordedChallenges(t *testing.T) {
	key := []byte("secret")
	for _, tr := range []struct {
		name       string
		chal, resp []byte
	}{
		{"A-3.11", challengeMsg(mustHex(t, trAServerNonce)), mustHex(t, trAClientResp)},
		{"B-3.13", challengeMsg([]byte("{sha256}"), mustHex(t, trBServerNonce)), mustHex(t, trBClientResp)},
	} {
		t.Run(tr.name, func(t *testing.T) {
			ctx := authTestCtx(t)
			p := newMsgPipe()
			p.write("py", tr.chal)
			errc := make(chan error, 1)
			go func() { errc <- answerChallenge(ctx, goPipeEnd{p: p}, key) }()
			got, err := p.read(ctx, "py")
			if err != nil || !bytes.Equal(got, tr.resp) {
				t.Fatalf("response %x, %v; want the recorded %x", got, err, tr.resp)
			}
			p.write("py", []byte("#WELCOME#"))
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			wantMsgs(t, "Go", p.sent("go"), [][]byte{tr.resp})
		})
	}
}

// Failures as CPython sees them on a pipe: a wrong key, and a peer with
// no key, whose first message is a pickle.
func TestPipeHandshakeFailures(t *testing.T) {
	for _, v := range []pyVersion{py311, py312} {
		t.Run(fmt.Sprintf("py%d/wrong-key/go-listener", 311+v), func(t *testing.T) {
			ctx := authTestCtx(t)
			p := newMsgPipe()
			done := make(chan error, 1)
			go func() {
				err := pyPipeConn{ctx, pyEnd{p}}.answerChallenge(v, []byte("wrong"))
				p.close("py")
				done <- err
			}()
			gerr := authenticateServer(ctx, goPipeEnd{p: p}, []byte("secret"), "sha256")
			p.close("go")
			wantAuthErr(t, gerr, reasonWrongDigest)
			var pae *pyAuthError
			if perr := <-done; !errors.As(perr, &pae) || pae.msg != "digest sent was rejected" {
				t.Fatalf("CPython client: %v; want digest sent was rejected", perr)
			}
			goSent := p.sent("go")
			if len(goSent) != 2 || string(goSent[1]) != "#FAILURE#" {
				t.Fatalf("Go wrote %q; want the challenge and #FAILURE#", goSent)
			}
		})
		t.Run(fmt.Sprintf("py%d/wrong-key/go-client", 311+v), func(t *testing.T) {
			ctx := authTestCtx(t)
			p := newMsgPipe()
			done := make(chan error, 1)
			go func() {
				err := pyPipeConn{ctx, pyEnd{p}}.deliverChallenge(v, []byte("wrong"), pyNonce(v))
				p.close("py")
				done <- err
			}()
			gerr := authenticateClient(ctx, goPipeEnd{p: p}, []byte("secret"), "sha256")
			p.close("go")
			wantAuthErr(t, gerr, reasonRejected)
			var pae *pyAuthError
			if perr := <-done; !errors.As(perr, &pae) || pae.msg != "digest received was wrong" {
				t.Fatalf("CPython listener: %v; want digest received was wrong", perr)
			}
			if want := [][]byte{pyChallenge(v), []byte("#FAILURE#")}; !equalMsgs(p.sent("py"), want) {
				t.Fatalf("CPython wrote %q, want %q", p.sent("py"), want)
			}
		})
	}
	t.Run("keyless-cpython-client", func(t *testing.T) {
		ctx := authTestCtx(t)
		p := newMsgPipe()
		// Client(address) with no authkey sends its first message at once.
		p.write("py", mustHex(t, trPickle))
		err := authenticateServer(ctx, goPipeEnd{p: p}, []byte("secret"), "sha256")
		// The Go listener challenged first; the pickle was taken as the
		// response.
		wantAuthErr(t, err, "no authkey configured")
	})
	t.Run("go-message-over-256", func(t *testing.T) {
		// CPython's recv_bytes(256) on a pipe: 128 bytes, ERROR_MORE_DATA,
		// then the total over 256 fails; 256 itself passes.
		ctx := authTestCtx(t)
		p := newMsgPipe()
		py := pyPipeConn{ctx, pyEnd{p}}
		p.write("go", make([]byte, 256))
		p.write("go", make([]byte, 257))
		if m, err := py.recvBytes(256); err != nil || len(m) != 256 {
			t.Fatalf("256 bytes: %d, %v", len(m), err)
		}
		if _, err := py.recvBytes(256); err == nil {
			t.Fatal("257 bytes under recv_bytes(256) passed")
		}
	})
}
