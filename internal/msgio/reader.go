package msgio

import (
	"context"
	"errors"
	"io"
	"os"
)

// ReadBufSize is the largest size of a Reader's read-ahead buffer. Small
// messages are read many at a time into it; a payload that does not fit is
// read straight into its destination. The buffer starts at firstBufSize
// and grows fourfold each time a read fills it, so an idle or
// request-response connection keeps little memory.
const (
	ReadBufSize  = 32 << 10
	firstBufSize = 1 << 10
)

// firstChunk is how much of a payload is allocated before any of it has
// arrived. Past that, the destination grows only as bytes arrive.
const firstChunk = 64 << 10

// advanceBudget bounds the bytes one Advance reads, so that a fast sender
// cannot keep a waiter reading.
const advanceBudget = 1 << 20

// Source is the connection a [Reader] reads from.
type Source interface {
	// Read reads stream bytes into p. While the Reader's Nonblock is
	// set it must not wait: nothing to read is ErrWouldBlock. The end of
	// the stream is io.EOF.
	Read(p []byte) (int, error)

	// AfterRead runs after each read, once the Reader counts the bytes
	// read. inBody: the read went straight into the payload of the
	// message being received (not into the read-ahead buffer).
	AfterRead(inBody bool)

	// HeaderDone runs when a header has been consumed.
	HeaderDone()

	// Fail turns a failed read into what the receive returns; a failure
	// that leaves the stream unreadable calls the Reader's Kill.
	Fail(ctx context.Context, err error) error
}

// Reader is the receive side of a framed connection. Its exported fields
// are the state a receive leaves behind, for the owner's own bookkeeping
// (descriptor passing, handshakes, wait sets); the owner guards them with
// its read lock.
type Reader struct {
	Buf  []byte // read-ahead buffer; unread bytes are Buf[R:W]
	R, W int
	EOF  bool  // the source reported the end of the stream
	Dead error // sticky: the stream can no longer be read

	// Nonblock makes reads return ErrWouldBlock instead of waiting.
	Nonblock bool

	// The message being received: MsgLen is its length once the header
	// has been consumed (-1 before), Msg the payload gathered so far when
	// it is gathered outside Buf (after an interrupted receive, or by
	// Advance or a staging ReadMessage).
	MsgLen int64
	Msg    []byte

	// Have is how much of the message being received was gathered
	// outside Buf when the last read into Buf was made.
	Have int64

	grow bool // the last read filled Buf: enlarge it before the next
	hdr  Header
	src  Source
}

// Init readies r to read frames with headers h from src.
func (r *Reader) Init(h Header, src Source) {
	r.hdr, r.src, r.MsgLen = h, src, -1
}

// Preload puts bytes read before the Reader existed at the head of the
// stream; eof: the stream ended after them.
func (r *Reader) Preload(b []byte, eof bool) {
	if len(b) > 0 {
		r.Buf = make([]byte, max(firstBufSize, len(b)))
		r.R, r.W = 0, copy(r.Buf, b)
	}
	r.EOF = eof
}

// Kill marks the stream unreadable with err and returns it.
func (r *Reader) Kill(err error) error {
	r.Dead = err
	r.Msg = nil
	return err
}

