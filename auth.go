package mpconn

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/mpconn/mpconn/internal/platform"
)

// The authentication handshake of CPython's multiprocessing.connection.
//
// One side, the challenger, sends "#CHALLENGE#" and a random payload; the
// other, the responder, answers with an HMAC of that payload under the
// shared key; the challenger replies "#WELCOME#" or "#FAILURE#". A listener
// challenges first and then answers the client's challenge; a client does
// the reverse. Every message is one ordinary frame, and every handshake
// receive is capped at handshakeMaxLen bytes.
//
// Two schemes exist. CPython 2.7 and 3.6-3.11 send a 20-byte nonce and
// answer with the raw 16-byte HMAC-MD5 of whatever payload they receive.
// CPython 3.12 and later send "{sha256}" and a 40-byte nonce, and answer a
// "{name}" challenge with "{name}" and the HMAC-name of the whole payload,
// prefix included; they answer a 20-byte challenge with raw HMAC-MD5, and
// accept a raw 16-byte MD5 response, which is how older peers keep working.

// Wire constants of the handshake.
const (
	challengePrefix = "#CHALLENGE#"
	welcomeMsg      = "#WELCOME#"
	failureMsg      = "#FAILURE#"

	// handshakeMaxLen caps every message received during the handshake,
	// as CPython's recv_bytes(256) does.
	handshakeMaxLen = 256

	legacyNonceLen    = 20 // nonce of a CPython <= 3.11 challenge
	modernNonceLen    = 40 // nonce after the "{name}" prefix, CPython 3.12+
	legacyResponseLen = 16 // raw HMAC-MD5
	maxDigestNameLen  = 8  // the closing brace may sit at index 1 to 9

	// digestLegacy selects the 20-byte challenge of CPython <= 3.11.
	digestLegacy = "legacy"
	// digestDefault is the digest a CPython 3.12+ challenger asks for,
	// and the one an empty digest selects.
	digestDefault = "sha256"
)

// macDigest is one hash the handshake may use.
type macDigest struct {
	name string
	size int // MAC length in bytes
	new  func() hash.Hash
}

// macDigests lists the digests CPython 3.12+ allows, by name.
var macDigests = []macDigest{
	{"md5", md5.Size, md5.New},
	{"sha256", sha256.Size, sha256.New},
	{"sha384", sha512.Size384, sha512.New384},
	{"sha3_256", 32, func() hash.Hash { return sha3.New256() }},
	{"sha3_384", 48, func() hash.Hash { return sha3.New384() }},
}

// lookupDigest returns the allowed digest called name.
func lookupDigest(name string) (*macDigest, bool) {
	for i := range macDigests {
		if macDigests[i].name == name {
			return &macDigests[i], true
		}
	}
	return nil, false
}

func (d *macDigest) mac(key, msg []byte) []byte {
	m := hmac.New(d.new, key)
	m.Write(msg)
	return m.Sum(nil)
}

// splitDigest applies CPython's rule for naming the digest of a challenge
// payload or a response: a message of 16 or 20 bytes is legacy (MD5, the
// whole message is the nonce or MAC); otherwise it must start with
// "{name}", name one of the allowed digests, and rest is what follows the
// closing brace. Because the length rule comes first, a prefixed message
// of 16 or 20 bytes counts as legacy, exactly as in CPython.
func splitDigest(msg []byte) (d *macDigest, prefixed bool, rest []byte, ok bool) {
	if len(msg) == legacyResponseLen || len(msg) == legacyNonceLen {
		d, _ = lookupDigest("md5")
		return d, false, msg, true
	}
	if len(msg) < 2 || msg[0] != '{' {
		return nil, false, nil, false
	}
	end := bytes.IndexByte(msg[1:min(len(msg), maxDigestNameLen+2)], '}')
	if end < 0 {
		return nil, false, nil, false
	}
	end++ // index of '}' in msg
	d, ok = lookupDigest(string(msg[1:end]))
	if !ok {
		return nil, false, nil, false
	}
	return d, true, msg[end+1:], true
}

// handshakeConn is what the authentication handshake needs from a connection.
type handshakeConn interface {
	// sendMsg sends p as one framed message.
	sendMsg(ctx context.Context, p []byte) error
	// recvMsg receives one whole message of at most max bytes; a longer one gives an error
	// (a *MessageTooLongError).
	recvMsg(ctx context.Context, max int) ([]byte, error)
}

// ErrAuthentication matches, through [errors.Is], every [*AuthError]: the
// peer did not prove it holds the key, or did not follow the handshake.
var ErrAuthentication = errors.New("mpconn: authentication failed")

