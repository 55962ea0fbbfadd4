package mpconn

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mpconn/mpconn/internal/msgio"
)

// Conn is one end of a message connection: a Pipe end, a Listener's
// accepted connection, a dialled connection, or a wrapped descriptor.
//
// A Conn sends and receives whole messages. A message is either raw bytes
// ([Conn.SendBytes], [Conn.RecvBytes]) or a value serialised by the Conn's
// [Codec] ([Conn.Send], [Conn.Recv]); both travel in the same frames, as in
// CPython, so a Python peer can use send_bytes/recv_bytes or send/recv.
//
// # Concurrency
//
// A Conn is safe for concurrent use: any number of goroutines may send and
// receive at once. Each message is written and read whole, so messages from
// concurrent senders never interleave, and each message goes to exactly one
// receiver. Close may be called from any goroutine and unblocks every
// pending call, which then returns an error wrapping [net.ErrClosed].
//
// # Cancellation
//
// Blocking calls take a [context.Context]. Cancelling it, or reaching its
// deadline, makes the call return the context's error. A receive that is
// cancelled part way through a message keeps what it has read: the next
// receive continues the same message, so framing is never lost. A send that
// is cancelled after part of a message has been written keeps the rest and
// writes it before the next message.
//
// # Errors
//
// A receive returns [io.EOF] when the peer closed the connection at a
// message boundary and [io.ErrUnexpectedEOF] when it closed in the middle
// of a message. A partial or garbled message is never returned as if it
// were whole. After a [*MessageTooLongError], a [*ProtocolError] or an
// unexpected EOF the Conn is no longer readable: the stream cannot be
// resynchronised, and later receives return the same error.
type Conn struct {
	t       transport
	raw     syscall.RawConn // nil when the transport has no descriptor
	network string
	laddr   net.Addr
	raddr   net.Addr
	codec   Codec
	maxSize int64         // 0: no limit
	maxSend int64         // ConnOptions.MaxSendSize; 0: no limit
	spin    time.Duration // ConnOptions.ReplySpin; 0: never (see awaitReply)

	canRead  bool
	canWrite bool

	// fragileWrites: an interrupted write breaks the transport for good
	// (crypto/tls), so cancelled sends finish in the background.
	fragileWrites bool

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	regs waitRegs // the wait sets watching the Conn

	rlock chan struct{} // held by the goroutine reading; capacity 1
	rd    readState
	files fileKeeper    // descriptors received on a Unix socket; nil elsewhere
	wlock chan struct{} // held by the goroutine writing; capacity 1
	wr    writeState
	sq    sendQueue // small messages waiting for wlock (group commit)

	// replyDue: a message was sent since the last receive, which may
	// then spin for the reply (awaitReply).
	replyDue atomic.Bool

	// peerProto is the highest pickle protocol seen from the peer, or -1.
	peerProto atomic.Int32
}

// maxSetter is a transport told the Conn's MaxMessageSize.
type maxSetter interface{ SetMaxMessage(max int64) }

