package npipe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

func frame(p []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...)
}

// Frames written to a Stream in any split arrive as bare pipe messages,
// and a reading Stream frames them again.
func TestStreamRoundTrip(t *testing.T) {
	ctx := testCtx(t)
	r, w := pipe(t, true)
	ws, rs := NewStream(w, 0), NewStream(r, 0)
	msgs := [][]byte{{}, []byte("a"), pattern(HeadSize+5, 1), {}, pattern(70000, 2)}
	var stream []byte
	for _, m := range msgs {
		stream = append(stream, frame(m)...)
	}
	// The escape header, for a small message, as CPython accepts it.
	esc := []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 3, 'x', 'y', 'z'}
	stream = append(stream, esc...)
	msgs = append(msgs, []byte("xyz"))
	errc := make(chan error, 1)
	go func() {
		// Writes of 1, 2, 3, ... bytes, then the rest at once.
		rest := stream
		for k := 1; len(rest) > 0 && k < 40; k++ {
			n := min(k, len(rest))
			if m, err := ws.Write(rest[:n]); err != nil || m != n {
				errc <- err
				return
			}
			rest = rest[n:]
		}
		_, err := ws.Write(rest)
		errc <- err
	}()
	for i, want := range msgs {
		got, err := r.ReadMsg(ctx, 0)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("pipe message %d: %d bytes, %v; want %d bytes", i, len(got), err, len(want))
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// Back: bare messages in, frames out, read in small pieces.
	go func() {
		for _, m := range msgs[:5] {
			if err := w.WriteMsg(ctx, m); err != nil {
				errc <- err
				return
			}
		}
		w.Close()
		errc <- nil
	}()
	var got []byte
	buf := make([]byte, 7)
	for {
		n, err := rs.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var want []byte
	for _, m := range msgs[:5] {
		want = append(want, frame(m)...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes of frames, want %d", len(got), len(want))
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestStreamDeadlines(t *testing.T) {
	ctx := testCtx(t)
	r, w := pipe(t, true)
	rs, ws := NewStream(r, 0), NewStream(w, 0)
	rs.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := rs.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline: %v", err)
	}
	// A deadline set in the past interrupts a pending read.
	started := pending(t)
	errc := make(chan error, 1)
	rs.SetReadDeadline(time.Time{})
	go func() { _, err := rs.Read(make([]byte, 10)); errc <- err }()
	<-started
	rs.SetReadDeadline(time.Unix(1, 0))
	if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read interrupted by a past deadline: %v", err)
	}
	// A write cut by its deadline consumes nothing of its frame: writing
	// the rest again sends the message whole.
	big := frame(pattern(1<<20, 4))
	go func() {
		n, err := ws.Write(big[:4])
		if n != 4 || err != nil {
			errc <- err
			return
		}
		n, err = ws.Write(big[4:])
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			errc <- errors.New("the cut write consumed bytes or did not time out")
			return
		}
		errc <- nil
	}()
	<-started
	ws.SetWriteDeadline(time.Unix(1, 0))
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	testHookWait = nil
	ws.SetWriteDeadline(time.Time{})
	rs.SetReadDeadline(time.Time{})
	go func() { _, err := ws.Write(big[4:]); errc <- err }()
	if got, err := r.ReadMsg(ctx, 0); err != nil || !bytes.Equal(got, big[4:]) {
		t.Fatalf("after the cut write: %d bytes, %v", len(got), err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestStreamTooLong(t *testing.T) {
	ctx := testCtx(t)
	r, w := pipe(t, true)
	rs := NewStream(r, 100)
	go w.WriteMsg(ctx, pattern(101, 0))
	hdr := make([]byte, 10)
	n, err := rs.Read(hdr)
	if err != nil || n != 4 || binary.BigEndian.Uint32(hdr) != 101 {
		t.Fatalf("Read = %d, %v, % x; want the 4-byte header of 101", n, err, hdr[:n])
	}
	var tl *TooLongError
	if _, err := rs.Read(hdr); !errors.As(err, &tl) {
		t.Fatalf("then %v; want *TooLongError", err)
	}
}

func TestNetListener(t *testing.T) {
	ctx := testCtx(t)
	l := listen(t, "", nil)
	nl := NetListener{l}
	if nl.Addr().Network() != "pipe" || nl.Addr().String() != l.Addr() {
		t.Fatalf("Addr() = %v %q", nl.Addr().Network(), nl.Addr())
	}
	errc := make(chan error, 1)
	go func() {
		c, err := Dial(ctx, l.Addr())
		if err == nil {
			_, err = NewStream(c, 0).Write(frame([]byte("hello")))
			c.Close()
		}
		errc <- err
	}()
	nc, err := nl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if nc.RemoteAddr().String() != l.Addr() {
		t.Fatalf("RemoteAddr() = %q", nc.RemoteAddr())
	}
	if err := nc.(*Stream).WaitReadable(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(nc)
	if err != nil || !bytes.Equal(got, frame([]byte("hello"))) {
		t.Fatalf("read %q, %v", got, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// Close interrupts a pending Accept.
	started := pending(t)
	go func() { _, err := nl.Accept(); errc <- err }()
	<-started
	nl.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept across Close: %v", err)
	}
}
