//go:build unix

package mpconn

import (
	"net"
	"os"
)

// sockFile is a connected stream socket used through an *os.File: the
// descriptor joins the runtime's poller as it is, with one system call,
// where net.FileConn would duplicate it and ask the kernel for its type
// and both addresses (the raw handshake knows them).
// It is a net.Conn, so a Conn treats it as any other socket, and over a
// Unix socket it passes descriptors (unixTransport).
type sockFile struct {
	*os.File
	network      string // "unix" or "tcp"
	laddr, raddr net.Addr
}

func (s *sockFile) LocalAddr() net.Addr  { return s.laddr }
func (s *sockFile) RemoteAddr() net.Addr { return s.raddr }

var _ net.Conn = (*sockFile)(nil)
