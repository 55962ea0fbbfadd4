package mpconn

import (
	"net"
	"os"
)

// handoff is a connection whose handshake ran on its raw descriptor, as
// the Conn made from it takes it over: everything the handshake leaves
// behind, so that the Conn goes on exactly where it stopped.
type handoff struct {
	fd           int    // the connected socket, non-blocking
	network      string // "unix" or "tcp"
	laddr, raddr net.Addr

	ahead   []byte // bytes read past the handshake, not consumed yet
	eof     bool   // the peer closed the stream after them
	pending []byte // output not written yet: it goes out before any message

	// Descriptors received with the bytes, at stream offsets counted
	// from the end of ahead (the bytes of ahead are at offsets
	// -len(ahead) to -1).
	files []fdBatch
}

// conn makes the Conn that takes the connection over, owning everything
// in h.
func (h handoff) conn(opts *ConnOptions) *Conn {
	t := &sockFile{File: os.NewFile(uintptr(h.fd), "socket"), network: h.network, laddr: h.laddr, raddr: h.raddr}
	c := newConn(t, h.network, true, true, opts)
	c.rd.Preload(h.ahead, h.eof)
	c.wr.Pending = h.pending
	if len(h.files) > 0 {
		if u, ok := c.t.(*unixTransport); ok {
			u.adopt(c, h.files)
		} else {
			for _, b := range h.files {
				closeFDs(b.fds)
			}
		}
	}
	return c
}
