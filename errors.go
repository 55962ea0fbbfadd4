package mpconn

import (
	"errors"
	"fmt"
)

// ErrWriteOnly is returned by receive and poll calls on a Conn that cannot
// read: the write end of a one-way pipe, or a Conn whose read side was
// given up after a [*MessageTooLongError] or a [*ProtocolError].
var ErrWriteOnly = errors.New("mpconn: connection is write-only")

// ErrReadOnly is returned by send calls on the read end of a one-way pipe.
var ErrReadOnly = errors.New("mpconn: connection is read-only")

// BufferTooShortError is returned by [Conn.RecvBytesInto] when the message
// does not fit in the buffer after the offset. Msg holds the whole
// message: it has been consumed, and the stream stays in step, so the next
// receive returns the next message (CPython's BufferTooShort).
type BufferTooShortError struct {
	Msg []byte // the complete message
}

func (e *BufferTooShortError) Error() string {
	return fmt.Sprintf("mpconn: buffer too short for a %d-byte message", len(e.Msg))
}

// MessageTooLongError reports a message whose header claims more bytes
// than the receiver allows. The payload is not read, so the stream cannot
// be resynchronised: the Conn is no longer readable afterwards (as in
// CPython, whose error text is "bad message length").
type MessageTooLongError struct {
	Len int64 // length claimed by the header
	Max int64 // the limit in force
}

func (e *MessageTooLongError) Error() string {
	return fmt.Sprintf("mpconn: bad message length: %d bytes exceeds the limit of %d", e.Len, e.Max)
}

// ProtocolError reports bytes on the wire that break the protocol, such as
// a negative length header other than the -1 escape. The Conn is no longer
// readable afterwards.
type ProtocolError struct {
	Msg string
}

func (e *ProtocolError) Error() string { return "mpconn: protocol error: " + e.Msg }
