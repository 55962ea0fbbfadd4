package mpconn

import "github.com/mpconn/mpconn/internal/msgio"

// readyChecker is a transport without a descriptor that can tell, without
// waiting, whether a Read would return at once: a named pipe on Windows
// (npipe.Stream). Readable may read the start of a message, which the
// next Read then returns; it never loses or splits one.
type readyChecker interface {
	Readable() (bool, error)
}

// readNoFD is a non-blocking read of a transport that has no descriptor
// to read without waiting (rd.Nonblock is set): nothing to read is
// ErrWouldBlock. A transport that can tell whether a Read would wait is
// read only when it would not; any other (TLS, say) is read with a very
// short deadline.
func (c *Conn) readNoFD(p []byte) (int, error) {
	rc, ok := c.t.(readyChecker)
	if !ok {
		return msgio.ReadShortly(c.t, p)
	}
	ready, err := rc.Readable()
	if err != nil {
		return 0, err
	}
	if !ready {
		return 0, ErrWouldBlock
	}
	return c.t.Read(p)
}
