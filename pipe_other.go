//go:build !unix && !windows

package mpconn

import "os"

// This system has no descriptor-based pipes (Windows named pipes are a
// backend of their own): the pipe calls report it.

func newPipe(*ConnOptions) (*Conn, *Conn, error) {
	return nil, nil, unsupported("Pipe")
}

func newPipeOneWay(*ConnOptions) (*Conn, *Conn, error) {
	return nil, nil, unsupported("PipeOneWay")
}

func fileConn(*os.File, *ConnOptions) (*Conn, error) {
	return nil, unsupported("FileConn")
}

func fdConn(int, *ConnOptions) (*Conn, error) {
	return nil, unsupported("FDConn")
}

func (c *Conn) file() (*os.File, error) {
	return nil, c.opError("file", unsupported("Conn.File"))
}

func socketConn(fd int, network string, opts *ConnOptions) (*Conn, error) {
	return nil, unsupported("a Conn over a socket descriptor")
}
