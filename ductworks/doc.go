// Package ductworks speaks the wire format of the Python project ductworks
// (its message ducts, ductworks.message_duct), so that a Go program can
// talk to a ductworks program over any stream connection.
//
// A frame is the magic byte 0x54 ('T'), a 4-byte unsigned big-endian
// payload length, and the payload: Python's struct format '!cL'. The
// payload is UTF-8 JSON by default, as in ductworks, so that
// ductworks' default serializer on the other side reads it:
//
//	send("hi")  →  54 00000004 22686922
//
// There is no handshake, authentication or version byte. A [Conn] wraps a
// connected [net.Conn]: dial the address a ductworks parent published
// (for a Unix socket path or a TCP port; a ductworks child retries its
// connect, and [github.com/mpconn/mpconn.DialRetry]'s retry rules suit a Go
// child too), or accept the connection of a ductworks child.
//
// Unlike ductworks itself, a Conn keeps the stream in step when a call is
// cancelled part way through a frame, allocates a payload only as its
// bytes arrive rather than on the word of the length field, bounds the
// message size if asked to, and is safe for concurrent use.
package ductworks
