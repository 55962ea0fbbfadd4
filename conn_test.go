package mpconn

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/msgio"
)

func TestPipeRoundTripSizes(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	for _, n := range []int{0, 1, 100, coalesceMax, coalesceMax + 1, msgio.ReadBufSize - 4, msgio.ReadBufSize, msgio.ReadBufSize + 1, 1 << 20, 5<<20 + 3} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		errc := make(chan error, 1)
		go func() { errc <- a.SendBytes(ctx, p) }()
		got, err := b.RecvBytes(ctx)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("%d bytes: send: %v", n, err)
		}
		if !bytes.Equal(got, p) {
			t.Fatalf("%d bytes: payload differs", n)
		}
	}
}

func TestRecvReturnsFreshSlices(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	for _, s := range []string{"one", "two", "three"} {
		if err := a.SendBytes(ctx, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	m1, _ := b.RecvBytes(ctx)
	m2, _ := b.RecvBytes(ctx)
	m3, _ := b.RecvBytes(ctx)
	if string(m1) != "one" || string(m2) != "two" || string(m3) != "three" {
		t.Fatalf("got %q %q %q", m1, m2, m3)
	}
}

func TestOneWayPipe(t *testing.T) {
	r, w, err := PipeOneWay(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	ctx := testCtx(t)
	if !r.Readable() || r.Writable() || w.Readable() || !w.Writable() {
		t.Fatalf("readable/writable: r %v/%v w %v/%v", r.Readable(), r.Writable(), w.Readable(), w.Writable())
	}
	if err := r.SendBytes(ctx, []byte("x")); !errors.Is(err, ErrReadOnly) {
		t.Errorf("send on read end: %v", err)
	}
	if _, err := w.RecvBytes(ctx); !errors.Is(err, ErrWriteOnly) {
		t.Errorf("recv on write end: %v", err)
	}
	if _, err := w.Poll(ctx, 0); !errors.Is(err, ErrWriteOnly) {
		t.Errorf("poll on write end: %v", err)
	}
	big := bytes.Repeat([]byte("ab"), 300000)
	go w.SendBytes(ctx, big)
	got, err := r.RecvBytes(ctx)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("one-way transfer: %v", err)
	}
	w.Close()
	if _, err := r.RecvBytes(ctx); err != io.EOF {
		t.Fatalf("after writer closed: %v, want io.EOF", err)
	}
}

func TestEOFSemantics(t *testing.T) {
	cases := []struct {
		name  string
		bytes []byte
		want  error
	}{
		{"boundary", nil, io.EOF},
		{"after whole message", append(hdr(2), 'h', 'i'), io.EOF},
		{"mid header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"mid long header", []byte{0xff, 0xff, 0xff, 0xff, 0}, io.ErrUnexpectedEOF},
		{"after header", hdr(5), io.ErrUnexpectedEOF},
		{"mid payload", append(hdr(5), 'a', 'b'), io.ErrUnexpectedEOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, raw := rawPair(t, nil)
			ctx := testCtx(t)
			mustWrite(t, raw, tc.bytes)
			raw.Close()
			var err error
			for err == nil {
				_, err = c.RecvBytes(ctx)
			}
			if err != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			// The error is sticky.
			if _, err2 := c.RecvBytes(ctx); err2 != tc.want {
				t.Fatalf("second receive: %v, want %v", err2, tc.want)
			}
		})
	}
}

func TestNegativeHeaderIsProtocolError(t *testing.T) {
	c, raw := rawPair(t, nil)
	ctx := testCtx(t)
	mustWrite(t, raw, []byte{0xff, 0xff, 0xff, 0xfe})
	_, err := c.RecvBytes(ctx)
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want *ProtocolError", err)
	}
	if c.Readable() {
		t.Error("still readable after a protocol error")
	}
	if !c.Writable() {
		t.Error("not writable after a protocol error")
	}
}

func TestEscapeHeaderSmallLength(t *testing.T) {
	c, raw := rawPair(t, nil)
	ctx := testCtx(t)
	mustWrite(t, raw, []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'})
	got, err := c.RecvBytes(ctx)
	if err != nil || string(got) != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestRecvBytesMax(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	a.SendBytes(ctx, []byte("12345"))
	a.SendBytes(ctx, []byte("123456"))
	a.SendBytes(ctx, []byte("next"))
	if got, err := b.RecvBytesMax(ctx, 5); err != nil || string(got) != "12345" {
		t.Fatalf("size == max: %q %v", got, err)
	}
	_, err := b.RecvBytesMax(ctx, 5)
	var tl *MessageTooLongError
	if !errors.As(err, &tl) || tl.Len != 6 || tl.Max != 5 {
		t.Fatalf("got %v, want MessageTooLongError{6,5}", err)
	}
	if b.Readable() {
		t.Error("readable after a too-long message")
	}
	if _, err := b.RecvBytes(ctx); !errors.As(err, &tl) {
		t.Errorf("later receive: %v", err)
	}
	// Still writable.
	if err := b.SendBytes(ctx, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if got, err := a.RecvBytes(ctx); err != nil || string(got) != "ok" {
		t.Fatalf("reply: %q %v", got, err)
	}
	if _, err := b.RecvBytesMax(ctx, -1); err == nil {
		t.Error("negative maxlength accepted")
	}
}

func TestMaxMessageSizeOption(t *testing.T) {
	c, raw := rawPair(t, &ConnOptions{MaxMessageSize: 100})
	ctx := testCtx(t)
	mustWrite(t, raw, append(hdr(100), make([]byte, 100)...))
	mustWrite(t, raw, hdr(101))
	if _, err := c.RecvBytes(ctx); err != nil {
		t.Fatal(err)
	}
	var tl *MessageTooLongError
	if _, err := c.RecvBytes(ctx); !errors.As(err, &tl) || tl.Max != 100 {
		t.Fatalf("got %v", err)
	}
}

func TestRecvBytesInto(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	for _, s := range []string{"hello", "this message is too long", "after"} {
		if err := a.SendBytes(ctx, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	buf := []byte("..........")
	n, err := b.RecvBytesInto(ctx, buf, 3)
	if err != nil || n != 5 || string(buf) != "...hello.." {
		t.Fatalf("into: %d %v %q", n, err, buf)
	}
	_, err = b.RecvBytesInto(ctx, buf, 0)
	var bts *BufferTooShortError
	if !errors.As(err, &bts) || string(bts.Msg) != "this message is too long" {
		t.Fatalf("got %v, want BufferTooShortError with the whole message", err)
	}
	// The stream is still in step.
	if got, err := b.RecvBytes(ctx); err != nil || string(got) != "after" {
		t.Fatalf("next message: %q %v", got, err)
	}
	if _, err := b.RecvBytesInto(ctx, buf, -1); err == nil {
		t.Error("negative offset accepted")
	}
	if _, err := b.RecvBytesInto(ctx, buf, 11); err == nil {
		t.Error("offset past the buffer accepted")
	}
	// offset == len(buf) is allowed; an empty message fits.
	a.SendBytes(ctx, nil)
	if n, err := b.RecvBytesInto(ctx, buf, 10); err != nil || n != 0 {
		t.Fatalf("empty message at end offset: %d %v", n, err)
	}
}

func TestRecvBytesIntoLarge(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	p := make([]byte, 3<<20)
	for i := range p {
		p[i] = byte(i)
	}
	go a.SendBytes(ctx, p)
	buf := make([]byte, len(p)+10)
	n, err := b.RecvBytesInto(ctx, buf, 10)
	if err != nil || n != len(p) || !bytes.Equal(buf[10:], p) {
		t.Fatalf("large into: %d %v", n, err)
	}
	go a.SendBytes(ctx, p)
	_, err = b.RecvBytesInto(ctx, make([]byte, 100), 0)
	var bts *BufferTooShortError
	if !errors.As(err, &bts) || !bytes.Equal(bts.Msg, p) {
		t.Fatalf("large too short: %v", err)
	}
}

func TestSendBytesRangeValidation(t *testing.T) {
	a, _ := pipePair(t)
	ctx := testCtx(t)
	p := []byte("0123")
	for _, c := range []struct{ off, size int }{{-1, 1}, {5, 0}, {2, 3}} {
		if err := a.SendBytesRange(ctx, p, c.off, c.size); err == nil {
			t.Errorf("offset %d size %d accepted", c.off, c.size)
		}
	}
}

func TestZeroLengthMessages(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	for i := 0; i < 3; i++ {
		a.SendBytes(ctx, nil)
	}
	a.Close()
	for i := 0; i < 3; i++ {
		got, err := b.RecvBytes(ctx)
		if err != nil || len(got) != 0 {
			t.Fatalf("message %d: %q %v", i, got, err)
		}
	}
	if _, err := b.RecvBytes(ctx); err != io.EOF {
		t.Fatalf("then %v, want io.EOF", err)
	}
}

func TestUseAfterClose(t *testing.T) {
	a, _ := pipePair(t)
	ctx := testCtx(t)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if !a.Closed() || a.Readable() || a.Writable() {
		t.Error("state after Close")
	}
	if _, err := a.RecvBytes(ctx); !errors.Is(err, net.ErrClosed) {
		t.Errorf("recv: %v", err)
	}
	if err := a.SendBytes(ctx, nil); !errors.Is(err, net.ErrClosed) {
		t.Errorf("send: %v", err)
	}
	if _, err := a.Poll(ctx, 0); !errors.Is(err, net.ErrClosed) {
		t.Errorf("poll: %v", err)
	}
	if _, err := a.Fd(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("fd: %v", err)
	}
}

func TestCloseUnblocks(t *testing.T) {
	ctx := testCtx(t)
	ops := map[string]func(c *Conn) error{
		"recv": func(c *Conn) error { _, err := c.RecvBytes(ctx); return err },
		"poll": func(c *Conn) error { _, err := c.Poll(ctx, -1); return err },
		"send": func(c *Conn) error {
			// The peer never reads: this blocks once the socket buffer is full.
			p := make([]byte, 1<<20)
			for {
				if err := c.SendBytes(ctx, p); err != nil {
					return err
				}
			}
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			a, _ := pipePair(t)
			errc := make(chan error, 1)
			go func() { errc <- op(a) }()
			time.Sleep(50 * time.Millisecond) // let it block (not a timing assertion)
			a.Close()
			select {
			case err := <-errc:
				if !errors.Is(err, net.ErrClosed) {
					t.Fatalf("got %v, want net.ErrClosed", err)
				}
			case <-ctx.Done():
				t.Fatal("Close did not unblock the call")
			}
		})
	}
	t.Run("one-way read end", func(t *testing.T) {
		r, w, err := PipeOneWay(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		errc := make(chan error, 1)
		go func() { _, err := r.RecvBytes(ctx); errc <- err }()
		time.Sleep(50 * time.Millisecond)
		r.Close()
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("got %v", err)
		}
	})
}

// A receive cancelled in the middle of a message keeps what it read: the
// next receive returns the whole message.
func TestCancelledRecvKeepsFraming(t *testing.T) {
	for _, size := range []int{10, 200000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c, raw := rawPair(t, nil)
			p := make([]byte, size)
			for i := range p {
				p[i] = byte(i % 251)
			}
			frame := append(hdr(size), p...)
			half := len(frame) / 2
			mustWrite(t, raw, frame[:half])

			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if _, err := c.RecvBytes(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want deadline exceeded", err)
			}
			// Also a cancelled RecvBytesInto into a large buffer.
			ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel2()
			if _, err := c.RecvBytesInto(ctx2, make([]byte, size), 0); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("into: got %v, want deadline exceeded", err)
			}
			mustWrite(t, raw, frame[half:])
			mustWrite(t, raw, append(hdr(4), "next"...))
			got, err := c.RecvBytes(testCtx(t))
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("after cancel: %v, equal=%v", err, bytes.Equal(got, p))
			}
			got, err = c.RecvBytes(testCtx(t))
			if err != nil || string(got) != "next" {
				t.Fatalf("next: %q %v", got, err)
			}
		})
	}
}

// A send cancelled after part of the message went out finishes the
// message before the next one: the receiver sees both whole.
func TestCancelledSendKeepsFraming(t *testing.T) {
	a, b := pipePair(t)
	big := make([]byte, 8<<20) // larger than the socket buffers
	for i := range big {
		big[i] = byte(i % 253)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := a.SendBytes(ctx, big)
	var pe *partialSendError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &pe) {
		t.Fatalf("send with nobody reading: %v, want a partial send", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.SendBytes(testCtx(t), []byte("second")) }()
	got, err := b.RecvBytes(testCtx(t))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("first message: %v, equal=%v", err, bytes.Equal(got, big))
	}
	got, err = b.RecvBytes(testCtx(t))
	if err != nil || string(got) != "second" {
		t.Fatalf("second message: %q %v", got, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPoll(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	if ok, err := b.Poll(ctx, 0); ok || err != nil {
		t.Fatalf("empty: %v %v", ok, err)
	}
	if ok, err := b.Poll(ctx, 20*time.Millisecond); ok || err != nil {
		t.Fatalf("empty with timeout: %v %v", ok, err)
	}
	a.SendBytes(ctx, []byte("x"))
	if ok, err := b.Poll(ctx, -1); !ok || err != nil {
		t.Fatalf("message waiting: %v %v", ok, err)
	}
	if got, err := b.RecvBytes(ctx); err != nil || string(got) != "x" {
		t.Fatal(got, err)
	}
	// Half a message is not ready; the whole one is, and the receive
	// after Poll does not block.
	c, raw := rawPair(t, nil)
	big := make([]byte, 100000)
	frame := append(hdr(len(big)), big...)
	mustWrite(t, raw, frame[:50000])
	if ok, err := c.Poll(ctx, 20*time.Millisecond); ok || err != nil {
		t.Fatalf("half a message: %v %v", ok, err)
	}
	mustWrite(t, raw, frame[50000:])
	if ok, err := c.Poll(ctx, -1); !ok || err != nil {
		t.Fatalf("whole message: %v %v", ok, err)
	}
	ctx0, cancel := context.WithCancel(ctx)
	cancel() // a receive that had to wait would fail
	if got, err := c.RecvBytes(ctx0); err != nil || len(got) != len(big) {
		t.Fatalf("recv after poll: %d %v", len(got), err)
	}
	// EOF is ready.
	raw.Close()
	if ok, err := c.Poll(ctx, -1); !ok || err != nil {
		t.Fatalf("at EOF: %v %v", ok, err)
	}
	if _, err := c.RecvBytes(ctx); err != io.EOF {
		t.Fatal(err)
	}
	// The caller's cancellation is an error, not a false.
	ctx1, cancel1 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel1()
	if _, err := a.Poll(ctx1, -1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled poll: %v", err)
	}
}

func TestPollZeroSeesBufferedMessages(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	for i := 0; i < 3; i++ {
		a.SendBytes(ctx, []byte{byte(i)})
	}
	// The first receive reads all three into the buffer.
	if _, err := b.RecvBytes(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		if ok, err := b.Poll(ctx, 0); !ok || err != nil {
			t.Fatalf("buffered message %d not seen: %v %v", i, ok, err)
		}
		if got, _ := b.RecvBytes(ctx); got[0] != byte(i) {
			t.Fatalf("message %d: %v", i, got)
		}
	}
	if ok, _ := b.Poll(ctx, 0); ok {
		t.Fatal("poll true with nothing left")
	}
}

// Many goroutines send and receive on one Conn pair at once: every message
// arrives whole, exactly once.
func TestConcurrentSendRecv(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	const senders, each = 8, 200
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				size := 8 + (s*each+i)%3*20000
				p := make([]byte, size)
				binary.BigEndian.PutUint32(p, uint32(s))
				binary.BigEndian.PutUint32(p[4:], uint32(i))
				for j := 8; j < size; j++ {
					p[j] = byte(s + i + j)
				}
				if err := a.SendBytes(ctx, p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var mu sync.Mutex
	seen := map[[2]uint32]bool{}
	var rwg sync.WaitGroup
	for r := 0; r < 4; r++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for {
				mu.Lock()
				n := len(seen)
				mu.Unlock()
				if n == senders*each {
					return
				}
				ok, err := b.Poll(ctx, 10*time.Millisecond)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					continue
				}
				ctx0, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
				p, err := b.RecvBytes(ctx0)
				cancel()
				if errors.Is(err, context.DeadlineExceeded) {
					continue // another receiver took it
				}
				if err != nil {
					t.Error(err)
					return
				}
				s, i := binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:])
				for j := 8; j < len(p); j++ {
					if p[j] != byte(int(s)+int(i)+j) {
						t.Errorf("message %d/%d corrupted at %d", s, i, j)
						return
					}
				}
				mu.Lock()
				k := [2]uint32{s, i}
				if seen[k] {
					t.Errorf("message %d/%d twice", s, i)
				}
				seen[k] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rwg.Wait()
	if len(seen) != senders*each {
		t.Fatalf("received %d of %d messages", len(seen), senders*each)
	}
}

// A header claiming a huge length makes the receiver allocate only as
// bytes arrive. The claim is 1 TiB, or on a 32-bit system the largest
// message an int can hold (a longer one is refused at once there).
func TestHugeHeaderAllocatesLittle(t *testing.T) {
	c, raw := rawPair(t, nil)
	var b [longHeaderLen]byte
	const claim = min(1<<40, math.MaxInt)
	mustWrite(t, raw, b[:putHeader(b[:], claim)])
	mustWrite(t, raw, make([]byte, 1000))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.RecvBytes(ctx)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Fatalf("allocated %d bytes for a header claiming %d bytes with 1000 bytes sent", d, int64(claim))
	}
	raw.Close()
	if _, err := c.RecvBytes(testCtx(t)); err != io.ErrUnexpectedEOF {
		t.Fatalf("then %v, want io.ErrUnexpectedEOF", err)
	}
}

// Repeated Poll(0) on a message larger than the read-ahead buffer
// gathers it without losing bytes (a full buffer once read as EOF).
func TestPollZeroLargeMessage(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	p := make([]byte, 3<<20)
	for i := range p {
		p[i] = byte(i % 249)
	}
	errc := make(chan error, 1)
	go func() { errc <- a.SendBytes(ctx, p) }()
	for {
		ok, err := b.Poll(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
	}
	got, err := b.RecvBytes(ctx)
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("after Poll(0): %v, equal=%v", err, bytes.Equal(got, p))
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// A peer that exits with data it never read resets a local socket: the
// receiver still gets everything sent before, then io.EOF.
func TestResetByPeerIsEOF(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	if err := a.SendBytes(ctx, []byte("never read by b")); err != nil {
		t.Fatal(err)
	}
	if err := b.SendBytes(ctx, []byte("last words")); err != nil {
		t.Fatal(err)
	}
	b.Close() // with unread data: a reset
	got, err := a.RecvBytes(ctx)
	if err != nil || string(got) != "last words" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := a.RecvBytes(ctx); err != io.EOF {
		t.Fatalf("then %v, want io.EOF", err)
	}
}
