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
	// (a *MessageTooLongError, defined in errors.go).
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
}

func (e *AuthError) Error() string { return "mpconn: authentication failed: " + e.Reason }

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
	var payload []byte
	if digest == "" {
		digest = digestDefault
	}
	switch digest {
	case digestLegacy:
		payload = make([]byte, legacyNonceLen)
		if _, err := io.ReadFull(rnd, payload); err != nil {
			return fmt.Errorf("mpconn: handshake: generating the challenge: %w", err)
		}
	default:
		if _, ok := lookupDigest(digest); !ok {
			return fmt.Errorf("mpconn: handshake: unsupported challenge digest %q (want legacy, md5, sha256, sha384, sha3_256 or sha3_384)", digest)
		}
		prefix := "{" + digest + "}"
		payload = make([]byte, len(prefix)+modernNonceLen)
		copy(payload, prefix)
		if _, err := io.ReadFull(rnd, payload[len(prefix):]); err != nil {
			return fmt.Errorf("mpconn: handshake: generating the challenge: %w", err)
		}
	}
	msg := make([]byte, 0, len(challengePrefix)+len(payload))
	msg = append(append(msg, challengePrefix...), payload...)
	if err := c.sendMsg(ctx, msg); err != nil {
		return fmt.Errorf("mpconn: handshake: sending the challenge: %w", err)
	}
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
	verdict, err := c.recvMsg(ctx, handshakeMaxLen)
	if err != nil {
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

// authenticateServer authenticates the peer of a listener, as CPython's
// Listener.accept does: deliverChallenge, then answerChallenge.
func authenticateServer(ctx context.Context, c handshakeConn, key []byte, digest string) error {
	if err := deliverChallenge(ctx, c, key, digest); err != nil {
		return err
	}
	return answerChallenge(ctx, c, key)
}

// authenticateClient authenticates the peer of a client, as CPython's
// Client does: answerChallenge, then deliverChallenge.
func authenticateClient(ctx context.Context, c handshakeConn, key []byte, digest string) error {
	if err := answerChallenge(ctx, c, key); err != nil {
		return err
	}
	return deliverChallenge(ctx, c, key, digest)
}
