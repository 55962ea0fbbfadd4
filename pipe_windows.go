package mpconn

import (
	"os"

	"github.com/mpconn/mpconn/internal/npipe"
)

// Pipe and PipeOneWay on Windows are named pipes in message mode with a
// fresh unique name, as CPython's Pipe() there (internal/npipe).

func newPipe(opts *ConnOptions) (*Conn, *Conn, error) {
	a, b, err := npipe.Pipe(true, nil)
	if err != nil {
		return nil, nil, err
	}
	return pipeConn(a, true, true, opts), pipeConn(b, true, true, opts), nil
}

func newPipeOneWay(opts *ConnOptions) (*Conn, *Conn, error) {
	r, w, err := npipe.Pipe(false, nil)
	if err != nil {
		return nil, nil, err
	}
	return pipeConn(r, true, false, opts), pipeConn(w, false, true, opts), nil
}

// pipeConn makes a Conn of one end of a named pipe.
func pipeConn(pc *npipe.Conn, canRead, canWrite bool, opts *ConnOptions) *Conn {
	return newConn(npipe.NewStream(pc, 0), pipeNetwork, canRead, canWrite, opts)
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
