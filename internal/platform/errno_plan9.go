package platform

import "errors"

// Plan 9 reports errors as strings and has none of these conditions as a
// value: these match no error the system returns.
var (
	EAGAIN        = errors.New("resource temporarily unavailable")
	ECONNRESET    = errors.New("connection reset by peer")
	ECONNABORTED  = errors.New("connection aborted")
	ECONNREFUSED  = errors.New("connection refused")
	EPIPE         = errors.New("broken pipe")
	EADDRNOTAVAIL = errors.New("address not available")
)
