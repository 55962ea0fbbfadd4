package mpconn

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
)

// ---------------------------------------------------------------------
// Fakes

// fakeScript is a handshakeConn whose peer is a fixed list of messages:
// recvMsg returns them in order (io.EOF when none is left) and sendMsg
// records what is sent. It needs no goroutine, so the fuzz targets use it.
type fakeScript struct {
	in   [][]byte
	sent [][]byte
}

func (f *fakeScript) sendMsg(ctx context.Context, p []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.sent = append(f.sent, bytes.Clone(p))
	return nil
}

func (f *fakeScript) recvMsg(ctx context.Context, max int) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(f.in) == 0 {
		return nil, io.EOF
	}
	m := f.in[0]
	f.in = f.in[1:]
	if len(m) > max {
		return nil, &MessageTooLongError{Len: int64(len(m)), Max: int64(max)}
	}
	return bytes.Clone(m), nil
}

// fakeFrame is one message seen on a fakePipe.
type fakeFrame struct {
	from  string
	data  []byte
	write int // messages sent in one write share it
}

// fakeWire records the messages of a fakePipe in the order they were sent.
type fakeWire struct {
	mu     sync.Mutex
	frames []fakeFrame
	writes int
}

func (w *fakeWire) add(from string, ps ...[]byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	for _, p := range ps {
		w.frames = append(w.frames, fakeFrame{from, bytes.Clone(p), w.writes})
	}
}

func (w *fakeWire) all() []fakeFrame {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]fakeFrame(nil), w.frames...)
}

// fakeEnd is one end of an in-memory message pipe. Each item on the
// channels is one write: one message, or several from a fakeBatchEnd.
type fakeEnd struct {
	name    string
	in      <-chan [][]byte
	out     chan<- [][]byte
	pending [][]byte // received in one write, not yet taken
	wire    *fakeWire
	once    sync.Once
}

// fakePipe returns two connected in-memory ends, named "S" and "C", and
// the record of their traffic. Closing an end makes the other's recvMsg
// return io.EOF once the messages in flight are read.
func fakePipe() (s, c *fakeEnd, wire *fakeWire) {
	sc := make(chan [][]byte, 8)
	cs := make(chan [][]byte, 8)
	wire = &fakeWire{}
	s = &fakeEnd{name: "S", in: cs, out: sc, wire: wire}
	c = &fakeEnd{name: "C", in: sc, out: cs, wire: wire}
	return s, c, wire
}

func (e *fakeEnd) close() { e.once.Do(func() { close(e.out) }) }

func (e *fakeEnd) sendMsg(ctx context.Context, p []byte) error {
	return e.write(ctx, p)
}

