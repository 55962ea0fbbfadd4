package ductworks

import (
	"errors"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/internal/msgio"
	"github.com/mpconn/mpconn/internal/platform"
)

// Wire constants of ductworks' framing.
const (
	// MagicByte starts every frame (ductworks' MAGIC_BYTE, b'\x54').
	MagicByte byte = 0x54
	// HeaderLen is the length of a frame's header: the magic byte and
	// the 4-byte length.
	HeaderLen = 5
	// MaxLen is the longest payload the 4-byte length can announce.
	MaxLen = 1<<32 - 1

	// maxRecvLen is the longest payload a receive returns: MaxLen, or on
	// 32-bit systems the most a slice holds.
	maxRecvLen = min(MaxLen, math.MaxInt)
)

// Options configures a Conn. The zero value (or nil) gives the defaults.
type Options struct {
	// Codec serialises the values of Send and Recv. Nil means
	// [mpconn.JSON], UTF-8 JSON as ductworks' default serializer. (Like
	// ductworks' default deserializer, encoding/json replaces invalid
	// UTF-8 in strings with U+FFFD.)
	Codec mpconn.Codec

	// MaxMessageSize caps the payload of a received frame. A longer one
	// fails with a *mpconn.MessageTooLongError before its payload is
	// read. Zero means [MaxLen], the most the header can say; memory is
	// then still allocated only as the payload arrives.
	MaxMessageSize int64
}

// Conn is one end of a ductworks message connection over a net.Conn.
//
// A Conn is safe for concurrent use: any number of goroutines may send and
// receive at once; each frame is written and read whole, and goes to one
// receiver. Close unblocks every pending call, which then returns an error
// wrapping [net.ErrClosed].
//
// Blocking calls take a context. Cancelling it makes the call return the
// context's error; a receive cancelled part way through a frame keeps what
// it has read, and a send keeps what it has not written yet, so the stream
// stays in step and the next call goes on from there.
//
// A receive returns [io.EOF] when the peer closed at a frame boundary and
// [io.ErrUnexpectedEOF] inside a frame. A frame that does not start with
// [MagicByte] fails with a *mpconn.ProtocolError, and one longer than the
// limit with a *mpconn.MessageTooLongError; after either, or after an
// unexpected EOF, the Conn is no longer readable and later receives return
// the same error (ductworks cannot resynchronise either).
type Conn struct {
	nc    net.Conn
	raw   syscall.RawConn // nil when nc has no descriptor
	codec mpconn.Codec
	max   int64

	closed    atomic.Bool
	closeOnce sync.Once

	rlock chan struct{}
	rd    msgio.Reader
	now   msgio.RawReader
	wlock chan struct{}
	wr    msgio.Writer
}

// NewConn returns a Conn that exchanges ductworks frames over nc. The Conn
// owns nc: Close closes it.
func NewConn(nc net.Conn, opts *Options) *Conn {
	c := &Conn{
		nc:    nc,
		codec: mpconn.JSON,
		max:   maxRecvLen,
		rlock: make(chan struct{}, 1),
		wlock: make(chan struct{}, 1),
	}
	if opts != nil {
		if opts.Codec != nil {
			c.codec = opts.Codec
		}
		if opts.MaxMessageSize > 0 && opts.MaxMessageSize < maxRecvLen {
			c.max = opts.MaxMessageSize
		}
	}
	c.rd.Init(header{}, (*source)(c))
	c.wr.Init(header{}, nc)
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.now.Init(platform.Read)
		}
	}
	return c
}

// Close closes the connection, unblocking every pending call. It is
// idempotent: calling it again returns nil.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		err = c.nc.Close()
	})
	return err
}

// Closed reports whether Close has been called.
func (c *Conn) Closed() bool { return c.closed.Load() }

// LocalAddr returns the local address of the underlying connection.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// opError wraps err like the net package does; io.EOF stays as it is, and
// any error after Close becomes net.ErrClosed.
func (c *Conn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if c.closed.Load() && !errors.Is(err, net.ErrClosed) {
		err = net.ErrClosed
	}
	var netw string
	var src, dst net.Addr
	if a := c.nc.LocalAddr(); a != nil {
		netw, src = a.Network(), a
	}
	dst = c.nc.RemoteAddr()
	return &net.OpError{Op: op, Net: netw, Source: src, Addr: dst, Err: err}
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
