package mpconn

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// fuzzKey is the key of the fuzz targets; the spec's transcripts use it,
// so their recorded messages are valid seeds.
var fuzzKey = []byte("secret")

// refAnswer is a model of a CPython 3.12+ responder written from the spec
// (§3.5), independent of the package's code: the response to a challenge message, or
// ok == false when the challenge must be refused.
func refAnswer(key, msg []byte) (resp []byte, ok bool) {
	const prefix = "#CHALLENGE#"
	if len(msg) < len(prefix) || string(msg[:len(prefix)]) != prefix {
		return nil, false
	}
	p := msg[len(prefix):]
	switch {
	case len(p) < 20:
		return nil, false
	case len(p) == 20:
		return refMAC("md5", key, p), true
	case p[0] != '{':
		return nil, false
	}
	for i := 1; i <= 9 && i < len(p); i++ {
		if p[i] != '}' {
			continue
		}
		name := string(p[1:i])
		if _, known := refSize[name]; !known {
			return nil, false
		}
		return append([]byte("{"+name+"}"), refMAC(name, key, p)...), true
	}
	return nil, false
}

// refValidResponses lists every response that proves the key for a
// challenge payload: the raw 16-byte HMAC-MD5, or "{name}" and
// HMAC-name for each allowed digest.
func refValidResponses(key, payload []byte) [][]byte {
	valid := [][]byte{refMAC("md5", key, payload)}
	for name := range refSize {
		valid = append(valid, append([]byte("{"+name+"}"), refMAC(name, key, payload)...))
	}
	return valid
}

func FuzzAnswerChallenge(f *testing.F) {
	welcome := []byte("#WELCOME#")
	f.Add(challengeMsg(mustHex(f, trAServerNonce)), welcome)
	f.Add(challengeMsg(mustHex(f, trAClientNonce)), welcome)
	f.Add(challengeMsg([]byte("{sha256}"), mustHex(f, trBServerNonce)), welcome)
	f.Add(challengeMsg([]byte("{sha256}"), mustHex(f, trBClientNonce)), []byte("#FAILURE#"))
	f.Add(challengeMsg([]byte("{md5}"), mustHex(f, trBClientNonce)), welcome)
	f.Add(challengeMsg([]byte("{sha3_384}"), mustHex(f, trBClientNonce)), []byte("#WELCOME#\n"))
	f.Add(challengeMsg([]byte("{sha512}"), mustHex(f, trBClientNonce)), welcome)
	f.Add(challengeMsg(mustHex(f, trDServerNonce)[:19]), welcome)
	f.Add(mustHex(f, trPickle), welcome)
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, challenge, verdict []byte) {
		s := &fakeScript{in: [][]byte{challenge, verdict}}
		err := answerChallenge(context.Background(), s, fuzzKey)
		want, ok := refAnswer(fuzzKey, challenge)
		var tooLong *MessageTooLongError
		switch {
		case len(challenge) > handshakeMaxLen:
			if !errors.As(err, &tooLong) || len(s.sent) != 0 {
				t.Fatalf("%d-byte challenge: err %v, sent %x", len(challenge), err, s.sent)
			}
		case !ok:
			if !errors.Is(err, ErrAuthentication) || len(s.sent) != 0 {
				t.Fatalf("refused challenge %x: err %v, sent %x", challenge, err, s.sent)
			}
		default:
			if len(s.sent) != 1 || !bytes.Equal(s.sent[0], want) {
				t.Fatalf("challenge %x: sent %x, want %x", challenge, s.sent, want)
			}
			switch {
			case len(verdict) > handshakeMaxLen:
				if !errors.As(err, &tooLong) {
					t.Fatalf("%d-byte verdict: err %v", len(verdict), err)
				}
			case string(verdict) == "#WELCOME#":
				if err != nil {
					t.Fatalf("welcomed: err %v", err)
				}
			default:
				if !errors.Is(err, ErrAuthentication) {
					t.Fatalf("verdict %q: err %v", verdict, err)
				}
			}
		}
		if err == nil && string(verdict) != "#WELCOME#" {
			t.Fatalf("success with verdict %q", verdict)
		}
	})
}

func FuzzDeliverChallenge(f *testing.F) {
	// digest indexes allDigests; nonce feeds the random source.
	f.Add(uint8(0), mustHex(f, trAServerNonce), mustHex(f, trAClientResp))
	f.Add(uint8(0), mustHex(f, trAClientNonce), mustHex(f, trAServerResp))
	f.Add(uint8(3), mustHex(f, trBServerNonce), mustHex(f, trBClientResp))
	f.Add(uint8(3), mustHex(f, trBClientNonce), mustHex(f, trBServerResp))
	f.Add(uint8(0), mustHex(f, trDServerNonce), mustHex(f, trDClientResp))
	f.Add(uint8(3), mustHex(f, trBServerNonce), mustHex(f, trPickle))
	f.Add(uint8(3), mustHex(f, trBServerNonce), append([]byte("{sha512}"), make([]byte, 64)...))
	f.Add(uint8(6), mustHex(f, trBServerNonce), append([]byte("{sha3_384}"), make([]byte, 48)...))
	f.Add(uint8(2), []byte{}, make([]byte, 20))
	f.Add(uint8(4), []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, digestIdx uint8, nonce, resp []byte) {
		digest := allDigests[int(digestIdx)%len(allDigests)]
		rnd := bytes.NewReader(append(bytes.Clone(nonce), make([]byte, 40)...))
		s := &fakeScript{in: [][]byte{resp}}
		err := deliverChallengeFrom(context.Background(), s, fuzzKey, digest, rnd)
		if len(s.sent) == 0 {
			t.Fatalf("no challenge sent (err %v)", err)
		}
		payload := checkChallenge(t, s.sent[0], digest)
		proves := false
		for _, v := range refValidResponses(fuzzKey, payload) {
			if bytes.Equal(resp, v) {
				proves = true
			}
		}
		var tooLong *MessageTooLongError
		switch {
		case len(resp) > handshakeMaxLen:
			if !errors.As(err, &tooLong) || len(s.sent) != 1 {
				t.Fatalf("%d-byte response: err %v, sent %q", len(resp), err, s.sent[1:])
			}
		case proves:
			if err != nil || len(s.sent) != 2 || string(s.sent[1]) != "#WELCOME#" {
				t.Fatalf("valid response %x refused: err %v, sent %q", resp, err, s.sent[1:])
			}
		default:
			if !errors.Is(err, ErrAuthentication) || len(s.sent) != 2 || string(s.sent[1]) != "#FAILURE#" {
				t.Fatalf("response %x to %x: err %v, sent %q", resp, payload, err, s.sent[1:])
			}
		}
		if err == nil && !proves {
			t.Fatalf("success without proof: response %x to %x", resp, payload)
		}
	})
}
