//go:build linux

package shm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const requiredSeals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW

// bulkMagic starts the header page of a pool block.
const bulkMagic = 0x31306d6873636e6d // "mncshm01" little-endian

// Header of a pool block, the first page of the memfd; data follows.
const (
	hdrMagic  = 0  // uint64
	hdrState  = 8  // uint32, atomic: stateFree or stateSent
	hdrLength = 16 // uint64: the payload length of the message in flight
)

const (
	stateFree = 0 // the sender may fill the block
	stateSent = 1 // a receiver has it; it sets stateFree on Close
)

var pageSize = os.Getpagesize()

// defaultMaxSize bounds the memfds a Receiver maps by default.
const defaultMaxSize = 1 << 32

// Pool hands out shared buffers to send over one Conn. Use one Pool per
// receiving peer: a buffer goes back to the pool when the receiver is done
// with it, but the receiver keeps its mapping (to read the next message in
// it without mapping it again), so a buffer reused for another peer would
// show that peer's data to the first. The first [Send] binds the Pool to
// its Conn; sending its buffers on another Conn is an error.
//
// A Pool is safe for concurrent use. Close it when done: it unmaps and
// closes the blocks no Buffer holds (the receiver's mappings stay valid).
type Pool struct {
	mu     sync.Mutex
	max    int
	blocks []*poolBlock
	seq    uint64
	conn   FileConn
	closed bool
}

type poolBlock struct {
	f      *os.File
	mem    []byte // the whole memfd: header page, then data
	out    bool   // a Buffer holds it
	sentAt uint64 // when it was last sent, for eviction
}

func (b *poolBlock) state() *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&b.mem[hdrState]))
}

func (b *poolBlock) release() {
	unix.Munmap(b.mem)
	b.f.Close()
	b.mem = nil
}

// NewPool returns an empty Pool.
func NewPool(opts *PoolOptions) *Pool {
	p := &Pool{max: 4}
	if opts != nil && opts.MaxBlocks > 0 {
		p.max = opts.MaxBlocks
	}
	return p
}

// Get returns a Buffer of size bytes, from a block the receiver has
// released if one is large enough, else from a new memfd while the pool
// holds fewer than its MaxBlocks. When all of them are with the receiver,
// Get waits for it to release one (backpressure), until ctx is done; if
// the application itself holds them all (Buffers neither sent nor
// released), that is an error at once. The Buffer is the caller's until
// it is sent with [Send] or given back with [Buffer.Release]. Its bytes
// are whatever the block last held. A receiver that dies holding buffers
// never hands them back: give Get a context that ends when the
// connection fails, or a deadline.
func (p *Pool) Get(ctx context.Context, size int) (*Buffer, error) {
	if size <= 0 || size > maxMapping-2*pageSize {
		return nil, fmt.Errorf("shm: buffer size %d out of range", size)
	}
	for {
		b, wait, err := p.tryGet(size)
		if b != nil || err != nil {
			return b, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// The receiver still has every block: sleep until the oldest
		// comes back (the receiver wakes the word), looking at ctx and
		// the others now and then. The word is shared with the receiver,
		// which may store anything in it: sleep on the value seen, so
		// that a strange one cannot make this loop spin.
		if v := wait.Load(); v != stateFree {
			futexWait(wait, v, 20*time.Millisecond)
		}
	}
}

// tryGet returns a Buffer, or the state word to wait on, or an error.
func (p *Pool) tryGet(size int) (*Buffer, *atomic.Uint32, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil, ErrClosed
	}
	var best, oldest *poolBlock
	smallFree := -1
	for i, b := range p.blocks {
		if b.out {
			continue
		}
		if b.state().Load() != stateFree {
			if oldest == nil || b.sentAt < oldest.sentAt {
				oldest = b
			}
			continue
		}
		if len(b.mem)-pageSize < size {
			smallFree = i
			continue
		}
		if best == nil || len(b.mem) < len(best.mem) {
			best = b
		}
	}
	if best == nil && len(p.blocks) >= p.max {
		if smallFree < 0 {
			if oldest == nil {
				return nil, nil, fmt.Errorf("shm: all %d buffers of the pool are held by the application", p.max)
			}
			return nil, oldest.state(), nil
		}
		// A free block too small for this buffer makes room.
		p.blocks[smallFree].release()
		p.blocks = append(p.blocks[:smallFree], p.blocks[smallFree+1:]...)
	}
	if best == nil {
		b, err := newPoolBlock(size)
		if err != nil {
			return nil, nil, err
		}
		p.blocks = append(p.blocks, b)
		best = b
	}
	best.out = true
	return &Buffer{pool: p, blk: best, n: size}, nil, nil
}

