//go:build !unix

package mpconn

import "syscall"

// Without Unix sockets, no transport carries descriptors.

func fdPassingTransport(t transport, refuse bool) transport { return t }

func (c *Conn) readNow(fd int, p []byte) (int, error) { return syscall.Read(fd, p) }
