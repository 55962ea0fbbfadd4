//go:build !unix && !windows

package mpconn

import (
	"context"
	"os"

	"github.com/mpconn/mpconn/internal/platform"
)

// Without Unix sockets, no transport carries descriptors.

func fdPassingTransport(t transport, refuse bool) transport { return t }

func (c *Conn) readNow(fd uintptr, p []byte) (int, error) { return platform.Read(fd, p) }

func (c *Conn) sendFiles(context.Context, []*os.File) error {
	return c.opError("sendfile", unsupported("passing descriptors"))
}

func (c *Conn) recvFiles(context.Context) ([]*os.File, error) {
	return nil, c.opError("recvfile", unsupported("passing descriptors"))
}
