package msgio

import "errors"

// MaxHeaderLen is the longest header a [Header] may write.
const MaxHeaderLen = 16

// CoalesceMax is the largest payload written together with its header in
// one write; a larger one goes out with a vectored write, uncopied.
// CPython uses the same limit (bpo-20540).
const CoalesceMax = 16384

// ErrWouldBlock is what a [Source] returns from a non-blocking read that
// found nothing to read.
var ErrWouldBlock = errors.New("mpconn: operation would block")

// Header is one wire's frame header.
type Header interface {
	// Parse decodes a header at the start of b: the payload length n
	// and the header's length hlen, or hlen 0 when b holds only part of
	// a header yet. An error means the stream is not this wire's.
	Parse(b []byte) (n int64, hlen int, err error)

	// Put writes the header of an n-byte payload into b, which is
	// MaxHeaderLen bytes long, and returns its length.
	Put(b []byte, n int64) int

	// Len is the length of the longest header Parse accepts.
	Len() int

	// TooLong is the error for a header announcing n bytes, more than
	// the receive's limit max.
	TooLong(n, max int64) error
}
