package msgio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// testHeader is a wire for the tests: 'M', then a 2-byte big-endian length.
type testHeader struct{}

var errBadMagic = errors.New("bad magic")

func (testHeader) Parse(b []byte) (int64, int, error) {
	if len(b) > 0 && b[0] != 'M' {
		return 0, 0, errBadMagic
	}
	if len(b) < 3 {
		return 0, 0, nil
	}
	return int64(binary.BigEndian.Uint16(b[1:])), 3, nil
}

func (testHeader) Put(b []byte, n int64) int {
	b[0] = 'M'
	binary.BigEndian.PutUint16(b[1:], uint16(n))
	return 3
}

func (testHeader) Len() int { return 3 }

type tooLongError struct{ n, max int64 }

func (e *tooLongError) Error() string { return fmt.Sprintf("%d > %d", e.n, e.max) }

func (testHeader) TooLong(n, max int64) error { return &tooLongError{n, max} }

// script is a Source that hands out its stream in the chunks given, with
// an error in place of a chunk where errs says so.
type script struct {
	r       *Reader
	chunks  [][]byte
	errs    map[int]error // read index → error returned instead of bytes
	reads   int
	after   []bool // AfterRead's inBody, per read
	headers int
}

func (s *script) Read(p []byte) (int, error) {
	i := s.reads
	s.reads++
	if err, ok := s.errs[i]; ok {
		return 0, err
	}
	if len(s.chunks) == 0 {
		if s.r.Nonblock {
			return 0, ErrWouldBlock
		}
		return 0, io.EOF
	}
	n := copy(p, s.chunks[0])
	if n == len(s.chunks[0]) {
		s.chunks = s.chunks[1:]
	} else {
		s.chunks[0] = s.chunks[0][n:]
	}
	return n, nil
}

func (s *script) AfterRead(inBody bool) { s.after = append(s.after, inBody) }
func (s *script) HeaderDone()           { s.headers++ }
func (s *script) Fail(_ context.Context, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || err == ErrWouldBlock {
		return err // the stream stays usable
	}
	return s.r.Kill(err)
}

func newScript(stream []byte, chunk int) (*Reader, *script) {
	s := &script{errs: map[int]error{}}
	for len(stream) > 0 {
		k := min(chunk, len(stream))
		s.chunks = append(s.chunks, stream[:k])
		stream = stream[k:]
	}
	r := &Reader{}
	r.Init(testHeader{}, s)
	s.r = r
	return r, s
}

func frames(sizes ...int) (stream []byte, payloads [][]byte) {
	var w Writer
	w.Init(testHeader{}, nil)
	for i, n := range sizes {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		payloads = append(payloads, p)
		stream = w.Frame(stream, p)
	}
	return stream, payloads
}

func TestReaderChunkings(t *testing.T) {
	sizes := []int{0, 1, 5, 1000, ReadBufSize - 3, ReadBufSize, ReadBufSize + 1, 65535, 2}
	stream, want := frames(sizes...)
	for _, chunk := range []int{1, 2, 3, 7, 1024, ReadBufSize, len(stream)} {
		r, s := newScript(append([]byte(nil), stream...), chunk)
		ctx := context.Background()
		for i, p := range want {
			got, into, err := r.ReadMessage(ctx, 1<<16, nil, false)
			if err != nil || into || !bytes.Equal(got, p) {
				t.Fatalf("chunk %d: message %d (%d bytes): got %d bytes, into %v, err %v", chunk, i, len(p), len(got), into, err)
			}
		}
		if _, _, err := r.ReadMessage(ctx, 1<<16, nil, false); err != io.EOF {
			t.Fatalf("chunk %d: after the last message: %v, want io.EOF", chunk, err)
		}
		if s.headers != len(want) {
			t.Fatalf("chunk %d: HeaderDone ran %d times, want %d", chunk, s.headers, len(want))
		}
		if len(s.after) != s.reads {
			t.Fatalf("chunk %d: AfterRead ran %d times for %d reads", chunk, len(s.after), s.reads)
		}
	}
}

