package msgio

import (
	"io"
	"net"
)

// Writer is the send side of a framed connection, used with the owner's
// write lock held.
type Writer struct {
	Buf     []byte             // header and small payload, written in one call
	Hdr     [MaxHeaderLen]byte // a header on its own
	Pending []byte             // the unsent rest of an interrupted frame

	vec  [2][]byte   // header and payload for a vectored write
	bufs net.Buffers // view of vec handed to WriteTo
	hdr  Header
	dst  io.Writer
}

// Init readies w to write frames with headers h to dst.
func (w *Writer) Init(h Header, dst io.Writer) {
	w.hdr, w.dst = h, dst
}

// Frame appends p's header and p to b.
func (w *Writer) Frame(b, p []byte) []byte {
	var hdr [MaxHeaderLen]byte
	h := w.hdr.Put(hdr[:], int64(len(p)))
	return append(append(b, hdr[:h]...), p...)
}

// WritePending writes the rest of an interrupted frame, if any. On
// failure, what was not written stays pending.
func (w *Writer) WritePending() error {
	if w.Pending == nil {
		return nil
	}
	n, err := w.dst.Write(w.Pending)
	if err != nil {
		w.Pending = w.Pending[n:]
		return err
	}
	w.Pending = nil
	return nil
}

// WriteFrame writes p's header and p, with nothing pending: a payload of
// up to CoalesceMax bytes in one write with its header, a larger one with
// a vectored write, uncopied. When the write fails after n of the total
// bytes of the frame went out, the rest is kept in Pending (p is copied).
func (w *Writer) WriteFrame(p []byte) (n, total int, err error) {
	if len(p) <= CoalesceMax {
		if need := MaxHeaderLen + len(p); cap(w.Buf) < need {
			// Grown to fit, never past CoalesceMax and a header.
			w.Buf = make([]byte, 0, min(max(need, 2*cap(w.Buf), 256), MaxHeaderLen+CoalesceMax))
		}
		h := w.hdr.Put(w.Buf[:MaxHeaderLen], int64(len(p)))
		b := append(w.Buf[:h], p...)
		n, err := w.dst.Write(b)
		if err != nil && n > 0 {
			w.Pending = append([]byte(nil), b[n:]...)
		}
		return n, len(b), err
	}
	h := w.hdr.Put(w.Hdr[:], int64(len(p)))
	w.vec[0], w.vec[1] = w.Hdr[:h], p
	w.bufs = w.vec[:]
	n64, err := w.bufs.WriteTo(w.dst)
	w.vec[0], w.vec[1] = nil, nil
	n = int(n64)
	if err != nil && n > 0 {
		if n < h {
			w.Pending = append(append([]byte(nil), w.Hdr[n:h]...), p...)
		} else {
			w.Pending = append([]byte(nil), p[n-h:]...)
		}
	}
	return n, h + len(p), err
}
