package npipe

import (
	"errors"
	"fmt"
)

// TooLongError reports a message longer than the receiver allows. The
// rest of the message is left in the pipe, so the Conn is not readable
// afterwards: every later receive returns the same error (as in CPython,
// where the connection stops being readable after "bad message length").
type TooLongError struct {
	Len int64 // the length of the message
	Max int64 // the limit in force
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("npipe: message of %d bytes exceeds the limit of %d", e.Len, e.Max)
}

// ErrMessageTooBig is returned by a send whose message is longer than a
// named pipe can carry in one message: WriteFile takes a 32-bit length, so
// at most [MaxMessage] bytes.
var ErrMessageTooBig = errors.New("npipe: message longer than a named pipe can carry (4 GiB - 1 bytes)")

// MaxMessage is the longest message a named pipe carries.
const MaxMessage = 1<<32 - 1

// HeadSize is how many bytes of a message the first read of a receive
// asks for; a longer message takes a second read for the rest.
const HeadSize = 4096