func (e *fakeEnd) write(ctx context.Context, ps ...[]byte) error {
	if e.wire != nil {
		e.wire.add(e.name, ps...)
	}
	item := make([][]byte, len(ps))
	for i, p := range ps {
		item[i] = bytes.Clone(p)
	}
	select {
	case e.out <- item:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *fakeEnd) recvMsg(ctx context.Context, max int) ([]byte, error) {
	for len(e.pending) == 0 {
		select {
		case item, ok := <-e.in:
			if !ok {
				return nil, io.EOF
			}
			e.pending = item
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	m := e.pending[0]
	e.pending = e.pending[1:]
	if len(m) > max {
		return nil, &MessageTooLongError{Len: int64(len(m)), Max: int64(max)}
	}
	return m, nil
}

// fakeBatchEnd is a fakeEnd that sends several messages in one write and
// tells when a message is waiting, as a Conn does: the handshake then
// pipelines on both sides.
type fakeBatchEnd struct{ *fakeEnd }

func (e fakeBatchEnd) sendMsgs(ctx context.Context, ps ...[]byte) error {
	return e.write(ctx, ps...)
}

func (e fakeBatchEnd) msgBuffered() bool { return len(e.pending) > 0 }

// ---------------------------------------------------------------------
// Reference values, computed independently of the package's HMAC code

func refHash(name string) func() hash.Hash {
	switch name {
	case "md5":
		return md5.New
	case "sha256":
		return sha256.New
	case "sha384":
		return sha512.New384
	case "sha3_256":
		return func() hash.Hash { return sha3.New256() }
	case "sha3_384":
		return func() hash.Hash { return sha3.New384() }
	}
	panic("refHash: unknown digest " + name)
}

func refMAC(name string, key, msg []byte) []byte {
	m := hmac.New(refHash(name), key)
	m.Write(msg)
	return m.Sum(nil)
}

var refSize = map[string]int{"md5": 16, "sha256": 32, "sha384": 48, "sha3_256": 32, "sha3_384": 48}

// allDigests lists every challenge kind deliverChallenge accepts ("" is
// the default, sha256).
var allDigests = []string{"legacy", "", "md5", "sha256", "sha384", "sha3_256", "sha3_384"}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func authTestCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantAuthErr checks that err is an *AuthError whose reason contains want.
func wantAuthErr(t *testing.T, err error, want string) {
	t.Helper()
	var ae *AuthError
	if !errors.Is(err, ErrAuthentication) || !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an *AuthError matching ErrAuthentication", err)
	}
	if !strings.Contains(ae.Reason, want) {
		t.Fatalf("reason %q does not contain %q", ae.Reason, want)
	}
	if !strings.HasPrefix(err.Error(), "mpconn: authentication failed: ") {
		t.Fatalf("message %q lacks the mpconn prefix", err.Error())
	}
}

// ---------------------------------------------------------------------
// Constants and errors

func TestHandshakeWireConstants(t *testing.T) {
	for _, c := range []struct{ got, hex string }{
		{challengePrefix, "234348414c4c454e474523"},
		{welcomeMsg, "2357454c434f4d4523"},
		{failureMsg, "234641494c55524523"},
		{"{" + digestDefault + "}", "7b7368613235367d"},
	} {
		if got := hex.EncodeToString([]byte(c.got)); got != c.hex {
			t.Errorf("%q = %s, want %s", c.got, got, c.hex)
		}
	}
	if handshakeMaxLen != 256 || legacyNonceLen != 20 || modernNonceLen != 40 || legacyResponseLen != 16 || maxDigestNameLen != 8 {
		t.Errorf("lengths: cap %d, nonces %d/%d, legacy response %d, name %d; want 256, 20/40, 16, 8",
			handshakeMaxLen, legacyNonceLen, modernNonceLen, legacyResponseLen, maxDigestNameLen)
	}
	var names []string
	for _, d := range macDigests {
		names = append(names, d.name)
		if d.size != refSize[d.name] || d.new().Size() != d.size {
			t.Errorf("%s: size %d, hash size %d, want %d", d.name, d.size, d.new().Size(), refSize[d.name])
		}
	}
	if got := strings.Join(names, ","); got != "md5,sha256,sha384,sha3_256,sha3_384" {
		t.Errorf("allowed digests %s", got)
	}
}

func TestAuthError(t *testing.T) {
	err := fmt.Errorf("accept: %w", &AuthError{Reason: reasonWrongDigest})
	if !errors.Is(err, ErrAuthentication) {
		t.Error("a wrapped *AuthError does not match ErrAuthentication")
	}
	if errors.Is(err, io.EOF) {
		t.Error("an *AuthError matches io.EOF")
	}
	if got, want := (&AuthError{Reason: reasonRejected}).Error(), "mpconn: authentication failed: digest sent was rejected"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if errors.Is(errors.New("mpconn: authentication failed"), ErrAuthentication) {
		t.Error("an unrelated error matches ErrAuthentication")
	}
}

func TestQuotePeer(t *testing.T) {
	if got, want := quotePeer([]byte("ab\x80\n")), `"ab\x80\n"`; got != want {
		t.Errorf("quotePeer = %s, want %s", got, want)
	}
	long := bytes.Repeat([]byte{0xff}, 300)
	got := quotePeer(long)
	if want := `"` + strings.Repeat(`\xff`, 32) + `"... (300 bytes)`; got != want {
		t.Errorf("quotePeer(300 bytes) = %s, want %s", got, want)
	}
}

// ---------------------------------------------------------------------
// Go challenger <-> Go responder

// runPair runs authenticateServer and authenticateClient against each
// other over a fakePipe whose ends batch and peek like a Conn, so that
// both sides pipeline. Each side closes its end when it returns, as
// CPython drops a connection that failed.
func runPair(t *testing.T, skey, ckey []byte, sdigest, cdigest string) (frames []fakeFrame, serr, cerr error) {
	return runPairMode(t, true, skey, ckey, sdigest, cdigest)
}

// runPairMode is runPair, with ends that send one message per write and
// never peek when batch is false: the listener side then cannot pipeline.
func runPairMode(t *testing.T, batch bool, skey, ckey []byte, sdigest, cdigest string) (frames []fakeFrame, serr, cerr error) {
	t.Helper()
	ctx := authTestCtx(t)
	s, c, wire := fakePipe()
	var sc, cc handshakeConn = s, c
	if batch {
		sc, cc = fakeBatchEnd{s}, fakeBatchEnd{c}
	}
	done := make(chan error, 1)
	go func() {
		err := authenticateServer(ctx, sc, skey, sdigest)
		s.close()
		done <- err
	}()
	cerr = authenticateClient(ctx, cc, ckey, cdigest)
	c.close()
	serr = <-done
	return wire.all(), serr, cerr
}

// fromSide returns the messages one side sent, in order.
func fromSide(frames []fakeFrame, from string) []fakeFrame {
	var out []fakeFrame
	for _, f := range frames {
		if f.from == from {
			out = append(out, f)
		}
	}
	return out
}

// checkChallenge checks a challenge message of the given kind and returns
// its payload.
func checkChallenge(t *testing.T, msg []byte, digest string) []byte {
	t.Helper()
	payload, ok := bytes.CutPrefix(msg, []byte("#CHALLENGE#"))
	if !ok {
		t.Fatalf("challenge %q lacks #CHALLENGE#", msg)
	}
	if digest == "" {
		digest = "sha256"
	}
	switch digest {
	case "legacy":
		if len(msg) != 31 {
			t.Fatalf("legacy challenge is %d bytes, want 31", len(msg))
		}
	default:
		prefix := "{" + digest + "}"
		if !bytes.HasPrefix(payload, []byte(prefix)) || len(payload) != len(prefix)+40 {
			t.Fatalf("challenge payload %q, want %s + 40 bytes", payload, prefix)
		}
		if digest == "sha256" && len(msg) != 59 {
			t.Fatalf("sha256 challenge is %d bytes, want 59", len(msg))
		}
	}
	return payload
}

// wantResponse is the response the responder must send to payload,
// derived from the spec (§3.5, §3.6) independently of the package's HMAC code.
func wantResponse(key, payload []byte, digest string) []byte {
	if digest == "" {
		digest = "sha256"
	}
	if digest == "legacy" {
		return refMAC("md5", key, payload)
	}
	return append([]byte("{"+digest+"}"), refMAC(digest, key, payload)...)
}

func TestHandshakeGoToGo(t *testing.T) {
	keys := map[string][]byte{
		"key":   []byte("secret"),
		"empty": {},
		"long":  bytes.Repeat([]byte{0xa5}, 200),
	}
	for _, batch := range []bool{true, false} {
		mode := "pipelined"
		if !batch {
			mode = "onebyone"
		}
		for _, sd := range allDigests {
			for _, cd := range []string{"sha256", "legacy", sd} {
				for kname, key := range keys {
					t.Run(fmt.Sprintf("%s/%s/%s/%s", mode, sd, cd, kname), func(t *testing.T) {
						frames, serr, cerr := runPairMode(t, batch, key, key, sd, cd)
						if serr != nil || cerr != nil {
							t.Fatalf("server: %v; client: %v", serr, cerr)
						}
						checkGoodWire(t, frames, key, sd, cd, batch)
					})
				}
			}
		}
	}
}

// checkGoodWire checks the messages of a successful handshake: in each
// direction exactly those of CPython's sequence, and, when both ends
// batch, the pipelined writes (response and challenge together from the
// client, verdict and response together from the listener).
func checkGoodWire(t *testing.T, frames []fakeFrame, key []byte, sd, cd string, batch bool) {
	t.Helper()
	if len(frames) != 6 {
		t.Fatalf("%d messages on the wire, want 6", len(frames))
	}
	s, c := fromSide(frames, "S"), fromSide(frames, "C")
	if len(s) != 3 || len(c) != 3 {
		t.Fatalf("%d messages from the listener and %d from the client, want 3 and 3", len(s), len(c))
	}
	// Listener to client: challenge, #WELCOME#, response.
	p1 := checkChallenge(t, s[0].data, sd)
	if want := wantResponse(key, p1, sd); !bytes.Equal(c[0].data, want) {
		t.Errorf("client response %x, want %x", c[0].data, want)
	}
	p2 := checkChallenge(t, c[1].data, cd)
	if want := wantResponse(key, p2, cd); !bytes.Equal(s[2].data, want) {
		t.Errorf("server response %x, want %x", s[2].data, want)
	}
	if string(s[1].data) != "#WELCOME#" || string(c[2].data) != "#WELCOME#" {
		t.Errorf("verdicts %q, %q", s[1].data, c[2].data)
	}
	if !batch {
		return
	}
	// Four writes: S challenge | C response+challenge | S verdict+response | C verdict.
	for i, want := range []struct {
		from  string
		write int
	}{{"S", 1}, {"C", 2}, {"C", 2}, {"S", 3}, {"S", 3}, {"C", 4}} {
		if frames[i].from != want.from || frames[i].write != want.write {
			t.Fatalf("message %d from %s in write %d, want from %s in write %d", i+1, frames[i].from, frames[i].write, want.from, want.write)
		}
	}
}

func TestHandshakeGoToGoNilKey(t *testing.T) {
	// A nil key is the empty key, as b'' is in CPython.
	_, serr, cerr := runPair(t, nil, []byte{}, "sha256", "legacy")
	if serr != nil || cerr != nil {
		t.Fatalf("server: %v; client: %v", serr, cerr)
	}
}

func TestHandshakeGoToGoWrongKey(t *testing.T) {
	for _, batch := range []bool{true, false} {
		for _, d := range allDigests {
			t.Run(fmt.Sprintf("%v/%s", batch, d), func(t *testing.T) {
				frames, serr, cerr := runPairMode(t, batch, []byte("secret"), []byte("wrong"), d, d)
				wantAuthErr(t, serr, reasonWrongDigest)
				wantAuthErr(t, cerr, reasonRejected)
				s, c := fromSide(frames, "S"), fromSide(frames, "C")
				// The client's challenge went out with its response; the
				// listener answers it with nothing but #FAILURE#.
				if len(s) != 2 || string(s[1].data) != "#FAILURE#" || len(c) != 2 {
					t.Fatalf("wire %v, want challenge and #FAILURE# from S, response and challenge from C", frames)
				}
				if want := wantResponse([]byte("wrong"), checkChallenge(t, s[0].data, d), d); !bytes.Equal(c[0].data, want) {
					t.Errorf("response %x, want %x", c[0].data, want)
				}
				checkChallenge(t, c[1].data, d)
			})
		}
	}
	// The empty key is a key like any other.
	_, serr, cerr := runPair(t, []byte{}, []byte("k"), "sha256", "sha256")
	wantAuthErr(t, serr, reasonWrongDigest)
	wantAuthErr(t, cerr, reasonRejected)
}

func TestHandshakePeerCloses(t *testing.T) {
	// The peer goes away after reading the challenge: io.EOF, wrapped,
	// and not an authentication failure.
	f := &fakeScript{}
	err := deliverChallenge(authTestCtx(t), f, []byte("k"), "sha256")
	if !errors.Is(err, io.EOF) || errors.Is(err, ErrAuthentication) {
		t.Fatalf("deliverChallenge = %v, want a wrapped io.EOF", err)
	}
	if !strings.HasPrefix(err.Error(), "mpconn: ") {
		t.Errorf("message %q lacks the mpconn prefix", err)
	}
	if len(f.sent) != 1 {
		t.Errorf("sent %d messages, want only the challenge", len(f.sent))
	}
	err = answerChallenge(authTestCtx(t), &fakeScript{}, []byte("k"))
	if !errors.Is(err, io.EOF) || errors.Is(err, ErrAuthentication) {
		t.Fatalf("answerChallenge = %v, want a wrapped io.EOF", err)
	}
	// EOF instead of the verdict.
	f = &fakeScript{in: [][]byte{append([]byte("#CHALLENGE#"), make([]byte, 20)...)}}
	err = answerChallenge(authTestCtx(t), f, []byte("k"))
	if !errors.Is(err, io.EOF) || errors.Is(err, ErrAuthentication) || len(f.sent) != 1 {
		t.Fatalf("answerChallenge = %v after sending %d, want a wrapped io.EOF after the response", err, len(f.sent))
	}
}

func TestHandshakeContextCanceled(t *testing.T) {
	s, _, _ := fakePipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- answerChallenge(ctx, s, []byte("k")) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || errors.Is(err, ErrAuthentication) {
		t.Fatalf("answerChallenge = %v, want context.Canceled", err)
	}
}

// TestClientNoChallenge: a client whose deadline passes while it waits for
// the challenge (the usual sign of a Listener without a key) says so.
func TestClientNoChallenge(t *testing.T) {
	s, _, _ := fakePipe()
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	err := authenticateClient(ctx, s, []byte("k"), "")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no challenge came from the Listener") {
		t.Fatalf("authenticateClient = %v, want a deadline error saying that no challenge came", err)
	}
}

func TestDeliverChallengeBadDigest(t *testing.T) {
	for _, d := range []string{"sha512", "SHA256", "sha1", "{sha256}", "md5 "} {
		f := &fakeScript{}
		err := deliverChallenge(authTestCtx(t), f, []byte("k"), d)
		if err == nil || errors.Is(err, ErrAuthentication) || !strings.Contains(err.Error(), "unsupported challenge digest") {
			t.Errorf("digest %q: err = %v, want an unsupported digest error", d, err)
		}
		if len(f.sent) != 0 {
			t.Errorf("digest %q: sent %q", d, f.sent)
		}
	}
}

// ---------------------------------------------------------------------
// Recorded CPython transcripts (spec §3.12)

// Transcript A: 3.11 <-> 3.11, key b'secret'.
const (
	trAServerNonce = "c31b56251aefac35a9087983faab33a81e25541a"
	trAClientResp  = "7cf381660ef67625db765c0f0181f5a3"
	trAClientNonce = "8ccfb9d2fc66100be10e4f1c8eb311f5870c614a"
	trAServerResp  = "71041352a3cdbcf5bae27f8b324f456d"
)

// Transcript B: 3.13 <-> 3.13, key b'secret'.
const (
	trBServerNonce = "de28642697e52195c28e3735866d4e6454d2900869f932cb2d07bb56bc628033ef2af09acbc6cf36"
	trBClientResp  = "7b7368613235367d a3771da9a1ff0063313ce7a6c69eb64ad87c116dc348c66c07035a7a93c92d4e"
	trBClientNonce = "7d94ee1e84e650fe9505b480258ea607850921e59bb3d6c7fd2b502460dfcedf9310f18602322001"
	trBServerResp  = "7b7368613235367d 568f460e3e930d48feaf8225ef29f260d3f59a4ab0252304669b33477ea6b044"
)

// Transcript D: 3.11 Listener b'secret', 3.11 Client b'wrong'.
const (
	trDServerNonce = "e8564fb13cc9f1d7a5d1dfc339edab32a995fa6e"
	trDClientResp  = "1dd3bc0ebc24c12de20dc5ea982cff63"
)

// trPickle is the first message of a client without a key (transcript E).
const trPickle = "80049510000000000000005d94284b018c0568656c6c6f944e652e"

// TestSpecTranscriptMACs checks the MACs recorded in the spec with the
// standard library alone: transcript A's MD5 over the raw nonce, and
// transcript B's SHA-256 over "{sha256}" + nonce (and not over the nonce).
func TestSpecTranscriptMACs(t *testing.T) {
	key := []byte("secret")
	for _, c := range []struct{ nonce, resp string }{
		{trAServerNonce, trAClientResp},
		{trAClientNonce, trAServerResp},
	} {
		if got := refMAC("md5", key, mustHex(t, c.nonce)); !bytes.Equal(got, mustHex(t, c.resp)) {
			t.Errorf("A: HMAC-MD5 = %x, want %s", got, c.resp)
		}
	}
	for _, c := range []struct{ nonce, resp string }{
		{trBServerNonce, trBClientResp},
		{trBClientNonce, trBServerResp},
	} {
		nonce, resp := mustHex(t, c.nonce), mustHex(t, c.resp)
		payload := append([]byte("{sha256}"), nonce...)
		if got := refMAC("sha256", key, payload); !bytes.Equal(got, resp[8:]) {
			t.Errorf("B: HMAC-SHA256 over the payload = %x, want %x", got, resp[8:])
		}
		if got := refMAC("sha256", key, nonce); bytes.Equal(got, resp[8:]) {
			t.Errorf("B: HMAC-SHA256 over the bare nonce matches; the spec says it must not")
		}
	}
	if got := refMAC("md5", []byte("wrong"), mustHex(t, trDServerNonce)); !bytes.Equal(got, mustHex(t, trDClientResp)) {
		t.Errorf("D: HMAC-MD5(b'wrong') = %x, want %s", got, trDClientResp)
	}
}

func challengeMsg(payload ...[]byte) []byte {
	return append([]byte("#CHALLENGE#"), bytes.Join(payload, nil)...)
}

// TestHandshakeTranscripts replays the spec's recorded transcripts
// against both Go roles, with the nonces fixed to the recorded ones, and
// requires every byte Go sends to equal what CPython sent.
func TestHandshakeTranscripts(t *testing.T) {
	key := []byte("secret")
	welcome := []byte("#WELCOME#")
	for _, tr := range []struct {
		name, digest                 string
		prefix                       []byte
		sNonce, cResp, cNonce, sResp string
	}{
		{"A-3.11", "legacy", nil, trAServerNonce, trAClientResp, trAClientNonce, trAServerResp},
		{"B-3.13", "sha256", []byte("{sha256}"), trBServerNonce, trBClientResp, trBClientNonce, trBServerResp},
	} {
		sNonce, cResp, cNonce, sResp := mustHex(t, tr.sNonce), mustHex(t, tr.cResp), mustHex(t, tr.cNonce), mustHex(t, tr.sResp)
		sChallenge := challengeMsg(tr.prefix, sNonce)
		cChallenge := challengeMsg(tr.prefix, cNonce)
		t.Run(tr.name+"/server", func(t *testing.T) {
			ctx := authTestCtx(t)
			f := &fakeScript{in: [][]byte{cResp, cChallenge, welcome}}
			if err := deliverChallengeFrom(ctx, f, key, tr.digest, bytes.NewReader(sNonce)); err != nil {
				t.Fatal(err)
			}
			if err := answerChallenge(ctx, f, key); err != nil {
				t.Fatal(err)
			}
			if want := [][]byte{sChallenge, welcome, sResp}; !equalMsgs(f.sent, want) {
				t.Fatalf("sent\n%x\nwant\n%x", f.sent, want)
			}
		})
		t.Run(tr.name+"/client", func(t *testing.T) {
			ctx := authTestCtx(t)
			f := &fakeScript{in: [][]byte{sChallenge, welcome, sResp}}
			if err := answerChallenge(ctx, f, key); err != nil {
				t.Fatal(err)
			}
			if err := deliverChallengeFrom(ctx, f, key, tr.digest, bytes.NewReader(cNonce)); err != nil {
				t.Fatal(err)
			}
			if want := [][]byte{cResp, cChallenge, welcome}; !equalMsgs(f.sent, want) {
				t.Fatalf("sent\n%x\nwant\n%x", f.sent, want)
			}
		})
	}
	t.Run("D-wrong-key/server", func(t *testing.T) {
		f := &fakeScript{in: [][]byte{mustHex(t, trDClientResp)}}
		err := deliverChallengeFrom(authTestCtx(t), f, key, "legacy", bytes.NewReader(mustHex(t, trDServerNonce)))
		wantAuthErr(t, err, reasonWrongDigest)
		if want := [][]byte{challengeMsg(mustHex(t, trDServerNonce)), []byte("#FAILURE#")}; !equalMsgs(f.sent, want) {
			t.Fatalf("sent %x, want %x", f.sent, want)
		}
	})
	t.Run("D-wrong-key/client", func(t *testing.T) {
		f := &fakeScript{in: [][]byte{challengeMsg(mustHex(t, trDServerNonce)), []byte("#FAILURE#")}}
		err := answerChallenge(authTestCtx(t), f, []byte("wrong"))
		wantAuthErr(t, err, reasonRejected)
		if want := [][]byte{mustHex(t, trDClientResp)}; !equalMsgs(f.sent, want) {
			t.Fatalf("sent %x, want %x", f.sent, want)
		}
	})
	t.Run("E-client-without-key", func(t *testing.T) {
		// The server takes the keyless client's pickle as the response.
		f := &fakeScript{in: [][]byte{mustHex(t, trPickle)}}
		err := deliverChallenge(authTestCtx(t), f, key, "sha256")
		wantAuthErr(t, err, "no authkey configured")
		if len(f.sent) != 2 || string(f.sent[1]) != "#FAILURE#" {
			t.Fatalf("sent %q, want the challenge and #FAILURE#", f.sent)
		}
	})
	t.Run("E-server-without-key", func(t *testing.T) {
		// A keyless server sends its pickle where a challenge belongs.
		f := &fakeScript{in: [][]byte{mustHex(t, trPickle)}}
		err := answerChallenge(authTestCtx(t), f, key)
		wantAuthErr(t, err, "expected challenge, got \"\\x80\\x04")
		wantAuthErr(t, err, "no authkey configured")
		if len(f.sent) != 0 {
			t.Fatalf("sent %q", f.sent)
		}
	})
}

func equalMsgs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------
// Edge cases (spec §3.9 and §3.10), Go side

// TestDeliverChallengeEdges plays a client's possible responses to a Go
// challenger (spec §3.9, phase 1, with the 3.12+ behaviour), for both a
// legacy and a sha256 challenge.
func TestDeliverChallengeEdges(t *testing.T) {
	key := []byte("k")
	nonce := bytes.Repeat([]byte{0x5a}, 40)
	type tc struct {
		name    string
		resp    func(payload []byte) []byte
		reason  string // "" for success; "EOF"; "TOOLONG"; else an AuthError reason
		verdict string // the message sent after the challenge, "" for none
	}
	prefixed := func(name string, mac []byte) []byte { return append([]byte("{"+name+"}"), mac...) }
	cases := []tc{
		{"raw-md5", func(p []byte) []byte { return refMAC("md5", key, p) }, "", "#WELCOME#"},
		{"{md5}+16", func(p []byte) []byte { return prefixed("md5", refMAC("md5", key, p)) }, "", "#WELCOME#"},
		{"{sha256}+32", func(p []byte) []byte { return prefixed("sha256", refMAC("sha256", key, p)) }, "", "#WELCOME#"},
		{"{sha384}+48", func(p []byte) []byte { return prefixed("sha384", refMAC("sha384", key, p)) }, "", "#WELCOME#"},
		{"{sha3_256}+32", func(p []byte) []byte { return prefixed("sha3_256", refMAC("sha3_256", key, p)) }, "", "#WELCOME#"},
		{"{sha3_384}+48", func(p []byte) []byte { return prefixed("sha3_384", refMAC("sha3_384", key, p)) }, "", "#WELCOME#"},
		{"raw-md5-wrong-key", func(p []byte) []byte { return refMAC("md5", []byte("x"), p) }, reasonWrongDigest, "#FAILURE#"},
		{"raw-md5-one-bit-off", func(p []byte) []byte { m := refMAC("md5", key, p); m[15] ^= 1; return m }, reasonWrongDigest, "#FAILURE#"},
		{"{sha256}-mac-under-sha3_256-label", func(p []byte) []byte { return prefixed("sha3_256", refMAC("sha256", key, p)) }, reasonWrongDigest, "#FAILURE#"},
		{"{sha256}-truncated", func(p []byte) []byte { return prefixed("sha256", refMAC("sha256", key, p)[:31]) }, "expected sha256 MAC of length 32, got 31", "#FAILURE#"},
		{"{sha256}-extended", func(p []byte) []byte { return prefixed("sha256", append(refMAC("sha256", key, p), 0)) }, "expected sha256 MAC of length 32, got 33", "#FAILURE#"},
		{"{sha512}+64", func(p []byte) []byte { return prefixed("sha512", make([]byte, 64)) }, "unsupported digest", "#FAILURE#"},
		{"{SHA256}+32", func(p []byte) []byte { return prefixed("SHA256", refMAC("sha256", key, p)) }, "unsupported digest", "#FAILURE#"},
		{"{}+32", func(p []byte) []byte { return prefixed("", make([]byte, 32)) }, "unsupported digest", "#FAILURE#"},
		{"name-too-long", func(p []byte) []byte { return prefixed("sha3_2561", make([]byte, 32)) }, "unsupported digest", "#FAILURE#"},
		{"no-closing-brace", func(p []byte) []byte { return append([]byte("{sha256"), make([]byte, 32)...) }, "unsupported digest", "#FAILURE#"},
		{"20-arbitrary-bytes", func(p []byte) []byte { return make([]byte, 20) }, "expected md5 MAC of length 16, got 20", "#FAILURE#"},
		{"{md5}+11-is-legacy", func(p []byte) []byte { return prefixed("md5", refMAC("md5", key, p)[:11]) }, reasonWrongDigest, "#FAILURE#"},
		{"empty", func(p []byte) []byte { return nil }, "unsupported digest", "#FAILURE#"},
		{"256-bytes", func(p []byte) []byte { return bytes.Repeat([]byte{'x'}, 256) }, "unsupported digest", "#FAILURE#"},
		{"257-bytes", func(p []byte) []byte { return bytes.Repeat([]byte{'x'}, 257) }, "TOOLONG", ""},
		{"pickle", func(p []byte) []byte { return []byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01e.") }, "no authkey configured", "#FAILURE#"},
		{"a-challenge", func(p []byte) []byte { return challengeMsg(nonce) }, "got a challenge", "#FAILURE#"},
		{"closes", nil, "EOF", ""},
	}
	for _, digest := range []string{"legacy", "sha256"} {
		for _, c := range cases {
			t.Run(digest+"/"+c.name, func(t *testing.T) {
				var payload []byte
				if digest == "legacy" {
					payload = nonce[:20]
				} else {
					payload = append([]byte("{sha256}"), nonce...)
				}
				f := &fakeScript{}
				if c.resp != nil {
					f.in = [][]byte{c.resp(payload)}
				}
				err := deliverChallengeFrom(authTestCtx(t), f, key, digest, bytes.NewReader(nonce))
				switch c.reason {
				case "":
					if err != nil {
						t.Fatal(err)
					}
				case "EOF":
					if !errors.Is(err, io.EOF) || errors.Is(err, ErrAuthentication) {
						t.Fatalf("err = %v, want io.EOF", err)
					}
				case "TOOLONG":
					var tl *MessageTooLongError
					if !errors.As(err, &tl) || tl.Len != 257 || tl.Max != 256 || errors.Is(err, ErrAuthentication) {
						t.Fatalf("err = %v, want *MessageTooLongError{257, 256}", err)
					}
				default:
					wantAuthErr(t, err, c.reason)
				}
				if !bytes.Equal(f.sent[0], challengeMsg(payload)) {
					t.Fatalf("challenge %x, want %x", f.sent[0], challengeMsg(payload))
				}
				var verdict string
				if len(f.sent) > 1 {
					verdict = string(f.sent[1])
				}
				if verdict != c.verdict || len(f.sent) > 2 {
					t.Fatalf("after the challenge sent %q, want %q", f.sent[1:], c.verdict)
				}
			})
		}
	}
}

// TestAnswerChallengeEdges plays a challenger's possible messages to a Go
// responder (spec §3.9 phase 2 and §3.10, with the 3.12+ behaviour).
func TestAnswerChallengeEdges(t *testing.T) {
	key := []byte("k")
	nonce := bytes.Repeat([]byte{0xc3}, 40)
	welcome := []byte("#WELCOME#")
	type tc struct {
		name      string
		challenge []byte
		verdict   []byte // nil: the peer closes instead
		resp      func() []byte
		reason    string // "" success, "EOF", "TOOLONG", else an AuthError reason
	}
	pre := func(name string, n int) []byte { return append([]byte("{"+name+"}"), nonce[:n]...) }
	cases := []tc{
		{"20B", challengeMsg(nonce[:20]), welcome, func() []byte { return refMAC("md5", key, nonce[:20]) }, ""},
		{"{sha256}+40", challengeMsg(pre("sha256", 40)), welcome, func() []byte {
			return append([]byte("{sha256}"), refMAC("sha256", key, pre("sha256", 40))...)
		}, ""},
		{"{md5}+40", challengeMsg(pre("md5", 40)), welcome, func() []byte {
			r := append([]byte("{md5}"), refMAC("md5", key, pre("md5", 40))...)
			if len(r) != 21 {
				panic("bad test")
			}
			return r
		}, ""},
		{"{sha384}+40", challengeMsg(pre("sha384", 40)), welcome, func() []byte {
			return append([]byte("{sha384}"), refMAC("sha384", key, pre("sha384", 40))...)
		}, ""},
		{"{sha3_256}+40", challengeMsg(pre("sha3_256", 40)), welcome, func() []byte {
			return append([]byte("{sha3_256}"), refMAC("sha3_256", key, pre("sha3_256", 40))...)
		}, ""},
		{"{sha3_384}+40", challengeMsg(pre("sha3_384", 40)), welcome, func() []byte {
			return append([]byte("{sha3_384}"), refMAC("sha3_384", key, pre("sha3_384", 40))...)
		}, ""},
		{"{sha256}+1-short-nonce", challengeMsg(pre("sha256", 13)), welcome, func() []byte {
			return append([]byte("{sha256}"), refMAC("sha256", key, pre("sha256", 13))...)
		}, ""},
		// A prefixed payload of 20 bytes counts as legacy (rule 1 first).
		{"{sha256}+12-is-legacy", challengeMsg(pre("sha256", 12)), welcome, func() []byte {
			return refMAC("md5", key, pre("sha256", 12))
		}, ""},
		{"19B", challengeMsg(nonce[:19]), welcome, nil, "challenge too short: 19 bytes"},
		{"16B", challengeMsg(nonce[:16]), welcome, nil, "challenge too short: 16 bytes"},
		{"empty-payload", challengeMsg(), welcome, nil, "challenge too short: 0 bytes"},
		{"40B-no-prefix", challengeMsg(nonce), welcome, nil, "unsupported digest"},
		{"21B-no-prefix", challengeMsg(nonce[:21]), welcome, nil, "unsupported digest"},
		{"{sha512}+40", challengeMsg(pre("sha512", 40)), welcome, nil, "unsupported digest"},
		{"{Md5}+40", challengeMsg(pre("Md5", 40)), welcome, nil, "unsupported digest"},
		{"no-#CHALLENGE#", append([]byte("#CHALLENGE!"), nonce[:20]...), welcome, nil, `expected challenge, got "#CHALLENGE!`},
		{"#WELCOME#-first", welcome, welcome, nil, `expected challenge, got "#WELCOME#"`},
		{"empty-message", []byte{}, welcome, nil, `expected challenge, got ""`},
		{"257-byte-challenge", challengeMsg(bytes.Repeat([]byte{1}, 246)), welcome, nil, "TOOLONG"},
		{"256-byte-challenge", challengeMsg(bytes.Repeat([]byte{1}, 245)), welcome, nil, "unsupported digest"},
		{"verdict-#FAILURE#", challengeMsg(nonce[:20]), []byte("#FAILURE#"), func() []byte { return refMAC("md5", key, nonce[:20]) }, reasonRejected},
		{"verdict-#WELCOME#\\n", challengeMsg(nonce[:20]), []byte("#WELCOME#\n"), func() []byte { return refMAC("md5", key, nonce[:20]) }, reasonRejected + `: verdict "#WELCOME#\n"`},
		{"verdict-#welcome#", challengeMsg(nonce[:20]), []byte("#welcome#"), func() []byte { return refMAC("md5", key, nonce[:20]) }, reasonRejected},
		{"verdict-empty", challengeMsg(nonce[:20]), []byte{}, func() []byte { return refMAC("md5", key, nonce[:20]) }, reasonRejected},
		{"verdict-257", challengeMsg(nonce[:20]), bytes.Repeat([]byte{'#'}, 257), func() []byte { return refMAC("md5", key, nonce[:20]) }, "TOOLONG"},
		{"verdict-closes", challengeMsg(nonce[:20]), nil, func() []byte { return refMAC("md5", key, nonce[:20]) }, "EOF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeScript{in: [][]byte{c.challenge}}
			if c.verdict != nil {
				f.in = append(f.in, c.verdict)
			}
			err := answerChallenge(authTestCtx(t), f, key)
			switch c.reason {
			case "":
				if err != nil {
					t.Fatal(err)
				}
			case "EOF":
				if !errors.Is(err, io.EOF) || errors.Is(err, ErrAuthentication) {
					t.Fatalf("err = %v, want io.EOF", err)
				}
			case "TOOLONG":
				var tl *MessageTooLongError
				if !errors.As(err, &tl) || tl.Max != 256 || errors.Is(err, ErrAuthentication) {
					t.Fatalf("err = %v, want a *MessageTooLongError", err)
				}
			default:
				wantAuthErr(t, err, c.reason)
			}
			var want [][]byte
			if c.resp != nil {
				want = [][]byte{c.resp()}
			}
			if !equalMsgs(f.sent, want) {
				t.Fatalf("sent %x, want %x", f.sent, want)
			}
		})
	}
}

// ---------------------------------------------------------------------
// Interoperability with real CPython

// testFrameConn is a minimal handshakeConn over a stream, framing as
// CPython does (4-byte big-endian signed length, or -1 and an 8-byte
// length). It records the traffic. The real Conn replaces it later.
type testFrameConn struct {
	c          net.Conn
	sent, recv [][]byte
}

func (f *testFrameConn) watch(ctx context.Context) func() {
	if d, ok := ctx.Deadline(); ok {
		f.c.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { f.c.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

func (f *testFrameConn) sendMsg(ctx context.Context, p []byte) error {
	defer f.watch(ctx)()
	buf := binary.BigEndian.AppendUint32(nil, uint32(len(p)))
	if _, err := f.c.Write(append(buf, p...)); err != nil {
		return err
	}
	f.sent = append(f.sent, bytes.Clone(p))
	return nil
}

func (f *testFrameConn) recvMsg(ctx context.Context, max int) ([]byte, error) {
	defer f.watch(ctx)()
	var h [8]byte
	if _, err := io.ReadFull(f.c, h[:4]); err != nil {
		return nil, err // io.EOF only when nothing at all arrived
	}
	n := int64(int32(binary.BigEndian.Uint32(h[:4])))
	if n == -1 {
		if _, err := io.ReadFull(f.c, h[:]); err != nil {
			return nil, noEOF(err)
		}
		n = int64(binary.BigEndian.Uint64(h[:]))
	}
	if n < 0 {
		return nil, &ProtocolError{Msg: fmt.Sprintf("negative length %d", n)}
	}
	if n > int64(max) {
		return nil, &MessageTooLongError{Len: n, Max: int64(max)}
	}
	p := make([]byte, n) // n <= max, a small cap chosen by the caller
	if _, err := io.ReadFull(f.c, p); err != nil {
		return nil, noEOF(err)
	}
	f.recv = append(f.recv, p)
	return p, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// startAuthPeer starts testdata/py/auth_peer.py under py with the given mode
// (deliver, answer, server, client), key and deliver digest ("default" or
// a name), connected to the returned testFrameConn over a Unix socket.
// wait waits for the script and returns its output line. With a
// serve-mode peer running for the row (startAuthServer), that peer runs
// the handshake instead.
func startAuthPeer(t *testing.T, ctx context.Context, py cpython.Python, mode string, key []byte, digest string) (fc *testFrameConn, wait func() string) {
	t.Helper()
	if fc, wait, ok := startServedAuthPeer(t, ctx, py, mode, key, digest); ok {
		return fc, wait
	}
	script, err := os.ReadFile(filepath.Join("testdata", "py", "auth_peer.py"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "mpauth")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	goSide, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { goSide.Close() })
	pyConn := <-accepted
	if pyConn == nil {
		t.Fatal("accept failed")
	}
	pyFile, err := pyConn.(*net.UnixConn).File()
	pyConn.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := py.Command(ctx, string(script), mode, hex.EncodeToString(key), digest)
	cmd.ExtraFiles = []*os.File{pyFile}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		pyFile.Close()
		t.Fatal(err)
	}
	pyFile.Close() // the child holds the only copy: its exit gives us EOF
	done := make(chan struct{})
	var out string
	go func() {
		defer close(done)
		err := cmd.Wait()
		out = strings.TrimSpace(stdout.String())
		if err != nil || stderr.Len() > 0 {
			out += fmt.Sprintf(" [exit: %v; stderr: %s]", err, stderr.String())
		}
	}()
	t.Cleanup(func() { goSide.Close(); <-done })
	return &testFrameConn{c: goSide}, func() string { <-done; return out }
}

// wantPyResponse checks the response a CPython responder sent to a
// challenge: CPython <= 3.11 always sends a raw 16-byte HMAC-MD5 of the
// whole payload; 3.12+ answers in kind.
func wantPyResponse(t *testing.T, py cpython.Python, key, challenge, resp []byte) {
	t.Helper()
	payload := challenge[len("#CHALLENGE#"):]
	digest := "legacy"
	if len(payload) != 20 && py.AtLeast(3, 12) {
		digest = string(payload[1:bytes.IndexByte(payload, '}')])
	}
	if want := wantResponse(key, payload, digest); !bytes.Equal(resp, want) {
		t.Fatalf("%s answered %x, want %x", py, resp, want)
	}
}

func TestHandshakeCPython(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the CPython peer gets its socket as descriptor 3, which needs a Unix system")
	}
	key := []byte("secret key \x00\xff")
	cpython.EachWithPyodide(t, func(t *testing.T, py cpython.Python) {
		// One peer process per row runs every handshake below: under
		// Pyodide, CPython 3.14's own multiprocessing.connection code (its
		// Connection framing, deliver_challenge and answer_challenge) over
		// FIFOs; under CPython, over a new Unix socket connection each.
		startAuthServer(t, py)
		// Go challenges, Python answers: every challenge kind works with
		// every version (<= 3.11 answers any of them with raw MD5).
		for _, d := range allDigests {
			name := d
			if name == "" {
				name = "empty-digest"
			}
			t.Run("go-deliver/"+name, func(t *testing.T) {
				ctx := authTestCtx(t)
				fc, wait := startAuthPeer(t, ctx, py, "answer", key, "default")
				if err := deliverChallenge(ctx, fc, key, d); err != nil {
					t.Fatalf("deliverChallenge: %v (python: %s)", err, wait())
				}
				checkChallenge(t, fc.sent[0], d)
				wantPyResponse(t, py, key, fc.sent[0], fc.recv[0])
				checkAfterAuth(t, ctx, fc, wait)
			})
		}
		// Python challenges, Go answers.
		pyDigests := []string{"default"}
		if py.AtLeast(3, 12) {
			pyDigests = append(pyDigests, "md5", "sha384", "sha3_256", "sha3_384")
		}
		for _, d := range pyDigests {
			t.Run("go-answer/"+d, func(t *testing.T) {
				ctx := authTestCtx(t)
				fc, wait := startAuthPeer(t, ctx, py, "deliver", key, d)
				if err := answerChallenge(ctx, fc, key); err != nil {
					t.Fatalf("answerChallenge: %v (python: %s)", err, wait())
				}
				switch {
				case !py.AtLeast(3, 12):
					checkChallenge(t, fc.recv[0], "legacy")
				case d == "default":
					checkChallenge(t, fc.recv[0], "sha256")
				default:
					checkChallenge(t, fc.recv[0], d)
				}
				checkAfterAuth(t, ctx, fc, wait)
			})
		}
		// Both halves, in Listener and Client order.
		for _, d := range []string{"sha256", "legacy"} {
			for _, k := range [][]byte{key, {}} {
				name := fmt.Sprintf("%s/keylen%d", d, len(k))
				t.Run("go-server/"+name, func(t *testing.T) {
					ctx := authTestCtx(t)
					fc, wait := startAuthPeer(t, ctx, py, "client", k, "default")
					if err := authenticateServer(ctx, fc, k, d); err != nil {
						t.Fatalf("authenticateServer: %v (python: %s)", err, wait())
					}
					checkAfterAuth(t, ctx, fc, wait)
				})
				t.Run("go-client/"+name, func(t *testing.T) {
					ctx := authTestCtx(t)
					fc, wait := startAuthPeer(t, ctx, py, "server", k, "default")
					if err := authenticateClient(ctx, fc, k, d); err != nil {
						t.Fatalf("authenticateClient: %v (python: %s)", err, wait())
					}
					checkAfterAuth(t, ctx, fc, wait)
				})
			}
		}
		// Wrong keys: both sides fail, in both roles.
		for _, d := range []string{"sha256", "legacy"} {
			t.Run("wrong-key/go-deliver/"+d, func(t *testing.T) {
				ctx := authTestCtx(t)
				fc, wait := startAuthPeer(t, ctx, py, "answer", []byte("other"), "default")
				wantAuthErr(t, deliverChallenge(ctx, fc, key, d), reasonWrongDigest)
				fc.c.Close() // as CPython drops a failed connection
				if out := wait(); out != "ERR AuthenticationError digest sent was rejected" {
					t.Fatalf("python printed %q", out)
				}
			})
		}
		t.Run("wrong-key/go-answer", func(t *testing.T) {
			ctx := authTestCtx(t)
			fc, wait := startAuthPeer(t, ctx, py, "deliver", []byte("other"), "default")
			wantAuthErr(t, answerChallenge(ctx, fc, key), reasonRejected)
			if out := wait(); out != "ERR AuthenticationError digest received was wrong" {
				t.Fatalf("python printed %q", out)
			}
		})
		t.Run("wrong-key/go-client", func(t *testing.T) {
			ctx := authTestCtx(t)
			fc, wait := startAuthPeer(t, ctx, py, "server", []byte{}, "default")
			wantAuthErr(t, authenticateClient(ctx, fc, key, "sha256"), reasonRejected)
			if out := wait(); out != "ERR AuthenticationError digest received was wrong" {
				t.Fatalf("python printed %q", out)
			}
		})
		t.Run("wrong-key/go-server", func(t *testing.T) {
			ctx := authTestCtx(t)
			fc, wait := startAuthPeer(t, ctx, py, "client", []byte{}, "default")
			wantAuthErr(t, authenticateServer(ctx, fc, key, "sha256"), reasonWrongDigest)
			fc.c.Close()
			if out := wait(); out != "ERR AuthenticationError digest sent was rejected" {
				t.Fatalf("python printed %q", out)
			}
		})
	})
}

// checkAfterAuth requires the Python peer to report success and its
// first message after the handshake to arrive intact.
func checkAfterAuth(t *testing.T, ctx context.Context, fc *testFrameConn, wait func() string) {
	t.Helper()
	m, err := fc.recvMsg(ctx, 1024)
	if err != nil || string(m) != "authenticated" {
		t.Fatalf("after the handshake got %q, %v (python: %s)", m, err, wait())
	}
	if out := wait(); out != "OK" {
		t.Fatalf("python printed %q", out)
	}
}

// ---------------------------------------------------------------------
// Benchmarks

func BenchmarkHandshakePair(b *testing.B) {
	key := bytes.Repeat([]byte{7}, 32)
	for _, d := range []string{"legacy", "sha256"} {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				s, c, _ := fakePipe()
				s.wire, c.wire = nil, nil
				done := make(chan error, 1)
				go func() { done <- authenticateServer(ctx, s, key, d) }()
				if err := authenticateClient(ctx, c, key, d); err != nil {
					b.Fatal(err)
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
