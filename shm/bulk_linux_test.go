//go:build linux

package shm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mpconn/mpconn"
)

func pipeT(t *testing.T) (*mpconn.Conn, *mpconn.Conn) {
	t.Helper()
	a, b, err := mpconn.Pipe(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func fill(p []byte, seed byte) {
	for i := range p {
		p[i] = seed + byte(i/4096)
	}
}

func TestBulkRoundTrip(t *testing.T) {
	ctx := context.Background()
	a, b := pipeT(t)
	pool := NewPool(nil)
	defer pool.Close()
	r := NewReceiver(b, nil)
	defer r.Close()

	const size = 1<<20 + 5
	for round := range 5 {
		buf, err := pool.Get(context.Background(), size)
		if err != nil {
			t.Fatal(err)
		}
		fill(buf.Bytes(), byte(round))
		// A bulk message, then an ordinary one, in order.
		if err := Send(ctx, a, buf); err != nil {
			t.Fatal(err)
		}
		if buf.Bytes() != nil {
			t.Fatal("a sent buffer still has bytes")
		}
		if err := a.SendBytes(ctx, []byte("plain")); err != nil {
			t.Fatal(err)
		}
		m, err := r.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, size)
		fill(want, byte(round))
		if m.Len() != size || !bytes.Equal(m.Bytes(), want) {
			t.Fatalf("round %d: received %d bytes, not the %d sent", round, m.Len(), size)
		}
		// The plain message is not a buffer: nothing consumed.
		if _, err := r.Recv(ctx); !errors.Is(err, mpconn.ErrNoFile) {
			t.Fatalf("Recv before an ordinary message: %v", err)
		}
		if msg, err := b.RecvBytes(ctx); err != nil || string(msg) != "plain" {
			t.Fatalf("RecvBytes: %q, %v", msg, err)
		}
		m.Close()
		m.Close()
		if m.Bytes() != nil {
			t.Fatal("closed message still has bytes")
		}
	}
	// Each round reused the one block, and the receiver mapped it once.
	if n := len(pool.blocks); n != 1 {
		t.Fatalf("pool holds %d blocks after sequential rounds, want 1", n)
	}
	if n := r.Mapped(); n != 1 {
		t.Fatalf("receiver mapped %d blocks, want 1", n)
	}
	// A larger buffer needs a new block.
	buf, _ := pool.Get(context.Background(), 3<<20)
	buf.Release()
	buf.Release()
	if n := len(pool.blocks); n != 2 {
		t.Fatalf("pool holds %d blocks, want 2", n)
	}
}

func TestBulkErrors(t *testing.T) {
	a, b := pipeT(t)
	c, _ := pipeT(t)
	pool := NewPool(nil)
	defer pool.Close()
	buf, err := pool.Get(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Send(ctx, a, buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a canceled context: %v", err)
	}
	if buf.Bytes() == nil {
		t.Fatal("a buffer that failed to send is lost")
	}
	if err := Send(context.Background(), a, buf); err != nil {
		t.Fatal(err)
	}
	if err := Send(context.Background(), a, buf); err == nil {
		t.Fatal("a buffer was sent twice")
	}
	other, _ := pool.Get(context.Background(), 10)
	if err := Send(context.Background(), c, other); err == nil {
		t.Fatal("a pool sent on two Conns")
	}
	other.Release()
	r := NewReceiver(b, nil)
	defer r.Close()
	if _, err := r.Recv(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv with a canceled context: %v", err)
	}
	m, err := r.Recv(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	a.Close()
	if _, err := r.Recv(context.Background()); err == nil {
		t.Fatal("Recv after the peer closed")
	}
	if _, err := pool.Get(context.Background(), 0); err == nil {
		t.Fatal("Get(0) succeeded")
	}
	pool.Close()
	if _, err := pool.Get(context.Background(), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}

// fakeConn hands the Receiver whatever files a test makes, as a hostile
// peer could send them.
type fakeConn struct{ files chan *os.File }

func (f *fakeConn) SendFile(ctx context.Context, file *os.File) error {
	dup, err := unix.FcntlInt(file.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f.files <- os.NewFile(uintptr(dup), "dup")
	return nil
}

func (f *fakeConn) RecvFile(ctx context.Context) (*os.File, error) { return <-f.files, nil }

func memfd(t *testing.T, size int64, seals int, header bool) *os.File {
	t.Helper()
	fd, err := unix.MemfdCreate("test", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "memfd")
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if header {
		var h [24]byte
		ne.PutUint64(h[hdrMagic:], bulkMagic)
		ne.PutUint64(h[hdrLength:], 1<<40) // a length past the end
		f.WriteAt(h[:], 0)
	}
	if seals != 0 {
		if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestBulkHostileSender(t *testing.T) {
	fc := &fakeConn{files: make(chan *os.File, 1)}
	r := NewReceiver(fc, &ReceiverOptions{MaxCached: 2})
	defer r.Close()
	regular, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	regular.Truncate(1 << 16)
	defer regular.Close()
	cases := map[string]*os.File{
		"not a memfd":     regular,
		"unsealed":        memfd(t, 1<<16, 0, true),
		"may still grow":  memfd(t, 1<<16, unix.F_SEAL_SHRINK, true),
		"bad length":      memfd(t, 1<<16, requiredSeals, true),
		"no header":       memfd(t, 1<<16, requiredSeals, false),
		"empty":           memfd(t, 0, requiredSeals, false),
		"larger than max": memfd(t, defaultMaxSize+1<<20, requiredSeals, false),
	}
	for name, f := range cases {
		fc.SendFile(context.Background(), f)
		f.Close()
		if m, err := r.Recv(context.Background()); err == nil {
			m.Close()
			t.Errorf("%s: received", name)
		}
	}
	if n := r.Mapped(); n != 0 {
		t.Fatalf("%d mappings kept of refused buffers", n)
	}

	// Many distinct buffers: the receiver keeps at most MaxCached idle.
	for range 10 {
		f := memfd(t, 1<<16, requiredSeals, false)
		var h [24]byte
		ne.PutUint64(h[hdrMagic:], bulkMagic)
		ne.PutUint64(h[hdrLength:], 100)
		f.WriteAt(h[:], 0)
		fc.SendFile(context.Background(), f)
		f.Close()
		m, err := r.Recv(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if m.Len() != 100 {
			t.Fatalf("length %d", m.Len())
		}
		m.Close()
	}
	if n := r.Mapped(); n > 2 {
		t.Fatalf("%d mappings cached, bound is 2", n)
	}
	r.Close()
	if n := r.Mapped(); n != 0 {
		t.Fatalf("%d mappings after Close", n)
	}
}

// The memfd a Receiver maps cannot be shrunk by anyone: a peer cannot
// make its mapping fault.
func TestBulkSealedAgainstShrinking(t *testing.T) {
	fc := &fakeConn{files: make(chan *os.File, 1)}
	pool := NewPool(nil)
	defer pool.Close()
	buf, err := pool.Get(context.Background(), 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	if err := Send(context.Background(), fc, buf); err != nil {
		t.Fatal(err)
	}
	f := <-fc.files
	defer f.Close()
	if err := f.Truncate(0); !errors.Is(err, unix.EPERM) {
		t.Fatalf("truncating the sent memfd: %v, want EPERM", err)
	}
	if err := f.Truncate(1 << 30); !errors.Is(err, unix.EPERM) {
		t.Fatalf("growing the sent memfd: %v, want EPERM", err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_WRITE); !errors.Is(err, unix.EPERM) {
		t.Fatalf("adding a seal: %v, want EPERM (F_SEAL_SEAL)", err)
	}
}

// A receiver that holds on to every buffer does not make the sender's
// pool grow past its bound: the sender waits, until the receiver hands one
// back or its context ends.
func TestBulkPoolBounded(t *testing.T) {
	a, b := pipeT(t)
	pool := NewPool(&PoolOptions{MaxBlocks: 2})
	defer pool.Close()
	r := NewReceiver(b, nil)
	defer r.Close()
	var held []*Message
	for i := range 2 {
		buf, err := pool.Get(context.Background(), 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		buf.Bytes()[0] = byte(i)
		if err := Send(context.Background(), a, buf); err != nil {
			t.Fatal(err)
		}
		m, err := r.Recv(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pool.Get(ctx, 1<<16); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with both blocks at the receiver: %v, want to wait until ctx ends", err)
	}
	if n := len(pool.blocks); n != 2 {
		t.Fatalf("pool holds %d blocks, bound 2", n)
	}
	// A Get waiting for the receiver gets the block it hands back.
	got := make(chan *Buffer)
	go func() {
		buf, err := pool.Get(context.Background(), 1<<16)
		if err != nil {
			t.Error(err)
		}
		got <- buf
	}()
	held[0].Close()
	buf := <-got
	if buf == nil || len(pool.blocks) != 2 {
		t.Fatalf("after the receiver released one: %v, %d blocks", buf, len(pool.blocks))
	}
	if held[1].Bytes()[0] != 1 {
		t.Fatal("the message still held changed")
	}
	// All held by the application: an error at once.
	held[1].Close()
	other, err := pool.Get(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Get(context.Background(), 10); err == nil {
		t.Fatal("pool grew past its bound")
	}
	buf.Release()
	other.Release()
	// A larger buffer replaces a free block too small for it.
	big, err := pool.Get(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	big.Release()
	if n := len(pool.blocks); n != 2 {
		t.Fatalf("pool holds %d blocks, bound 2", n)
	}
}

// A receiver that scribbles on the state word of a block it holds does
// not make a waiting Get spin or take the block: Get waits for stateFree.
func TestBulkStateWordScribbled(t *testing.T) {
	fc := &fakeConn{files: make(chan *os.File, 1)}
	pool := NewPool(&PoolOptions{MaxBlocks: 1})
	defer pool.Close()
	buf, err := pool.Get(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := Send(context.Background(), fc, buf); err != nil {
		t.Fatal(err)
	}
	f := <-fc.files
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, pageSize+pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	state := (*atomic.Uint32)(unsafe.Pointer(&mem[hdrState]))
	state.Store(7)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error)
	go func() {
		_, err := pool.Get(ctx, 100)
		got <- err
	}()
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with the only block scribbled on: %v", err)
	}
	// Handing it back properly frees it.
	state.Store(stateFree)
	b, err := pool.Get(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	b.Release()
}
