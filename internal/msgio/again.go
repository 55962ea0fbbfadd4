//go:build !plan9

package msgio

import "syscall"

// isAgain reports whether a non-blocking read found nothing to read.
func isAgain(err error) bool { return err == syscall.EAGAIN }