// AuthError reports a failed authentication handshake (CPython's
// AuthenticationError). errors.Is(err, [ErrAuthentication]) is true for it.
//
// A handshake that fails because the connection broke (the peer closed it,
// a deadline passed, a message exceeded the 256-byte handshake cap) returns
// that error instead, wrapped with context: errors.Is(err, io.EOF) and
// errors.As(err, &tooLong) keep working, and it does not match
// ErrAuthentication.
type AuthError struct {
	// Reason says what went wrong, such as "digest received was wrong"
	// (the peer answered our challenge with a wrong MAC) or "digest sent
	// was rejected" (the peer refused our answer). Peer data quoted in it
	// is truncated and escaped.
	Reason string

	// Err is the I/O error behind the failure, or nil. It is set when the
	// peer closed or reset the connection where its verdict on our
	// response was due: a Dial whose response was rejected may see that
	// instead of the "#FAILURE#" message (see [Dial]).
	Err error
}

func (e *AuthError) Error() string { return "mpconn: authentication failed: " + e.Reason }

// Unwrap returns Err.
func (e *AuthError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrAuthentication].
func (e *AuthError) Is(target error) bool { return target == ErrAuthentication }

// Reasons shared by the handshake and its tests.
const (
	reasonWrongDigest = "digest received was wrong"
	reasonRejected    = "digest sent was rejected"
	noKeyHint         = ": the peer seems to have no authkey configured and sent a pickle (CPython gh-123736)"
)