func TestReaderIntoDestination(t *testing.T) {
	stream, want := frames(10, 60000, 10)
	r, s := newScript(stream, 4096)
	dst := make([]byte, 60000)
	for i, p := range want {
		got, into, err := r.ReadMessage(context.Background(), 1<<16, dst, false)
		if err != nil || !into || !bytes.Equal(got, p) || &got[0] != &dst[0] {
			t.Fatalf("message %d: into %v, err %v, equal %v", i, into, err, bytes.Equal(got, p))
		}
	}
	inBody := false
	for _, b := range s.after {
		inBody = inBody || b
	}
	if !inBody {
		t.Fatal("the large message was not read straight into its destination")
	}
	// Too small a destination: a new slice.
	stream, want = frames(100)
	r, _ = newScript(stream, 7)
	got, into, err := r.ReadMessage(context.Background(), 1<<16, make([]byte, 99), false)
	if err != nil || into || !bytes.Equal(got, want[0]) {
		t.Fatalf("short destination: into %v, err %v", into, err)
	}
}

func TestReaderInterruptedKeepsFraming(t *testing.T) {
	stream, want := frames(50000, 3, 40000)
	for _, fail := range []int{0, 1, 2, 3, 5, 8} {
		r, s := newScript(append([]byte(nil), stream...), 1000)
		s.errs[fail] = os.ErrDeadlineExceeded
		s.errs[fail+3] = os.ErrDeadlineExceeded
		var got [][]byte
		for len(got) < len(want) {
			p, _, err := r.ReadMessage(context.Background(), 1<<16, nil, false)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue // interrupted: the next receive goes on
			}
			if err != nil {
				t.Fatalf("fail at read %d: %v", fail, err)
			}
			got = append(got, p)
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("fail at read %d: message %d differs", fail, i)
			}
		}
	}
}

func TestReaderErrorsAreSticky(t *testing.T) {
	ctx := context.Background()
	stream, _ := frames(100)
	r, _ := newScript(stream[:50], 10) // ends inside the message
	if _, _, err := r.ReadMessage(ctx, 1<<16, nil, false); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut message: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, _, err := r.ReadMessage(ctx, 1<<16, nil, false); err != io.ErrUnexpectedEOF {
		t.Fatalf("after a cut message: %v, want io.ErrUnexpectedEOF again", err)
	}

	r, _ = newScript(stream, 10)
	var tl *tooLongError
	if _, _, err := r.ReadMessage(ctx, 99, nil, false); !errors.As(err, &tl) || tl.n != 100 || tl.max != 99 {
		t.Fatalf("over the limit: %v, want tooLongError{100, 99}", err)
	}
	if !r.Ready(99) {
		t.Fatal("a failed Reader is not Ready")
	}

	r, _ = newScript([]byte("X"), 1)
	if _, _, err := r.ReadMessage(ctx, 1<<16, nil, false); err != errBadMagic {
		t.Fatalf("bad header: %v, want errBadMagic", err)
	}
	if _, _, err := r.ReadMessage(ctx, 1<<16, nil, false); err != errBadMagic {
		t.Fatalf("after a bad header: %v, want errBadMagic again", err)
	}
}

func TestAdvanceAndReady(t *testing.T) {
	stream, want := frames(ReadBufSize+5000, 4)
	r, s := newScript(nil, 1)
	if r.Ready(1 << 16) {
		t.Fatal("Ready before anything arrived")
	}
	if r.Advance(1 << 16) {
		t.Fatal("Advance reports a message before anything arrived")
	}
	// The first message arrives in two parts, the second whole.
	half := len(stream) / 3
	s.chunks = [][]byte{stream[:half]}
	if r.Advance(1 << 16) {
		t.Fatal("Advance reports a message with only part of it arrived")
	}
	s.chunks = [][]byte{stream[half:]}
	if !r.Advance(1 << 16) {
		t.Fatal("Advance misses a whole message")
	}
	if r.Buffered() {
		t.Fatal("Buffered with the message gathered outside the buffer")
	}
	for i, p := range want {
		got, _, err := r.ReadMessage(context.Background(), 1<<16, nil, false)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("message %d after Advance: err %v, equal %v", i, err, bytes.Equal(got, p))
		}
	}
	// A header over the limit is ready: the receive fails at once.
	stream, _ = frames(100)
	r, _ = newScript(stream[:3], 3)
	if !r.Advance(99) {
		t.Fatal("Advance: a header over the limit is not ready")
	}
}

