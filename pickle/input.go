package pickle

import (
	"bytes"
	"io"
)

// input is the decoder's source: a byte slice, refilled from a reader when
// one is set. Slices it returns stay valid only until the next read.
type input struct {
	r    io.Reader
	buf  []byte
	pos  int
	base int64 // stream offset of buf[0]
	err  error // sticky error from r
}

func (in *input) offset() int64 { return in.base + int64(in.pos) }

// avail returns the number of buffered, unread bytes.
func (in *input) avail() int { return len(in.buf) - in.pos }

// need makes at least n bytes available, reading from r as data arrives:
// the buffer grows only as it fills, so a length field read off the wire
// never allocates more than about twice the bytes actually present.
func (in *input) need(n int) error {
	if len(in.buf)-in.pos >= n {
		return nil
	}
	if in.r == nil {
		return io.ErrUnexpectedEOF
	}
	if in.err != nil {
		return in.readErr()
	}
	if in.pos > 0 {
		m := copy(in.buf, in.buf[in.pos:])
		in.buf = in.buf[:m]
		in.base += int64(in.pos)
		in.pos = 0
	}
	zero := 0
	for len(in.buf) < n {
		if len(in.buf) == cap(in.buf) {
			c := 2 * cap(in.buf)
			if c < 4096 {
				c = 4096
			}
			nb := make([]byte, len(in.buf), c)
			copy(nb, in.buf)
			in.buf = nb
		}
		m, err := in.r.Read(in.buf[len(in.buf):cap(in.buf)])
		in.buf = in.buf[:len(in.buf)+m]
		if err != nil {
			in.err = err
			if len(in.buf) < n {
				return in.readErr()
			}
			break
		}
		if m == 0 {
			if zero++; zero > 100 {
				in.err = io.ErrNoProgress
				return in.err
			}
		}
	}
	return nil
}

func (in *input) readErr() error {
	if in.err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return in.err
}

// next returns the next n bytes.
func (in *input) next(n int) ([]byte, error) {
	if err := in.need(n); err != nil {
		return nil, err
	}
	b := in.buf[in.pos : in.pos+n]
	in.pos += n
	return b, nil
}

// line returns the bytes up to the next newline, without it.
func (in *input) line() ([]byte, error) {
	scanned := 0 // bytes after pos known to hold no newline
	for {
		if i := bytes.IndexByte(in.buf[in.pos+scanned:], '\n'); i >= 0 {
			i += scanned
			b := in.buf[in.pos : in.pos+i]
			in.pos += i + 1
			return b, nil
		}
		scanned = in.avail()
		if err := in.need(scanned + 1); err != nil {
			return nil, err
		}
	}
}

// atEOF reports whether the input is cleanly exhausted (no byte left).
func (in *input) atEOF() bool {
	if in.avail() > 0 {
		return false
	}
	return in.need(1) != nil && in.avail() == 0
}

// shrink releases a large read buffer once its content has been consumed,
// so that one big message does not pin its buffer.
func (in *input) shrink() {
	if in.r == nil || cap(in.buf) <= 1<<20 || in.avail() > cap(in.buf)/4 {
		return
	}
	b := make([]byte, in.avail(), max(in.avail(), 4096))
	copy(b, in.buf[in.pos:])
	in.base += int64(in.pos)
	in.buf, in.pos = b, 0
}