// quotePeer renders peer bytes for an error message: at most 32 bytes,
// escaped, with the total length when truncated.
func quotePeer(b []byte) string {
	const max = 32
	if len(b) <= max {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q... (%d bytes)", b[:max], len(b))
}

// looksLikePickle reports whether a handshake message is most likely a
// pickle (protocol 2 and later start with the PROTO opcode 0x80), which is
// what a peer that skipped authentication sends first.
func looksLikePickle(b []byte) bool { return len(b) > 0 && b[0] == 0x80 }

// deliverChallenge runs the challenger's half of the handshake
// (CPython's deliver_challenge): it sends a challenge, checks the
// response, and sends "#WELCOME#" or "#FAILURE#".
//
// digest selects the challenge. "sha256", the default (also chosen by ""),
// sends "{sha256}" and 40 random bytes, as CPython 3.12+ does; "md5",
// "sha384", "sha3_256" and "sha3_384" send the same form with that name.
// "legacy" sends 20 random bytes, as CPython <= 3.11 does. Every CPython
// from 2.7 on answers either form. Any other name returns an error that
// does not match [ErrAuthentication], without sending anything.
//
// Whatever was asked, the response may use any allowed digest: a raw
// 16-byte HMAC-MD5 (what CPython <= 3.11 sends to every challenge), or
// "{name}" and the HMAC-name of the whole challenge payload, for md5,
// sha256, sha384, sha3_256 or sha3_384. As in CPython the responder thus
// chooses the strength: this is needed for CPython <= 3.11 peers. MACs are
// compared in constant time. Every failure to prove the key (wrong MAC,
// wrong length, unknown digest) sends "#FAILURE#" and returns an
// [*AuthError].
func deliverChallenge(ctx context.Context, c handshakeConn, key []byte, digest string) error {
	return deliverChallengeFrom(ctx, c, key, digest, rand.Reader)
}

// deliverChallengeFrom is deliverChallenge with the nonce read from rnd,
// so that tests can replay recorded transcripts.
func deliverChallengeFrom(ctx context.Context, c handshakeConn, key []byte, digest string, rnd io.Reader) error {
	payload, msg, err := newChallenge(digest, rnd)
	if err != nil {
		return err
	}
	if err := c.sendMsg(ctx, msg); err != nil {
		return fmt.Errorf("mpconn: handshake: sending the challenge: %w", err)
	}
	return judgeResponse(ctx, c, key, payload, true)
}

// newChallenge returns a fresh challenge of the given digest (see
// deliverChallenge), its payload and the whole message, with the nonce
// read from rnd.
func newChallenge(digest string, rnd io.Reader) (payload, msg []byte, err error) {
	if digest == "" {
		digest = digestDefault
	}
	prefix := ""
	n := legacyNonceLen
	if digest != digestLegacy {
		if _, ok := lookupDigest(digest); !ok {
			return nil, nil, fmt.Errorf("mpconn: handshake: unsupported challenge digest %q (want legacy, md5, sha256, sha384, sha3_256 or sha3_384)", digest)
		}
		prefix = "{" + digest + "}"
		n = modernNonceLen
	}
	msg = make([]byte, len(challengePrefix)+len(prefix)+n)
	copy(msg, challengePrefix)
	copy(msg[len(challengePrefix):], prefix)
	if _, err := io.ReadFull(rnd, msg[len(challengePrefix)+len(prefix):]); err != nil {
		return nil, nil, fmt.Errorf("mpconn: handshake: generating the challenge: %w", err)
	}
	return msg[len(challengePrefix):], msg, nil
}

// judgeResponse receives the response to the challenge payload and
// checks it. A wrong one gets "#FAILURE#" and an [*AuthError]; a right
// one gets "#WELCOME#" when welcome is set (otherwise the caller sends
// it).
func judgeResponse(ctx context.Context, c handshakeConn, key, payload []byte, welcome bool) error {
	resp, err := c.recvMsg(ctx, handshakeMaxLen)
	if err != nil {
		return fmt.Errorf("mpconn: handshake: receiving the response: %w", err)
	}
	if aerr := checkResponse(key, payload, resp); aerr != nil {
		// The verdict is a courtesy; the reason the handshake failed is
		// the bad response, whether or not the verdict gets through.
		_ = c.sendMsg(ctx, []byte(failureMsg))
		return aerr
	}
	if !welcome {
		return nil
	}
	if err := c.sendMsg(ctx, []byte(welcomeMsg)); err != nil {
		return fmt.Errorf("mpconn: handshake: sending the verdict: %w", err)
	}
	return nil
}

// checkResponse checks a response to the challenge payload; nil means the
// peer proved it holds key.
func checkResponse(key, payload, resp []byte) *AuthError {
	d, _, mac, ok := splitDigest(resp)
	if !ok {
		switch {
		case looksLikePickle(resp):
			return &AuthError{Reason: "expected a response to the challenge, got " + quotePeer(resp) + noKeyHint}
		case bytes.HasPrefix(resp, []byte(challengePrefix)):
			return &AuthError{Reason: "expected a response to the challenge, got a challenge: both peers act as the challenger (two listeners?)"}
		}
		return &AuthError{Reason: "unsupported digest, or missing digest prefix, in response " + quotePeer(resp)}
	}
	if len(mac) != d.size {
		return &AuthError{Reason: fmt.Sprintf("expected %s MAC of length %d, got %d", d.name, d.size, len(mac))}
	}
	if !hmac.Equal(mac, d.mac(key, payload)) {
		return &AuthError{Reason: reasonWrongDigest}
	}
	return nil
}

// answerChallenge runs the responder's half of the handshake (CPython's
// answer_challenge): it receives a challenge, answers it, and requires the
// verdict to be exactly "#WELCOME#".
//
// It answers in kind, as CPython 3.12+ does: a 20-byte challenge payload
// gets the raw 16-byte HMAC-MD5 of the payload; a "{name}" payload, name
// one of md5, sha256, sha384, sha3_256 and sha3_384, gets "{name}" and the
// HMAC-name of the whole payload, prefix included.
//
// Everything else is refused with an [*AuthError] and no answer is sent:
// a message without "#CHALLENGE#" (a leading 0x80 byte is reported as a
// pickle from a peer with no key configured), a payload shorter than 20
// bytes, and a payload of another length without a known "{name}" prefix.
// CPython <= 3.11 would answer those with HMAC-MD5 of whatever arrived; we
// follow 3.12+ instead. No CPython challenger ever sends such a payload
// (<= 3.11 sends exactly 20 bytes, 3.12+ a "{sha256}" one), so nothing
// that interoperates is lost, and a peer cannot obtain MD5 MACs of
// arbitrary short or unlabelled messages.
func answerChallenge(ctx context.Context, c handshakeConn, key []byte) error {
	msg, err := c.recvMsg(ctx, handshakeMaxLen)
	if err != nil {
		return fmt.Errorf("mpconn: handshake: receiving the challenge: %w", err)
	}
	resp, aerr := responseTo(key, msg)
	if aerr != nil {
		return aerr
	}
	if err := c.sendMsg(ctx, resp); err != nil {
		return fmt.Errorf("mpconn: handshake: sending the response: %w", err)
	}
	return recvVerdict(ctx, c, false)
}

// recvVerdict receives the verdict on our response and requires it to be
// exactly "#WELCOME#".
//
// With pipelined set, our challenge went out right behind the response,
// before the verdict. A peer that rejects the response and closes the
// connection leaves that challenge unread, and the kernel may then report
// a reset, or the end of the stream, instead of the "#FAILURE#" it sent:
// such an end is reported as the rejection it almost surely is, an
// [*AuthError] wrapping the I/O error.
func recvVerdict(ctx context.Context, c handshakeConn, pipelined bool) error {
	verdict, err := c.recvMsg(ctx, handshakeMaxLen)
	if err != nil {
		if pipelined && peerGone(err) {
			return &AuthError{Reason: reasonRejected + " (the peer closed the connection instead of sending the verdict: " + err.Error() + ")", Err: err}
		}
		return fmt.Errorf("mpconn: handshake: receiving the verdict: %w", err)
	}
	if string(verdict) != welcomeMsg {
		if string(verdict) == failureMsg {
			return &AuthError{Reason: reasonRejected}
		}
		return &AuthError{Reason: reasonRejected + ": verdict " + quotePeer(verdict)}
	}
	return nil
}

// peerGone reports whether a receive failed because the peer closed or
// reset the connection.
func peerGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, platform.ECONNRESET) || errors.Is(err, platform.ECONNABORTED) ||
		errors.Is(err, platform.EPIPE)
}