// ReadMessage reads the next message. A message longer than max fails
// with the Header's TooLong error. When dst is non-nil and the message fits
// in it, the payload lands in dst and into is true; otherwise msg is a new
// slice. With stage set, the message is only made complete in the Reader,
// for a later ReadMessage to take without reading. A failed read goes
// through the Source's Fail; what was read before it stays in the Reader.
func (r *Reader) ReadMessage(ctx context.Context, max int64, dst []byte, stage bool) (msg []byte, into bool, err error) {
	if r.Dead != nil {
		return nil, false, r.Dead
	}

	// The header.
	for r.MsgLen < 0 {
		n, hlen, err := r.hdr.Parse(r.Buf[r.R:r.W])
		if err != nil {
			return nil, false, r.Kill(err)
		}
		if hlen > 0 {
			r.R += hlen
			if n > max {
				return nil, false, r.Kill(r.hdr.TooLong(n, max))
			}
			r.MsgLen = n
			r.src.HeaderDone()
			break
		}
		if r.EOF {
			if r.R == r.W {
				return nil, false, io.EOF
			}
			return nil, false, r.Kill(io.ErrUnexpectedEOF)
		}
		if err := r.Fill(); err != nil {
			return nil, false, r.src.Fail(ctx, err)
		}
	}
	n := r.MsgLen
	if n > max {
		// Staged under a larger limit.
		return nil, false, r.Kill(r.hdr.TooLong(n, max))
	}

	// The whole payload is already buffered.
	if r.Msg == nil && int64(r.W-r.R) >= n {
		if stage {
			return nil, false, nil
		}
		p := r.Buf[r.R : r.R+int(n)]
		r.R += int(n)
		r.MsgLen = -1
		if dst != nil && int64(len(dst)) >= n {
			copy(dst, p)
			return dst[:n], true, nil
		}
		return append([]byte(nil), p...), false, nil
	}

	// Gather the payload: straight into dst when it fits and nothing was
	// gathered before, else into r.Msg, grown as bytes arrive.
	var got []byte
	direct := !stage && r.Msg == nil && dst != nil && int64(len(dst)) >= n
	if direct {
		got = dst[:0:n]
	} else {
		got = r.Msg
		if got == nil {
			got = make([]byte, 0, min(n, int64(firstChunk)+int64(r.W-r.R)))
		}
	}
	for int64(len(got)) < n {
		if r.R < r.W {
			k := min(int64(r.W-r.R), n-int64(len(got)))
			if !direct && int64(cap(got)-len(got)) < k {
				got = grow(got, k, n)
			}
			got = append(got, r.Buf[r.R:r.R+int(k)]...)
			r.R += int(k)
			continue
		}
		if r.EOF {
			r.Msg = nil
			return nil, false, r.Kill(io.ErrUnexpectedEOF)
		}
		var err error
		if rest := n - int64(len(got)); rest >= ReadBufSize {
			// Large remainder: read straight into the destination.
			if !direct && cap(got) == len(got) {
				got = grow(got, min(rest, firstChunk), n)
			}
			var k int
			k, err = r.src.Read(got[len(got):cap(got)])
			got = got[:len(got)+k]
			r.src.AfterRead(true)
			if err == io.EOF {
				r.EOF = true
				err = nil
			}
		} else {
			r.Have = int64(len(got))
			err = r.Fill()
		}
		if err != nil {
			if direct {
				got = append([]byte(nil), got...)
			}
			r.Msg = got
			return nil, false, r.src.Fail(ctx, err)
		}
	}
	if stage {
		r.Msg = got
		return nil, false, nil
	}
	r.Msg = nil
	r.MsgLen = -1
	if direct {
		return got, true, nil
	}
	if dst != nil && len(dst) >= len(got) {
		copy(dst, got)
		return dst[:len(got)], true, nil
	}
	return got, false, nil
}

// grow returns b with room for at least k more bytes, never more than n in
// all, at most doubling what has arrived.
func grow(b []byte, k, n int64) []byte {
	want := max(int64(len(b))+k, 2*int64(cap(b)))
	want = min(want, n)
	nb := make([]byte, len(b), want)
	copy(nb, b)
	return nb
}

// space prepares the read-ahead buffer for more bytes at Buf[W:].
func (r *Reader) space() {
	if r.Buf == nil {
		r.Buf = make([]byte, firstBufSize)
	}
	if r.grow {
		nb := make([]byte, min(4*len(r.Buf), ReadBufSize))
		r.W = copy(nb, r.Buf[r.R:r.W])
		r.R, r.Buf, r.grow = 0, nb, false
	}
	if r.R == r.W {
		r.R, r.W = 0, 0
	} else if r.R > 0 && len(r.Buf)-r.W < r.hdr.Len() {
		r.W = copy(r.Buf, r.Buf[r.R:r.W])
		r.R = 0
	}
}

