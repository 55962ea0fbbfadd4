//go:build !unix && !windows

package mpconn

import "github.com/mpconn/mpconn/internal/platform"

// Without Unix sockets, no transport carries descriptors, and a
// non-blocking read is a plain read.

func fdPassingTransport(t transport, refuse bool) transport { return t }

func (c *Conn) readNow(fd uintptr, p []byte) (int, error) { return platform.Read(fd, p) }
