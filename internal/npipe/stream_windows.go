package npipe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"sync/atomic"
	"time"
)

// Stream presents a Conn as the byte stream of CPython's socket framing,
// so that code written for framed streams serves named pipes unchanged:
// a read yields each pipe message behind a length header (4 bytes, big
// endian, or -1 and 8 bytes past 2 GiB - 1), and the frames written are
// parsed back, each payload sent as one pipe message. The headers exist
// only between Stream and its user: on the pipe each message is its bare
// payload, as CPython's PipeConnection expects.
//
// Reads are made by one goroutine at a time, and so are writes. A write
// sends a message only once its whole frame has been written; a write cut
// by its deadline consumes nothing of the frame it could not send, so
// writing the rest again continues where it stopped. Deadlines work as
// for a net.Conn: a call past its deadline returns an error matching
// os.ErrDeadlineExceeded, and setting a deadline in the past interrupts a
// pending call.
type Stream struct {
	c   *Conn
	max int64 // receive limit handed to ReadMsg; 0: none

	rd   *deadline
	rhdr [12]byte
	hdr  []byte // what is left of the header of msg
	msg  []byte // what is left of the message being read
	rerr error  // a receive error to return once hdr is read
	// pend tells WaitReadable, which may run beside Read, that hdr, msg
	// or rerr hold something for the next Read.
	pend atomic.Bool

	wd    *deadline
	wpend []byte // the frame being written: header and payload so far
}

// NewStream returns a Stream over c. max > 0 is the longest message the
// reader takes: for a longer one Stream yields its header alone, then
// the error (the reader, seeing the header, should stop there).
func NewStream(c *Conn, max int64) *Stream {
	return &Stream{c: c, max: max, rd: newDeadline(), wd: newDeadline()}
}

// SetMaxMessage sets the longest message the reader takes (see
// NewStream); 0 means no limit. Call it before the first Read.
func (s *Stream) SetMaxMessage(max int64) { s.max = max }

// WaitReadable waits until a message, or the end of the pipe, is ready,
// or ctx ends (see Conn.WaitReadable). A message partly read counts as
// ready. Unlike Read it may be called while another goroutine reads (a
// wait set watching the Stream does): it then waits for that read to end
// and reports what is left after it.
func (s *Stream) WaitReadable(ctx context.Context) error {
	if s.pend.Load() {
		return nil
	}
	return s.c.WaitReadable(ctx)
}

// Readable reports, without waiting, whether Read would return at once:
// the rest of a message Read has begun, or a message (or the end of the
// pipe, or a receive error) ready in the pipe (see Conn.Readable, which
// may read the start of the message; nothing is lost or split). It is
// called by the reading goroutine, as Read is. While another goroutine
// holds the pipe's receive side (a WaitReadable with its read pending),
// it reports false.
func (s *Stream) Readable() (bool, error) {
	if s.pend.Load() {
		return true, nil
	}
	return s.c.Readable()
}

// LocalAddr returns the pipe's address.
func (s *Stream) LocalAddr() net.Addr { return Addr(s.c.name) }

// RemoteAddr returns the pipe's address: both ends of a pipe share it.
func (s *Stream) RemoteAddr() net.Addr { return Addr(s.c.name) }

// SetDeadline sets both deadlines.
func (s *Stream) SetDeadline(t time.Time) error {
	s.rd.set(t)
	s.wd.set(t)
	return nil
}

// Conn returns the pipe connection under s.
func (s *Stream) Conn() *Conn { return s.c }

// Close closes the Conn.
func (s *Stream) Close() error { return s.c.Close() }

// SetReadDeadline sets the deadline of reads; the zero time means none.
func (s *Stream) SetReadDeadline(t time.Time) error { s.rd.set(t); return nil }

// SetWriteDeadline sets the deadline of writes; the zero time means none.
func (s *Stream) SetWriteDeadline(t time.Time) error { s.wd.set(t); return nil }

// Read reads the framed stream of the messages received.
func (s *Stream) Read(p []byte) (int, error) {
	if len(s.hdr) == 0 && len(s.msg) == 0 {
		if s.rerr != nil {
			return 0, s.rerr
		}
		msg, err := s.c.ReadMsg(s.rd.ctx(), s.max)
		var tl *TooLongError
		switch {
		case errors.As(err, &tl):
			s.hdr = putHeader(s.rhdr[:], tl.Len)
			s.rerr = err
		case err != nil:
			return 0, err
		default:
			s.hdr = putHeader(s.rhdr[:], int64(len(msg)))
			s.msg = msg
		}
	}
	n := copy(p, s.hdr)
	s.hdr = s.hdr[n:]
	k := copy(p[n:], s.msg)
	s.msg = s.msg[k:]
	if len(s.msg) == 0 {
		s.msg = nil
	}
	s.pend.Store(len(s.hdr) > 0 || len(s.msg) > 0 || s.rerr != nil)
	return n + k, nil
}