func newPoolBlock(size int) (*poolBlock, error) {
	fd, err := unix.MemfdCreate("mpconn-shm", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, os.NewSyscallError("memfd_create", err)
	}
	f := os.NewFile(uintptr(fd), "mpconn-shm")
	total := pageSize + (size+pageSize-1)/pageSize*pageSize
	if err := unix.Ftruncate(fd, int64(total)); err != nil {
		f.Close()
		return nil, os.NewSyscallError("ftruncate", err)
	}
	// Allocate the pages now, in one call, and map them all below
	// (MAP_POPULATE): faulting them in one by one as the buffer is first
	// written costs far more.
	if err := unix.Fallocate(fd, 0, 0, int64(total)); err != nil && err != unix.EOPNOTSUPP {
		f.Close()
		return nil, os.NewSyscallError("fallocate", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		f.Close()
		return nil, os.NewSyscallError("fcntl(F_ADD_SEALS)", err)
	}
	mem, err := unix.Mmap(fd, 0, total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		f.Close()
		return nil, os.NewSyscallError("mmap", err)
	}
	ne.PutUint64(mem[hdrMagic:], bulkMagic)
	return &poolBlock{f: f, mem: mem}, nil
}

// Close releases the blocks no Buffer holds; those held go when their
// Buffer is released or sent. Receivers keep their own mappings.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	kept := p.blocks[:0]
	for _, b := range p.blocks {
		if b.out {
			kept = append(kept, b)
		} else {
			b.release()
		}
	}
	p.blocks = kept
	return nil
}

// put takes a block back from a Buffer.
func (p *Pool) put(b *poolBlock) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b.out = false
	if p.closed {
		b.release()
		for i, x := range p.blocks {
			if x == b {
				p.blocks = append(p.blocks[:i], p.blocks[i+1:]...)
				break
			}
		}
	}
}

// Buffer is a shared buffer from a [Pool], to fill and send with [Send].
// A Buffer is not safe for concurrent use.
type Buffer struct {
	pool *Pool
	blk  *poolBlock
	n    int
}

// Bytes returns the buffer's memory, to fill before sending; nil once the
// Buffer is sent or released. After Send the receiver reads these pages:
// do not keep the slice.
func (b *Buffer) Bytes() []byte {
	if b.blk == nil {
		return nil
	}
	return b.blk.mem[pageSize : pageSize+b.n]
}

// Len returns the size of the buffer.
func (b *Buffer) Len() int { return b.n }

// Release gives an unsent Buffer back to its Pool. Releasing a sent or
// released Buffer does nothing.
func (b *Buffer) Release() {
	if b.blk == nil {
		return
	}
	blk := b.blk
	b.blk = nil
	b.pool.put(blk)
}

// Send sends the buffer over c as one message, in order with c's other
// messages: one byte that carries the buffer's memfd. c must be a Unix
// socket Conn (a mpconn.Pipe end, a Unix socket from Listen or Dial).
// The peer receives it with [Receiver.Recv]. On success the Buffer is
// spent (the receiver has its pages until it closes the Message); on an
// error (ctx done, the Conn closed or broken) it is still the caller's,
// to send again or release.
func Send(ctx context.Context, c FileConn, b *Buffer) error {
	blk := b.blk
	if blk == nil {
		return errors.New("shm: Send: the buffer was already sent or released")
	}
	p := b.pool
	p.mu.Lock()
	if p.conn == nil {
		p.conn = c
	}
	bound := p.conn
	p.mu.Unlock()
	if bound != c {
		return errors.New("shm: Send: the buffer's pool serves another Conn")
	}
	ne.PutUint64(blk.mem[hdrLength:], uint64(b.n))
	blk.state().Store(stateSent)
	if err := c.SendFile(ctx, blk.f); err != nil {
		blk.state().Store(stateFree)
		return err
	}
	p.mu.Lock()
	p.seq++
	blk.sentAt = p.seq
	p.mu.Unlock()
	b.blk = nil
	p.put(blk)
	return nil
}

// Receiver receives shared buffers sent with [Send] on one Conn, and
// keeps the mappings of the buffers it has seen so that buffers the
// sender reuses are read without mapping them again. It is safe for
// concurrent use. Close it when done: it unmaps what no Message holds.
type Receiver struct {
	c       FileConn
	max     int
	maxSize int64

	mu     sync.Mutex
	maps   map[fileID]*mapping
	seq    uint64
	closed bool
}

type fileID struct{ dev, ino uint64 }

type mapping struct {
	id      fileID
	mem     []byte
	refs    int
	lastUse uint64
}

// NewReceiver returns a Receiver for the buffers coming on c.
func NewReceiver(c FileConn, opts *ReceiverOptions) *Receiver {
	r := &Receiver{c: c, max: 8, maxSize: defaultMaxSize, maps: map[fileID]*mapping{}}
	if opts != nil && opts.MaxCached > 0 {
		r.max = opts.MaxCached
	}
	if int64(maxMapping) < r.maxSize {
		r.maxSize = int64(maxMapping)
	}
	return r
}

