//go:build !unix

package platform

import (
	"errors"
	"fmt"
	"runtime"
)

// These systems have no Unix socketpairs or descriptor pipes of this
// kind: the calls report it.

func unsupported(what string) error {
	return fmt.Errorf("%s on %s: %w", what, runtime.GOOS, errors.ErrUnsupported)
}

// Socket is not available on this system.
func Socket(family, typ, proto int) (int, error) { return -1, unsupported("socket") }

// Socketpair is not available on this system.
func Socketpair() ([2]int, error) { return [2]int{-1, -1}, unsupported("socketpair") }

// BlockingSocketpair is not available on this system.
func BlockingSocketpair() ([2]int, error) { return [2]int{-1, -1}, unsupported("socketpair") }

// Pipe is not available on this system.
func Pipe() ([2]int, error) { return [2]int{-1, -1}, unsupported("pipe") }