// transport is the byte stream under a Conn: a net.Conn or an *os.File.
type transport interface {
	io.ReadWriteCloser
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// ConnOptions configures a Conn. The zero value (or nil) gives the
// defaults.
type ConnOptions struct {
	// Codec serialises the values of Send and Recv. Nil means the default
	// codec, [Pickle], so that Python peers can use send and recv.
	Codec Codec

	// MaxMessageSize caps the size of a received message, in bytes. A
	// longer message fails with a *MessageTooLongError before its payload
	// is read. Zero means no limit (as in CPython); memory is then still
	// allocated only as the payload arrives, never on the word of the
	// header alone.
	MaxMessageSize int64

	// MaxSendSize caps the size of a sent message, in bytes, for a peer
	// that cannot read larger ones: a larger message fails with a
	// *SendTooLongError before anything of it is written. Use
	// [MaxSize32Bit] for CPython 2.7 to 3.7 and billiard, which read a
	// 32-bit length (billiard loses the stream's framing on a larger
	// message). Zero means no limit; [StartChild] sets MaxSize32Bit
	// itself when it starts a Python it can tell is 3.7 or older.
	MaxSendSize int64

	// ReplySpin is how long a receive that waits for a reply (the Conn
	// has sent since it last received) polls the socket before it parks,
	// when the peer answered the previous message quickly: waking a parked
	// thread costs tens of microseconds on virtual machines, often more
	// than the answer takes. The poll yields the CPU between attempts.
	// Zero means the default, 20µs; a negative value turns spinning off
	// (no CPU is spent waiting, for a little more latency).
	ReplySpin time.Duration

	// RefuseFiles closes every descriptor the peer sends over a Unix
	// socket the moment it arrives, as the kernel does for a CPython
	// receiver that never calls recv_handle; [Conn.RecvFile] then returns [ErrNoFile].
	// Without it, a Conn keeps the descriptors that came with a byte the
	// application can still claim with RecvFile (the next message
	// boundary), at most one batch at a time, and closes all others at once.
	RefuseFiles bool
}

func (o *ConnOptions) replySpin() time.Duration {
	switch {
	case o == nil || o.ReplySpin == 0:
		return defaultReplySpin
	case o.ReplySpin < 0:
		return 0
	}
	return o.ReplySpin
}

func (o *ConnOptions) codec() Codec {
	if o == nil || o.Codec == nil {
		return defaultCodec
	}
	return o.Codec
}

func (o *ConnOptions) maxSendSize() int64 {
	if o == nil || o.MaxSendSize < 0 {
		return 0
	}
	return o.MaxSendSize
}

func (o *ConnOptions) maxSize() int64 {
	if o == nil || o.MaxMessageSize < 0 {
		return 0
	}
	return o.MaxMessageSize
}

func newConn(t transport, network string, canRead, canWrite bool, opts *ConnOptions) *Conn {
	// Where the platform passes descriptors (SendFile), a Unix socket is
	// read with recvmsg, so that descriptors sent along are kept, not
	// dropped by a read: fdPassingTransport wraps it.
	t = fdPassingTransport(t, opts != nil && opts.RefuseFiles)
	c := &Conn{
		t:        t,
		network:  network,
		codec:    opts.codec(),
		maxSize:  opts.maxSize(),
		maxSend:  opts.maxSendSize(),
		spin:     opts.replySpin(),
		canRead:  canRead,
		canWrite: canWrite,
		rlock:    make(chan struct{}, 1),
		wlock:    make(chan struct{}, 1),
	}
	c.rd.Init(cpythonHeader{}, (*connSource)(c))
	c.rd.now.Init(c.readNow)
	c.wr.Init(cpythonHeader{}, t)
	c.peerProto.Store(-1)
	if k, ok := t.(fileKeeper); ok {
		c.files = k
	}
	if m, ok := t.(maxSetter); ok {
		// A transport that reads whole messages (a named pipe) takes
		// the limit itself, so that it never reads a longer one.
		m.SetMaxMessage(c.maxSize)
	}
	_, c.fragileWrites = t.(*tls.Conn)
	if sc, ok := t.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	if nc, ok := t.(net.Conn); ok {
		c.laddr = nc.LocalAddr()
		c.raddr = nc.RemoteAddr()
	}
	return c
}

// NewConn returns a Conn that sends and receives messages over nc, which
// may be any stream connection (TCP, Unix, TLS, ...). The Conn owns nc:
// closing the Conn closes nc. No authentication takes place; see
// [ListenOptions.AuthKey] and [DialOptions.AuthKey].
func NewConn(nc net.Conn, opts *ConnOptions) *Conn {
	return newConn(nc, networkOf(nc), true, true, opts)
}

func networkOf(nc net.Conn) string {
	if a := nc.LocalAddr(); a != nil {
		return a.Network()
	}
	return "stream"
}

// Close closes the connection. It unblocks every pending call on the
// Conn, which then returns an error wrapping [net.ErrClosed]. Close is
// idempotent: calling it again returns nil.
func (c *Conn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		err = c.t.Close()
		c.closeErr = err
		// Wait sets holding the Conn report it: its receives now fail.
		if r := c.watchers(); r != nil {
			r.notify(true)
		}
	})
	if err == net.ErrClosed {
		return nil
	}
	return err
}

// Closed reports whether Close has been called.
func (c *Conn) Closed() bool { return c.closed.Load() }

// Readable reports whether the Conn can receive: false for the write end
// of a one-way pipe, after Close, and after an error that left the stream
// out of step (see [Conn]).
func (c *Conn) Readable() bool {
	if !c.canRead || c.closed.Load() {
		return false
	}
	select {
	case c.rlock <- struct{}{}:
		dead := c.rd.Dead != nil
		<-c.rlock
		return !dead
	default:
		return true // a receive is in progress
	}
}

// Writable reports whether the Conn can send: false for the read end of a
// one-way pipe and after Close.
func (c *Conn) Writable() bool { return c.canWrite && !c.closed.Load() }

// LocalAddr returns the local address, or nil when there is none (pipes).
func (c *Conn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr returns the peer's address, or nil when there is none.
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// Fd returns the Conn's file descriptor. It stays owned by the Conn: use
// [Conn.File] for a descriptor to hand to another process.
func (c *Conn) Fd() (int, error) {
	if c.closed.Load() {
		return -1, c.opError("fd", net.ErrClosed)
	}
	if c.raw == nil {
		return -1, c.opError("fd", errors.ErrUnsupported)
	}
	fd := -1
	if err := c.raw.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return -1, c.opError("fd", err)
	}
	return fd, nil
}

// opError wraps err with the operation and the Conn's addresses, like the
// net package does. io.EOF is returned unwrapped, and any error after
// Close becomes net.ErrClosed.
func (c *Conn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if c.closed.Load() && !errors.Is(err, net.ErrClosed) {
		err = net.ErrClosed
	}
	if errors.Is(err, os.ErrClosed) && !errors.Is(err, net.ErrClosed) {
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: c.network, Source: c.laddr, Addr: c.raddr, Err: err}
}

// lock takes a capacity-1 channel lock, giving up when ctx is done.
func (c *Conn) lock(ctx context.Context, l chan struct{}) error { return msgio.Lock(ctx, l) }
