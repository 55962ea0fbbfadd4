//go:build !plan9

package platform

import "syscall"

// The system errors that portable code tests for, as error values so that
// systems without them (Plan 9) can give values that match nothing.
var (
	EAGAIN        error = syscall.EAGAIN
	ECONNRESET    error = syscall.ECONNRESET
	ECONNABORTED  error = syscall.ECONNABORTED
	ECONNREFUSED  error = syscall.ECONNREFUSED
	EPIPE         error = syscall.EPIPE
	EADDRNOTAVAIL error = syscall.EADDRNOTAVAIL
)
