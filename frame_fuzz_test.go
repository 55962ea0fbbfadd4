//go:build unix

package mpconn

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
)

// refEnd is how a reference decode of a byte stream ends.
type refEnd int

const (
	refEOF           refEnd = iota // the stream ended at a message boundary
	refUnexpectedEOF               // it ended inside a header or a payload
	refProtocol                    // a negative length other than the -1 escape, or a long length over 2^63-1
	refTooLong                     // a length over the limit
)

func (e refEnd) String() string {
	return [...]string{"EOF", "unexpected EOF", "protocol error", "too long"}[e]
}

// refDecodeFrames decodes a whole byte stream the way the framing spec
// describes it (§1.1, §1.3, §1.4), independently of the package's reader:
// the messages it holds, how it ends, and for refTooLong the claimed
// length. max > 0 is the receiver's limit.
func refDecodeFrames(data []byte, max int64) (msgs [][]byte, end refEnd, claimed int64) {
	pos := 0
	for {
		if pos == len(data) {
			return msgs, refEOF, 0
		}
		if len(data)-pos < 4 {
			return msgs, refUnexpectedEOF, 0
		}
		v := int32(binary.BigEndian.Uint32(data[pos:]))
		pos += 4
		var n uint64
		switch {
		case v == -1:
			if len(data)-pos < 8 {
				return msgs, refUnexpectedEOF, 0
			}
			n = binary.BigEndian.Uint64(data[pos:])
			pos += 8
			if n > math.MaxInt64 {
				return msgs, refProtocol, 0
			}
		case v < 0:
			return msgs, refProtocol, 0
		default:
			n = uint64(v)
		}
		if max > 0 && n > uint64(max) {
			return msgs, refTooLong, int64(n)
		}
		if uint64(len(data)-pos) < n {
			return msgs, refUnexpectedEOF, 0
		}
		msgs = append(msgs, data[pos:pos+int(n)])
		pos += int(n)
	}
}

// checkRefEnd reports whether err is the error a receive must return for
// a stream that ends as end says.
func checkRefEnd(err error, end refEnd, claimed, max int64) error {
	var pe *ProtocolError
	var tl *MessageTooLongError
	switch end {
	case refEOF:
		if err == io.EOF {
			return nil
		}
	case refUnexpectedEOF:
		if err == io.ErrUnexpectedEOF {
			return nil
		}
	case refProtocol:
		if errors.As(err, &pe) {
			return nil
		}
	case refTooLong:
		if errors.As(err, &tl) && tl.Len == claimed && tl.Max == max {
			return nil
		}
	}
	return fmt.Errorf("error %v (%T), want %v", err, err, end)
}

// recvMode receives one message in one of four ways, so that the fuzzer
// reaches every receive path: RecvBytes; RecvBytesInto a small buffer
// (a longer message comes back whole in a *BufferTooShortError); Poll
// then RecvBytes; RecvBytesInto a large buffer at an offset.
func recvMode(ctx context.Context, c *Conn, mode uint8) ([]byte, error) {
	switch mode & 3 {
	case 1, 3:
		size, off := 64, 0
		if mode&3 == 3 {
			size, off = 70000, 5
		}
		buf := make([]byte, size)
		n, err := c.RecvBytesInto(ctx, buf, off)
		var bts *BufferTooShortError
		if errors.As(err, &bts) {
			return bts.Msg, nil
		}
		if err != nil {
			return nil, err
		}
		return buf[off : off+n], nil
	case 2:
		ok, err := c.Poll(ctx, -1)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errors.New("Poll(-1) returned false without an error")
		}
	}
	return c.RecvBytes(ctx)
}

// FuzzFrameReader writes arbitrary bytes at a Conn through a socket and
// receives until an error. Every message must be exactly what the
// reference decoder finds in the same bytes, in order, and the receive
// must end with the error the reference predicts: io.EOF only at a
// message boundary, io.ErrUnexpectedEOF inside a header or payload, a
// *ProtocolError, or a *MessageTooLongError. The error is sticky.
//
// limit is the MaxMessageSize (0: none); chunk, when not 0, splits the
// writes into pieces of that many bytes; modes picks the receive call of
// each message, two bits at a time.
//
// The seed corpus in testdata/fuzz/FuzzFrameReader holds streams written
// by CPython (see TestFrameReaderCorpusIsCPython); more seeds come from
// the spec's handshake transcripts.
func FuzzFrameReader(f *testing.F) {
	for _, s := range specTranscriptStreams(f) {
		f.Add(s, uint32(0), uint8(0), uint8(0))
		f.Add(s, uint32(40), uint8(3), uint8(0x1b))
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'}, uint32(0), uint8(1), uint8(2))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}, uint32(0), uint8(0), uint8(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xfe}, uint32(0), uint8(0), uint8(0))
	f.Add([]byte{0, 0, 1, 0, 1, 2, 3}, uint32(0), uint8(2), uint8(0))
	f.Add([]byte{0, 0, 0, 0x10, 1, 2, 3}, uint32(3), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, limit uint32, chunk, modes uint8) {
		max := int64(limit)
		want, end, claimed := refDecodeFrames(data, max)
		c, raw := rawPair(t, &ConnOptions{MaxMessageSize: max})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		written := make(chan struct{})
		go func() {
			defer close(written)
			defer raw.Close()
			step := len(data)
			if chunk > 0 {
				step = int(chunk)
			}
			for p := data; len(p) > 0; {
				k := min(step, len(p))
				if _, err := raw.Write(p[:k]); err != nil {
					return // the Conn stopped reading and was closed
				}
				p = p[k:]
			}
		}()
		defer func() { c.Close(); <-written }()

		for i := 0; ; i++ {
			mode := modes >> (2 * (i % 4))
			msg, err := recvMode(ctx, c, mode)
			if err != nil {
				if i != len(want) {
					t.Fatalf("error %v after %d messages, want %d messages then %v", err, i, len(want), end)
				}
				if e := checkRefEnd(err, end, claimed, max); e != nil {
					t.Fatal(e)
				}
				// Sticky.
				_, err2 := c.RecvBytes(ctx)
				if e := checkRefEnd(err2, end, claimed, max); e != nil {
					t.Fatalf("second receive: %v", e)
				}
				return
			}
			if i >= len(want) {
				t.Fatalf("message %d (%d bytes) beyond the %d the stream holds", i, len(msg), len(want))
			}
			if !bytes.Equal(msg, want[i]) {
				t.Fatalf("message %d: got %d bytes %.40x, want %d bytes %.40x", i, len(msg), msg, len(want[i]), want[i])
			}
		}
	})
}

