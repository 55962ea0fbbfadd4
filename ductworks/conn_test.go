package ductworks

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/internal/msgio"
	"github.com/mpconn/mpconn/internal/platform"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// socketPair returns a Conn and the raw socket at the other end.
func socketPair(t *testing.T, opts *Options) (*Conn, net.Conn) {
	t.Helper()
	fds, err := platform.Socketpair()
	if err != nil {
		t.Fatal(err)
	}
	var ncs [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		nc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		ncs[i] = nc
	}
	c := NewConn(ncs[0], opts)
	t.Cleanup(func() { c.Close(); ncs[1].Close() })
	return c, ncs[1]
}

func connPair(t *testing.T, opts *Options) (*Conn, *Conn) {
	t.Helper()
	a, raw := socketPair(t, opts)
	b := NewConn(raw, opts)
	return a, b
}

// TestWireConstants pins the frame layout of ductworks' struct '!cL'.
func TestWireConstants(t *testing.T) {
	if MagicByte != 0x54 || HeaderLen != 5 || MaxLen != 4294967295 {
		t.Fatalf("MagicByte %#x, HeaderLen %d, MaxLen %d", MagicByte, HeaderLen, int64(MaxLen))
	}
	ctx := testCtx(t)
	c, raw := socketPair(t, nil)
	if err := c.Send(ctx, "hi"); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 9)
	if _, err := io.ReadFull(raw, got); err != nil {
		t.Fatal(err)
	}
	if want := "540000000422686922"; hex.EncodeToString(got) != want {
		t.Fatalf("send(\"hi\") wrote %x, want %s", got, want)
	}
	// And back.
	if _, err := raw.Write(got); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := c.Recv(ctx, &s); err != nil || s != "hi" {
		t.Fatalf("got %q, %v", s, err)
	}
}