// putHeader writes the frame header of an n-byte message into b.
func putHeader(b []byte, n int64) []byte {
	if n <= math.MaxInt32 {
		binary.BigEndian.PutUint32(b, uint32(n))
		return b[:4]
	}
	binary.BigEndian.PutUint32(b, math.MaxUint32) // -1
	binary.BigEndian.PutUint64(b[4:], uint64(n))
	return b[:12]
}

// frameSize parses the header at the start of b: its length and the
// payload's, or hlen 0 when b is too short to tell.
func frameSize(b []byte) (hlen int, n int64, err error) {
	if len(b) < 4 {
		return 0, 0, nil
	}
	v := int32(binary.BigEndian.Uint32(b))
	switch {
	case v >= 0:
		return 4, int64(v), nil
	case v != -1:
		return 0, 0, fmt.Errorf("npipe: negative frame length %d written", v)
	case len(b) < 12:
		return 0, 0, nil
	}
	u := binary.BigEndian.Uint64(b[4:])
	if u > MaxMessage {
		return 0, 0, ErrMessageTooBig
	}
	return 12, int64(u), nil
}

// Write parses frames from p and sends each whole one as a message.
func (s *Stream) Write(p []byte) (int, error) { return s.write(p, false) }

// TryWrite is Write without waiting: it stops at the first message the
// pipe does not take at once (see Conn.TryWriteMsg) and returns what it
// consumed of p, with a nil error. Nothing of that message's frame is
// consumed, so writing the rest of p again continues where it stopped.
func (s *Stream) TryWrite(p []byte) (int, error) {
	n, err := s.write(p, true)
	if err == errWouldBlock {
		err = nil
	}
	return n, err
}

// TrySendMsg sends p as one message if the pipe takes it at once (see
// Conn.TryWriteMsg), bypassing the framing: it is for a writer with no
// frame half written (it fails otherwise).
func (s *Stream) TrySendMsg(p []byte) (sent bool, err error) {
	if len(s.wpend) > 0 {
		return false, errors.New("npipe: TrySendMsg with a frame half written")
	}
	return s.c.TryWriteMsg(p)
}

var errWouldBlock = errors.New("npipe: the pipe has no room now")

// send sends one message; with try, only if the pipe takes it at once
// (errWouldBlock if not).
func (s *Stream) send(msg []byte, try bool) error {
	if !try {
		return s.c.WriteMsg(s.wd.ctx(), msg)
	}
	sent, err := s.c.TryWriteMsg(msg)
	if err == nil && !sent {
		err = errWouldBlock
	}
	return err
}

func (s *Stream) write(p []byte, try bool) (int, error) {
	done := 0
	for done < len(p) {
		if len(s.wpend) == 0 {
			// A whole frame at the start of p goes out without a copy.
			hlen, n, err := frameSize(p[done:])
			if err != nil {
				return done, err
			}
			if hlen > 0 && int64(len(p)-done-hlen) >= n {
				end := done + hlen + int(n)
				if err := s.send(p[done+hlen:end], try); err != nil {
					return done, err
				}
				done = end
				continue
			}
		}
		// Take what the frame still needs, up to the end of p.
		hlen, n, err := frameSize(s.wpend)
		if err != nil {
			return done, err
		}
		var need int
		switch {
		case hlen == 0 && len(s.wpend) < 4:
			need = 4 - len(s.wpend)
		case hlen == 0:
			need = 12 - len(s.wpend)
		default:
			need = hlen + int(n) - len(s.wpend)
		}
		chunk := p[done:min(len(p), done+need)]
		if len(chunk) < need || hlen == 0 {
			// The frame is not whole yet; a header may be, with no payload
			// (then the next round sends it).
			s.wpend = append(s.wpend, chunk...)
			done += len(chunk)
			if hlen, n, err = frameSize(s.wpend); err != nil || hlen == 0 || n > 0 {
				if err != nil {
					s.wpend = s.wpend[:len(s.wpend)-len(chunk)]
					return done - len(chunk), err
				}
				continue
			}
			// A header of an empty message: the frame is whole.
			if err := s.send(nil, try); err != nil {
				s.wpend = s.wpend[:len(s.wpend)-len(chunk)]
				return done - len(chunk), err
			}
			s.wpend = s.wpend[:0]
			continue
		}
		msg := chunk // the payload came whole after its header: no copy
		if len(s.wpend) > hlen {
			msg = append(s.wpend[hlen:len(s.wpend):len(s.wpend)], chunk...)
		}
		if err := s.send(msg, try); err != nil {
			return done, err
		}
		s.wpend = s.wpend[:0]
		done += len(chunk)
	}
	return done, nil
}

var _ net.Conn = (*Stream)(nil)

// NetListener presents a Listener as a net.Listener whose connections are
// Streams.
type NetListener struct{ L *Listener }

// Accept waits for a client (see Listener.Accept); Close interrupts it.
func (l NetListener) Accept() (net.Conn, error) {
	c, err := l.L.Accept(context.Background())
	if err != nil {
		return nil, err
	}
	return NewStream(c, 0), nil
}

// Close closes the Listener.
func (l NetListener) Close() error { return l.L.Close() }

// Addr returns the pipe's address.
func (l NetListener) Addr() net.Addr { return Addr(l.L.name) }

var _ net.Listener = NetListener{}