// specTranscriptStreams returns the byte streams of the spec's handshake
// transcripts (§3.12 A, B and D), each direction as one stream.
func specTranscriptStreams(tb testing.TB) [][]byte {
	frame := func(hexes ...string) []byte {
		p := mustHex(tb, strings.Join(hexes, ""))
		return append(hdr(len(p)), p...)
	}
	chal := hex.EncodeToString([]byte(challengePrefix))
	welcome := hex.EncodeToString([]byte(welcomeMsg))
	failure := hex.EncodeToString([]byte(failureMsg))
	sha := hex.EncodeToString([]byte("{sha256}"))
	reply := "8004951c000000000000005d94288c057265706c79945d94284b018c0568656c6c6f944e65652e"
	join := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	return [][]byte{
		// A: 3.11 <-> 3.11.
		join(frame(chal, trAServerNonce), frame(welcome), frame(trAServerResp), frame(reply)),
		join(frame(trAClientResp), frame(chal, trAClientNonce), frame(welcome), frame(trPickle)),
		// B: 3.13 <-> 3.13.
		join(frame(chal, sha, trBServerNonce), frame(welcome), frame(strings.ReplaceAll(trBServerResp, " ", "")), frame(reply)),
		join(frame(strings.ReplaceAll(trBClientResp, " ", "")), frame(chal, sha, trBClientNonce), frame(welcome), frame(trPickle)),
		// D: wrong key.
		join(frame(chal, trDServerNonce), frame(failure)),
		frame(trDClientResp),
	}
}

var updateFrameCorpus = flag.Bool("update-frame-corpus", false, "rewrite testdata/fuzz/FuzzFrameReader from CPython captures")

// frameCaptureVersions are the CPython versions whose traffic seeds
// FuzzFrameReader: protocol 2, 3 and 4 pickles, and the byte messages.
var frameCaptureVersions = []string{"2.7", "3.7", "3.13"}

// TestFrameReaderCorpusIsCPython checks that the committed seed corpus of
// FuzzFrameReader is what CPython writes: each file is the byte stream a
// CPython Connection sends over a socket in a scripted session
// (testdata/fuzz/capture_frames.py), captured again here and compared.
// With -update-frame-corpus the files are rewritten from the capture.
func TestFrameReaderCorpusIsCPython(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("testdata", "fuzz", "capture_frames.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range frameCaptureVersions {
		t.Run("py"+v, func(t *testing.T) {
			py, ok := cpython.Get(v)
			if !ok {
				t.Skipf("CPython %s is not installed on this machine: skipped", v)
			}
			sessions := []string{"objects"}
			if v == frameCaptureVersions[len(frameCaptureVersions)-1] {
				sessions = append(sessions, "bytes") // the same bytes in every version
			}
			for _, session := range sessions {
				out, err := py.Output(interopTimeout, string(script), session)
				if err != nil {
					t.Fatalf("%s: %v", session, err)
				}
				stream, err := hex.DecodeString(strings.TrimSpace(string(out)))
				if err != nil {
					t.Fatalf("%s: %v", session, err)
				}
				msgs, end, _ := refDecodeFrames(stream, 0)
				if end != refEOF || len(msgs) != 6 {
					t.Fatalf("%s: the capture decodes to %d messages ending with %v", session, len(msgs), end)
				}
				path := filepath.Join("testdata", "fuzz", "FuzzFrameReader", "cpython"+v+"-"+session)
				file := frameCorpusFile(stream)
				if *updateFrameCorpus {
					if err := os.WriteFile(path, file, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				old, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update-frame-corpus to create it)", err)
				}
				if !bytes.Equal(old, file) {
					t.Fatalf("%s differs from what CPython %s writes now (run with -update-frame-corpus)", path, py.Full)
				}
			}
		})
	}
}

// frameCorpusFile encodes a seed of FuzzFrameReader in the fuzzing
// engine's corpus format: the stream, no limit, one write, RecvBytes.
func frameCorpusFile(stream []byte) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	b.WriteString("[]byte(" + strconv.Quote(string(stream)) + ")\n")
	b.WriteString("uint32(0)\nbyte('\\x00')\nbyte('\\x00')\n")
	return b.Bytes()
}
