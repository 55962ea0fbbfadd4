package mpconn

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/mpconn/mpconn/internal/msgio"
)

// Framing, as CPython's multiprocessing.connection does it on sockets and
// POSIX pipes: a 4-byte big-endian signed length, then the payload. A
// payload longer than math.MaxInt32 bytes is announced by the escape value
// -1 followed by an 8-byte big-endian unsigned length.
const (
	shortHeaderLen = 4
	longHeaderLen  = 12
	escapeLen      = -1
	// maxShortLen is the longest payload that gets a 4-byte header.
	maxShortLen = math.MaxInt32
	// maxMessageLen is the longest message a receive can return: what a
	// slice can hold (2 GiB less one byte on 32-bit systems).
	maxMessageLen = math.MaxInt
	// coalesceMax is the largest payload written in one write together
	// with its header; CPython uses the same limit (bpo-20540).
	coalesceMax = msgio.CoalesceMax
)

// cpythonHeader is CPython's framing for the shared reader and writer.
type cpythonHeader struct{}

func (cpythonHeader) Parse(b []byte) (int64, int, error) { return parseHeader(b) }
func (cpythonHeader) Put(b []byte, n int64) int          { return putHeader(b, n) }
func (cpythonHeader) Len() int                           { return longHeaderLen }
func (cpythonHeader) TooLong(n, max int64) error {
	return &MessageTooLongError{Len: n, Max: max}
}

// putHeader writes the header for an n-byte payload into b (at least 12
// bytes long) and returns its length.
func putHeader(b []byte, n int64) int {
	if n <= maxShortLen {
		binary.BigEndian.PutUint32(b, uint32(n))
		return shortHeaderLen
	}
	binary.BigEndian.PutUint32(b, uint32(0xffffffff))
	binary.BigEndian.PutUint64(b[4:], uint64(n))
	return longHeaderLen
}

// parseHeader decodes a header at the start of b. It returns the payload
// length and the header length, or hlen 0 when b holds too few bytes yet.
// A negative length other than the escape is a protocol error.
func parseHeader(b []byte) (n int64, hlen int, err error) {
	if len(b) < shortHeaderLen {
		return 0, 0, nil
	}
	v := int32(binary.BigEndian.Uint32(b))
	switch {
	case v >= 0:
		return int64(v), shortHeaderLen, nil
	case v == escapeLen:
		if len(b) < longHeaderLen {
			return 0, 0, nil
		}
		u := binary.BigEndian.Uint64(b[4:])
		if u > math.MaxInt64 {
			return 0, 0, &ProtocolError{Msg: "message length over 2^63-1 bytes"}
		}
		return int64(u), longHeaderLen, nil
	default:
		return 0, 0, &ProtocolError{Msg: "negative message length " + strconv.Itoa(int(v))}
	}
}