// responseTo builds the answer to a challenge message.
func responseTo(key, msg []byte) ([]byte, *AuthError) {
	payload, ok := bytes.CutPrefix(msg, []byte(challengePrefix))
	if !ok {
		reason := "expected challenge, got " + quotePeer(msg)
		if looksLikePickle(msg) {
			reason += noKeyHint
		}
		return nil, &AuthError{Reason: reason}
	}
	if len(payload) < legacyNonceLen {
		return nil, &AuthError{Reason: fmt.Sprintf("challenge too short: %d bytes, want at least %d", len(payload), legacyNonceLen)}
	}
	d, prefixed, _, ok := splitDigest(payload)
	if !ok {
		return nil, &AuthError{Reason: "unsupported digest, or missing digest prefix, in challenge " + quotePeer(payload)}
	}
	mac := d.mac(key, payload)
	if !prefixed {
		return mac, nil
	}
	resp := make([]byte, 0, len(d.name)+2+len(mac))
	resp = append(resp, '{')
	resp = append(resp, d.name...)
	resp = append(resp, '}')
	return append(resp, mac...), nil
}

// msgBatcher is a handshakeConn that can send several messages in one
// write.
type msgBatcher interface {
	sendMsgs(ctx context.Context, msgs ...[]byte) error
}

// msgPeeker is a handshakeConn that can tell, without reading from the
// transport, whether a whole message is waiting.
type msgPeeker interface {
	msgBuffered() bool
}

// finalReader is a handshakeConn that wants to know when the next
// receive is the handshake's last: what follows it is the peer's first
// messages, which may carry descriptors (rawHandshake).
type finalReader interface {
	finalRead()
}

