package ductworks

import (
	"encoding/binary"
	"fmt"

	"github.com/mpconn/mpconn"
)

// header is ductworks' frame header: MagicByte, then the payload length
// as 4 bytes big-endian.
type header struct{}

// Parse decodes a header at the start of b. A wrong first byte fails at
// once, without waiting for the rest of the header.
func (header) Parse(b []byte) (n int64, hlen int, err error) {
	if len(b) == 0 {
		return 0, 0, nil
	}
	if b[0] != MagicByte {
		return 0, 0, &mpconn.ProtocolError{Msg: fmt.Sprintf("invalid magic byte: expected %02x, got %02x", MagicByte, b[0])}
	}
	if len(b) < HeaderLen {
		return 0, 0, nil
	}
	return int64(binary.BigEndian.Uint32(b[1:])), HeaderLen, nil
}

// Put writes the header of an n-byte payload (at most MaxLen) into b.
func (header) Put(b []byte, n int64) int {
	putHeader(b, int(n))
	return HeaderLen
}

func (header) Len() int { return HeaderLen }

func (header) TooLong(n, max int64) error { return &mpconn.MessageTooLongError{Len: n, Max: max} }

// putHeader writes the frame header for an n-byte payload.
func putHeader(b []byte, n int) {
	b[0] = MagicByte
	binary.BigEndian.PutUint32(b[1:], uint32(n))
}