// Recv receives the next message, which must be a buffer sent with
// [Send]; if it is an ordinary message, Recv returns the Conn's error for
// that, mpconn.ErrNoFile, and consumes nothing: RecvBytes or Recv then
// reads the message. The memfd
// must be sealed against shrinking and growing; its size comes from
// fstat, and the length the sender wrote is checked against it. Errors
// of the Conn are returned as mpconn.Conn.RecvFile returns them.
func (r *Receiver) Recv(ctx context.Context) (*Message, error) {
	f, err := r.c.RecvFile(ctx)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := r.attach(f)
	if err != nil {
		return nil, err
	}
	n := ne.Uint64(m.mem[hdrLength:])
	if ne.Uint64(m.mem[hdrMagic:]) != bulkMagic || n > uint64(len(m.mem)-pageSize) {
		r.discard(m)
		return nil, fmt.Errorf("shm: received buffer has a bad header (length %d in a %d-byte block)", n, len(m.mem))
	}
	return &Message{r: r, m: m, data: m.mem[pageSize : pageSize+int(n)]}, nil
}

// attach returns the mapping of the memfd f, new or cached, with a
// reference taken.
func (r *Receiver) attach(f *os.File) (*mapping, error) {
	fd := int(f.Fd())
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, errors.New("shm: received descriptor is not a memfd")
	}
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil {
		return nil, fmt.Errorf("shm: received descriptor is not a memfd: %w", err)
	}
	if seals&requiredSeals != requiredSeals {
		return nil, errors.New("shm: received memfd is not sealed against shrinking and growing")
	}
	if st.Size < int64(pageSize) || st.Size > r.maxSize {
		return nil, fmt.Errorf("shm: received memfd of %d bytes (limits %d to %d)", st.Size, pageSize, r.maxSize)
	}
	id := fileID{uint64(st.Dev), uint64(st.Ino)}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	r.seq++
	if m := r.maps[id]; m != nil {
		m.refs++
		m.lastUse = r.seq
		return m, nil
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	m := &mapping{id: id, mem: mem, refs: 1, lastUse: r.seq}
	r.maps[id] = m
	r.trim()
	return m, nil
}

// trim unmaps the least recently used mappings no Message holds, beyond
// the cache's bound (all of them once closed). Called with r.mu held.
func (r *Receiver) trim() {
	for {
		idle := 0
		var lru *mapping
		for _, m := range r.maps {
			if m.refs == 0 {
				idle++
				if lru == nil || m.lastUse < lru.lastUse {
					lru = m
				}
			}
		}
		if lru == nil || (!r.closed && idle <= r.max) {
			return
		}
		unix.Munmap(lru.mem)
		delete(r.maps, lru.id)
	}
}

func (r *Receiver) drop(m *mapping) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m.refs--
	r.trim()
}

// discard lets go of a refused buffer: unmapped at once if no Message
// holds it.
func (r *Receiver) discard(m *mapping) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m.refs--
	if m.refs == 0 {
		unix.Munmap(m.mem)
		delete(r.maps, m.id)
	}
}

// Mapped returns the number of buffers the Receiver has mapped, held by
// Messages or cached.
func (r *Receiver) Mapped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.maps)
}

// Close unmaps the cached buffers; those Messages still hold are unmapped
// when the Messages are closed. It does not close the Conn.
func (r *Receiver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.trim()
	return nil
}

// Message is a buffer received by [Receiver.Recv]: the sender's pages,
// mapped. Close it when done, so that the sender can reuse the buffer.
type Message struct {
	r    *Receiver
	m    *mapping
	data []byte
	once sync.Once
}

// Bytes returns the message, in the shared pages; nil after Close. The
// sender does not write the buffer again until the Message is closed
// (unless it is hostile: the contents of shared memory are never a
// guarantee, but the mapping stays valid until Close).
func (m *Message) Bytes() []byte { return m.data }

// Len returns the length of the message.
func (m *Message) Len() int { return len(m.data) }

// Close hands the buffer back to the sender and lets go of the mapping.
// Close is idempotent.
func (m *Message) Close() error {
	m.once.Do(func() {
		state := (*atomic.Uint32)(unsafe.Pointer(&m.m.mem[hdrState]))
		state.Store(stateFree)
		futexWake(state)
		m.data = nil
		m.r.drop(m.m)
	})
	return nil
}

// Futex operations (linux/futex.h), shared between processes.
const (
	futexOpWait = 0
	futexOpWake = 1
)

// futexWait sleeps while *w holds val, at most d, or until woken. The word
// is in shared memory: the futex is not process-private.
func futexWait(w *atomic.Uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexOpWait, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// futexWake wakes the sender sleeping on w, if any.
func futexWake(w *atomic.Uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexOpWake, 1<<30, 0, 0, 0)
}