// sendBatch sends msgs in order, in one write when c can do that.
func sendBatch(ctx context.Context, c handshakeConn, msgs ...[]byte) error {
	if b, ok := c.(msgBatcher); ok {
		return b.sendMsgs(ctx, msgs...)
	}
	for _, p := range msgs {
		if err := c.sendMsg(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// msgWaiting reports whether c already holds a whole message.
func msgWaiting(c handshakeConn) bool {
	p, ok := c.(msgPeeker)
	return ok && p.msgBuffered()
}

// The two sides of the handshake between a listener and a client, as
// CPython's Listener.accept and Client run them (deliver_challenge then
// answer_challenge on the listener, the reverse on the client), with the
// same messages in the same order in each direction, but pipelined:
//
//	listener                          client
//	#CHALLENGE#s         ------->
//	                     <-------     response(s) #CHALLENGE#c
//	#WELCOME# response(c) ------>
//	                     <-------     #WELCOME#
//
// The client sends its challenge right behind its response, without
// waiting for the verdict; a listener that finds that challenge already
// received when it welcomes the client sends the verdict and its response
// together. That is four one-way trips instead of six. The order of the
// messages on each direction of the stream is unchanged, and CPython reads
// exactly one message at a time, so a CPython peer on either side sees
// the very bytes it expects and merely finds the next message already
// there. Nothing is answered before the peer has proved it holds the key:
// the listener answers the client's challenge only after welcoming it, and
// the client answers the listener's challenge (which only proves the
// client's key) before anything else.

// authenticateServer authenticates the peer of a listener, as CPython's
// Listener.accept does: it challenges the client, then answers the
// client's challenge.
func authenticateServer(ctx context.Context, c handshakeConn, key []byte, digest string) error {
	return (&serverAuth{key: key, digest: digest}).run(ctx, c)
}

// serverAuth is the listener's side of the handshake as steps, so that it
// can stop where a receive would wait too long and go on later, in
// another goroutine (see errMoveOn).
type serverAuth struct {
	key     []byte
	digest  string
	payload []byte // of our challenge
	step    int
}

// The steps of serverAuth.
const (
	stepChallenge   = iota // send our challenge
	stepResponse           // judge the response; welcome (and answer)
	stepChallengeIn        // answer the client's challenge (after a welcome sent alone)
	stepVerdict            // receive the client's verdict
)

// run runs the steps from where the last run stopped.
func (s *serverAuth) run(ctx context.Context, c handshakeConn) error {
	for {
		switch s.step {
		case stepChallenge:
			payload, msg, err := newChallenge(s.digest, rand.Reader)
			if err != nil {
				return err
			}
			if err := c.sendMsg(ctx, msg); err != nil {
				return fmt.Errorf("mpconn: handshake: sending the challenge: %w", err)
			}
			s.payload, s.step = payload, stepResponse
		case stepResponse:
			if err := judgeResponse(ctx, c, s.key, s.payload, false); err != nil {
				return err
			}
			if !msgWaiting(c) {
				// A client that waits for the verdict before
				// challenging (CPython): welcome it, then answer.
				if err := c.sendMsg(ctx, []byte(welcomeMsg)); err != nil {
					return fmt.Errorf("mpconn: handshake: sending the verdict: %w", err)
				}
				s.step = stepChallengeIn
				continue
			}
			// The client's challenge is already here: the verdict and
			// the answer go out together.
			challenge, err := c.recvMsg(ctx, handshakeMaxLen)
			if err != nil {
				return fmt.Errorf("mpconn: handshake: receiving the challenge: %w", err)
			}
			resp, aerr := responseTo(s.key, challenge)
			if aerr != nil {
				// As in sequence: the client got its welcome, then its
				// challenge was refused.
				if err := c.sendMsg(ctx, []byte(welcomeMsg)); err != nil {
					return fmt.Errorf("mpconn: handshake: sending the verdict: %w", err)
				}
				return aerr
			}
			if err := sendBatch(ctx, c, []byte(welcomeMsg), resp); err != nil {
				return fmt.Errorf("mpconn: handshake: sending the verdict and the response: %w", err)
			}
			s.step = stepVerdict
		case stepChallengeIn:
			msg, err := c.recvMsg(ctx, handshakeMaxLen)
			if err != nil {
				return fmt.Errorf("mpconn: handshake: receiving the challenge: %w", err)
			}
			resp, aerr := responseTo(s.key, msg)
			if aerr != nil {
				return aerr
			}
			if err := c.sendMsg(ctx, resp); err != nil {
				return fmt.Errorf("mpconn: handshake: sending the response: %w", err)
			}
			s.step = stepVerdict
		default:
			if f, ok := c.(finalReader); ok {
				f.finalRead()
			}
			return recvVerdict(ctx, c, false)
		}
	}
}

// authenticateClient authenticates the peer of a client, as CPython's
// Client does: it answers the listener's challenge, then challenges the
// listener, sending its challenge together with its response.
func authenticateClient(ctx context.Context, c handshakeConn, key []byte, digest string) error {
	payload, challenge, err := newChallenge(digest, rand.Reader)
	if err != nil {
		return err
	}
	msg, err := c.recvMsg(ctx, handshakeMaxLen)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			// The usual cause: a Listener without a key, which waits
			// for the client to speak first, as we wait for it.
			return fmt.Errorf("mpconn: handshake: no challenge came from the Listener (one without an authentication key sends none and waits for the client's first message): %w", err)
		}
		return fmt.Errorf("mpconn: handshake: receiving the challenge: %w", err)
	}
	resp, aerr := responseTo(key, msg)
	if aerr != nil {
		return aerr
	}
	if err := sendBatch(ctx, c, resp, challenge); err != nil {
		if peerGone(err) {
			// Sent one by one, the response may have gone out and been
			// judged before the challenge could follow: the verdict may
			// be waiting.
			if verr := recvVerdict(ctx, c, false); errors.Is(verr, ErrAuthentication) {
				return verr
			}
		}
		return fmt.Errorf("mpconn: handshake: sending the response and the challenge: %w", err)
	}
	if err := recvVerdict(ctx, c, true); err != nil {
		return err
	}
	return judgeResponse(ctx, c, key, payload, true)
}