// Fill reads more bytes into the read-ahead buffer, waiting until some
// arrive (unless Nonblock is set). The end of the stream sets EOF and is
// no error.
func (r *Reader) Fill() error {
	r.space()
	if r.W == len(r.Buf) {
		return nil // full: the caller consumes before reading more
	}
	k, err := r.src.Read(r.Buf[r.W:])
	r.W += k
	r.src.AfterRead(false)
	if r.W == len(r.Buf) && len(r.Buf) < ReadBufSize {
		r.grow = true
	}
	if err == io.EOF {
		r.EOF = true
		return nil
	}
	if k > 0 && !isTimeout(err) && err != ErrWouldBlock {
		// Keep the bytes; a lasting error shows again on the next read.
		return nil
	}
	return err
}

// TryFill reads whatever bytes are available into the read-ahead buffer
// without waiting.
func (r *Reader) TryFill() error {
	r.Nonblock = true
	err := r.Fill()
	r.Nonblock = false
	if err == ErrWouldBlock {
		return nil
	}
	return err
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// Ready reports whether a ReadMessage with limit max would return at once:
// a whole message is buffered or gathered, or the stream is at its end or
// failed, or the next header is corrupt or announces more than max bytes.
func (r *Reader) Ready(max int64) bool {
	if r.Dead != nil || r.EOF {
		return true
	}
	buffered := int64(r.W - r.R)
	if r.MsgLen >= 0 {
		return int64(len(r.Msg))+buffered >= r.MsgLen
	}
	n, hlen, err := r.hdr.Parse(r.Buf[r.R:r.W])
	if err != nil {
		return true
	}
	return hlen > 0 && (n > max || buffered-int64(hlen) >= n)
}

// Buffered reports whether a whole message sits in the read-ahead buffer
// (none gathered outside it), so that receiving it reads nothing.
func (r *Reader) Buffered() bool {
	if r.Dead != nil || r.Msg != nil {
		return false
	}
	avail := int64(r.W - r.R)
	if r.MsgLen >= 0 {
		return avail >= r.MsgLen
	}
	n, hlen, err := r.hdr.Parse(r.Buf[r.R:r.W])
	return err == nil && hlen > 0 && avail-int64(hlen) >= n
}

// Advance reads, without waiting, what has arrived towards the next whole
// message, and reports whether a ReadMessage with limit max would now
// return at once. The bytes stay in the Reader exactly as an interrupted
// ReadMessage would leave them, so framing is kept.
func (r *Reader) Advance(max int64) bool {
	read := 0
	for {
		if r.Ready(max) {
			return true
		}
		if r.MsgLen < 0 {
			n, hlen, _ := r.hdr.Parse(r.Buf[r.R:r.W])
			if hlen > 0 {
				r.R += hlen
				r.MsgLen = n
				r.src.HeaderDone()
				continue
			}
		} else if need := r.MsgLen - int64(len(r.Msg)); need > ReadBufSize/2 && r.R < r.W {
			// A large message: gather it outside the read-ahead buffer,
			// as a receive does, growing only as bytes arrive.
			k := min(int64(r.W-r.R), need)
			if r.Msg == nil {
				r.Msg = make([]byte, 0, min(r.MsgLen, int64(firstChunk)+int64(r.W-r.R)))
			}
			if int64(cap(r.Msg)-len(r.Msg)) < k {
				r.Msg = grow(r.Msg, k, r.MsgLen)
			}
			r.Msg = append(r.Msg, r.Buf[r.R:r.R+int(k)]...)
			r.R += int(k)
			continue
		}
		if read >= advanceBudget {
			return false
		}
		before := r.W - r.R
		r.Have = int64(len(r.Msg))
		if err := r.TryFill(); err != nil {
			return true // the receive reports it
		}
		got := r.W - r.R - before
		if got <= 0 && !r.EOF {
			return false // nothing more has arrived
		}
		read += got
	}
}