func TestRoundTripSizes(t *testing.T) {
	ctx := testCtx(t)
	a, b := connPair(t, nil)
	for _, n := range []int{0, 1, 4, 5, msgio.CoalesceMax, msgio.CoalesceMax + 1, msgio.ReadBufSize - 5, msgio.ReadBufSize, 100_000, 3 << 20} {
		p := bytes.Repeat([]byte{byte(n)}, n)
		errc := make(chan error, 1)
		go func() { errc <- a.SendBytes(ctx, p) }()
		got, err := b.RecvBytes(ctx)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("%d bytes: got %d bytes, %v", n, len(got), err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentSendersAndReceivers(t *testing.T) {
	ctx := testCtx(t)
	a, b := connPair(t, nil)
	const senders, each = 4, 200
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Sizes straddle the coalescing limit.
				msg := strings.Repeat(fmt.Sprintf("%d-%d;", s, i), 1+i*37%3000)
				if err := a.Send(ctx, msg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var msg string
				if err := b.Recv(ctx, &msg); err != nil {
					if !errors.Is(err, io.EOF) {
						t.Error(err)
					}
					return
				}
				k := msg[:strings.IndexByte(msg, ';')]
				if strings.Repeat(k+";", len(msg)/(len(k)+1)) != msg {
					t.Errorf("garbled message %.40q", msg)
				}
				mu.Lock()
				seen[k] = true
				n := len(seen)
				mu.Unlock()
				if n == senders*each {
					a.Close()
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != senders*each {
		t.Fatalf("received %d distinct messages, want %d", len(seen), senders*each)
	}
}

func TestBadMagicByte(t *testing.T) {
	ctx := testCtx(t)
	c, raw := socketPair(t, nil)
	raw.Write([]byte{0x54, 0, 0, 0, 1, 'x', 0x42, 0, 0, 0, 1, 'y'})
	if p, err := c.RecvBytes(ctx); err != nil || string(p) != "x" {
		t.Fatalf("got %q, %v", p, err)
	}
	for range 2 { // sticky
		_, err := c.RecvBytes(ctx)
		var pe *mpconn.ProtocolError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "expected 54, got 42") {
			t.Fatalf("error %v, want a ProtocolError about the magic byte", err)
		}
	}
	if ok, err := c.Poll(ctx, 0); !ok || err != nil {
		t.Errorf("Poll on a failed stream: %v, %v; want true", ok, err)
	}
}

func TestEOF(t *testing.T) {
	cases := []struct {
		name  string
		bytes []byte
		want  error
	}{
		{"boundary", []byte{0x54, 0, 0, 0, 1, 'x'}, io.EOF},
		{"in header", []byte{0x54, 0, 0, 0, 1, 'x', 0x54, 0, 0}, io.ErrUnexpectedEOF},
		{"in payload", []byte{0x54, 0, 0, 0, 1, 'x', 0x54, 0, 0, 0, 9, 'a', 'b'}, io.ErrUnexpectedEOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			c, raw := socketPair(t, nil)
			raw.Write(tc.bytes)
			raw.Close()
			if p, err := c.RecvBytes(ctx); err != nil || string(p) != "x" {
				t.Fatalf("got %q, %v", p, err)
			}
			for range 2 {
				if _, err := c.RecvBytes(ctx); err != tc.want {
					t.Fatalf("error %v, want %v", err, tc.want)
				}
			}
		})
	}
}

func TestMaxMessageSize(t *testing.T) {
	ctx := testCtx(t)
	c, raw := socketPair(t, &Options{MaxMessageSize: 10})
	raw.Write([]byte{0x54, 0, 0, 0, 10, '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 0x54, 0, 0, 0, 11})
	if p, err := c.RecvBytes(ctx); err != nil || len(p) != 10 {
		t.Fatalf("got %q, %v", p, err)
	}
	_, err := c.RecvBytes(ctx)
	var tl *mpconn.MessageTooLongError
	if !errors.As(err, &tl) || tl.Len != 11 || tl.Max != 10 {
		t.Fatalf("error %v, want MessageTooLongError{11, 10}", err)
	}
}

// TestHostileLength announces a 4 GiB payload and sends 3 bytes: the
// receiver must not allocate for the announced length.
func TestHostileLength(t *testing.T) {
	ctx := testCtx(t)
	c, raw := socketPair(t, nil)
	raw.Write([]byte{0x54, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'})
	raw.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := c.RecvBytes(ctx)
	runtime.ReadMemStats(&after)
	ok, want := err == io.ErrUnexpectedEOF, "io.ErrUnexpectedEOF"
	if strconv.IntSize == 32 {
		// No slice holds 4 GiB: the header alone is refused.
		var tl *mpconn.MessageTooLongError
		ok, want = errors.As(err, &tl), "a *MessageTooLongError (32-bit system)"
	}
	if !ok {
		t.Fatalf("error %v, want %s", err, want)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Fatalf("allocated %d bytes for a 3-byte payload", d)
	}
}

// TestCancelMidFrameKeepsFraming cancels a receive after half a frame has
// arrived; the next receive returns the whole frame.
func TestCancelMidFrameKeepsFraming(t *testing.T) {
	ctx := testCtx(t)
	c, raw := socketPair(t, nil)
	payload := bytes.Repeat([]byte("z"), 100_000)
	frame := append([]byte{0x54, 0, 0x01, 0x86, 0xa0}, payload...)
	raw.Write(frame[:3])
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := c.RecvBytes(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want DeadlineExceeded", err)
	}
	raw.Write(frame[3:50_000])
	short2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if _, err := c.RecvBytes(short2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want DeadlineExceeded", err)
	}
	go raw.Write(append(frame[50_000:], 0x54, 0, 0, 0, 2, '"', '"'))
	p, err := c.RecvBytes(ctx)
	if err != nil || !bytes.Equal(p, payload) {
		t.Fatalf("got %d bytes, %v", len(p), err)
	}
	var s string
	if err := c.Recv(ctx, &s); err != nil || s != "" {
		t.Fatalf("next frame: %q, %v", s, err)
	}
}

func TestPoll(t *testing.T) {
	ctx := testCtx(t)
	a, b := connPair(t, nil)
	if ok, err := b.Poll(ctx, 0); ok || err != nil {
		t.Fatalf("Poll on nothing: %v, %v", ok, err)
	}
	if ok, err := b.Poll(ctx, 10*time.Millisecond); ok || err != nil {
		t.Fatalf("Poll with a timeout on nothing: %v, %v", ok, err)
	}
	go a.Send(ctx, []int{1, 2, 3})
	if ok, err := b.Poll(ctx, -1); !ok || err != nil {
		t.Fatalf("Poll waiting: %v, %v", ok, err)
	}
	var v []int
	if err := b.Recv(ctx, &v); err != nil || len(v) != 3 {
		t.Fatalf("got %v, %v", v, err)
	}
	a.Send(ctx, "x")
	for {
		// Poll(0) reads what has arrived without blocking.
		ok, err := b.Poll(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		runtime.Gosched()
	}
	a.Close()
	var s string
	if err := b.Recv(ctx, &s); err != nil || s != "x" {
		t.Fatalf("got %q, %v", s, err)
	}
	if ok, err := b.Poll(ctx, -1); !ok || err != nil {
		t.Fatalf("Poll at EOF: %v, %v", ok, err)
	}
}

func TestCloseUnblocks(t *testing.T) {
	ctx := testCtx(t)
	c, _ := socketPair(t, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := c.RecvBytes(ctx)
		errc <- err
	}()
	// Wait until the receive holds the read lock.
	for {
		select {
		case c.rlock <- struct{}{}:
			<-c.rlock
			runtime.Gosched()
			continue
		default:
		}
		break
	}
	c.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("receive after Close: %v", err)
	}
	if err := c.Send(ctx, 1); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("send after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCodecErrors(t *testing.T) {
	ctx := testCtx(t)
	c, raw := socketPair(t, nil)
	if err := c.Send(ctx, make(chan int)); err == nil || !strings.HasPrefix(err.Error(), "mpconn: ") {
		t.Fatalf("sending a channel: %v", err)
	}
	raw.Write([]byte{0x54, 0, 0, 0, 1, '{', 0x54, 0, 0, 0, 1, '7'})
	var v int
	if err := c.Recv(ctx, &v); err == nil {
		t.Fatal("bad JSON decoded")
	}
	// The stream is still in step.
	if err := c.Recv(ctx, &v); err != nil || v != 7 {
		t.Fatalf("got %d, %v", v, err)
	}
}
