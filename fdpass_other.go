//go:build !unix && !windows

package mpconn

import (
	"context"
	"os"
)

// Without Unix sockets, no Conn passes descriptors.

func (c *Conn) sendFiles(context.Context, []*os.File) error {
	return c.opError("sendfile", unsupported("passing descriptors"))
}

func (c *Conn) recvFiles(context.Context) ([]*os.File, error) {
	return nil, c.opError("recvfile", unsupported("passing descriptors"))
}
