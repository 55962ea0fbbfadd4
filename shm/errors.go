package shm

import (
	"errors"
	"fmt"
)

// ErrUnsupported is returned where this platform has no implementation
// (named blocks outside Linux, memfd blocks outside Linux). It wraps
// [errors.ErrUnsupported].
var ErrUnsupported = fmt.Errorf("shm: not implemented on this platform: %w", errors.ErrUnsupported)

// ErrClosed is returned by the methods of a closed [Block] or [List].
var ErrClosed = errors.New("shm: block is closed")

// ErrFault is returned by [Block.Access] when the mapped memory went away
// under the access: the file behind it was truncated (by a peer) and the
// page no longer exists. Without Access, such an access kills the process
// with SIGBUS.
var ErrFault = errors.New("shm: memory fault: the shared file shrank under its mapping")
