package msgio

// isAgain reports whether a non-blocking read found nothing to read. Plan 9
// has no non-blocking reads (and no EAGAIN): nothing reaches RawReader there.
func isAgain(err error) bool { return false }