func TestStage(t *testing.T) {
	stream, want := frames(20000)
	r, _ := newScript(stream, 3000)
	if _, _, err := r.ReadMessage(context.Background(), 1<<16, nil, true); err != nil {
		t.Fatal(err)
	}
	if !r.Ready(1 << 16) {
		t.Fatal("a staged message is not Ready")
	}
	got, _, err := r.ReadMessage(context.Background(), 1<<16, nil, false)
	if err != nil || !bytes.Equal(got, want[0]) {
		t.Fatalf("staged message: err %v, equal %v", err, bytes.Equal(got, want[0]))
	}
}

// stingy takes at most n bytes, then fails every write with err.
type stingy struct {
	buf bytes.Buffer
	n   int
	err error
}

func (s *stingy) Write(p []byte) (int, error) {
	if len(p) <= s.n {
		s.n -= len(p)
		return s.buf.Write(p)
	}
	k := s.n
	s.n = 0
	s.buf.Write(p[:k])
	return k, s.err
}

func TestWriterPending(t *testing.T) {
	for _, size := range []int{0, 10, CoalesceMax, CoalesceMax + 1, 60000} {
		for _, cut := range []int{0, 1, 2, 3, 4, size / 2} {
			dst := &stingy{n: cut, err: os.ErrDeadlineExceeded}
			var w Writer
			w.Init(testHeader{}, dst)
			p := bytes.Repeat([]byte{'x'}, size)
			n, total, err := w.WriteFrame(p)
			if cut >= 3+size {
				if err != nil {
					t.Fatalf("size %d: %v", size, err)
				}
				continue
			}
			if err == nil || n != cut || total != 3+size {
				t.Fatalf("size %d cut %d: n %d total %d err %v", size, cut, n, total, err)
			}
			if cut == 0 && w.Pending != nil {
				t.Fatalf("size %d: nothing went out, yet %d bytes pending", size, len(w.Pending))
			}
			if cut > 0 && len(w.Pending) != total-cut {
				t.Fatalf("size %d cut %d: %d bytes pending, want %d", size, cut, len(w.Pending), total-cut)
			}
			dst.n, dst.err = 1<<30, nil
			if cut > 0 {
				if err := w.WritePending(); err != nil || w.Pending != nil {
					t.Fatalf("size %d cut %d: WritePending: %v", size, cut, err)
				}
			} else if _, _, err := w.WriteFrame(p); err != nil {
				t.Fatal(err)
			}
			r, _ := newScript(dst.buf.Bytes(), 1000)
			got, _, err := r.ReadMessage(context.Background(), 1<<20, nil, false)
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("size %d cut %d: the frame does not read back: %v", size, cut, err)
			}
		}
	}
}

func TestPollHelpers(t *testing.T) {
	l := make(chan struct{}, 1)
	l <- struct{}{}
	_, cancel, err := LockPoll(context.Background(), l, 0)
	cancel()
	if ok, perr := PollResult(context.Background(), err); ok || perr != nil {
		t.Fatalf("busy lock: %v, %v; want false, nil", ok, perr)
	}
	_, cancel, err = LockPoll(context.Background(), l, time.Nanosecond)
	cancel()
	if ok, perr := PollResult(context.Background(), err); ok || perr != nil {
		t.Fatalf("Poll's own timeout: %v, %v; want false, nil", ok, perr)
	}
	ctx, stop := context.WithCancel(context.Background())
	stop()
	_, cancel, err = LockPoll(ctx, l, -1)
	cancel()
	if ok, perr := PollResult(ctx, err); ok || !errors.Is(perr, context.Canceled) {
		t.Fatalf("caller's cancellation: %v, %v; want false, context.Canceled", ok, perr)
	}
	if ok, perr := PollResult(ctx, net.ErrClosed); ok || perr != net.ErrClosed {
		t.Fatalf("closed: %v, %v", ok, perr)
	}
	if ok, perr := PollResult(context.Background(), io.ErrUnexpectedEOF); !ok || perr != nil {
		t.Fatalf("a failed stream: %v, %v; want true, nil", ok, perr)
	}
	<-l
	_, cancel, err = LockPoll(context.Background(), l, 0)
	cancel()
	if err != nil || len(l) != 1 {
		t.Fatalf("free lock: %v, held %v", err, len(l) == 1)
	}
}
