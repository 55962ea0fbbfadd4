package mpconn

import "os"

// Pipe returns the two ends of a duplex connection, as CPython's
// Pipe(duplex=True) does. Both ends send and receive. On Unix it is a
// socketpair; hand one end to a child process with [Conn.File]. Where the
// system has no such pipe the error wraps [errors.ErrUnsupported].
func Pipe(opts *ConnOptions) (*Conn, *Conn, error) {
	return newPipe(opts)
}

// PipeOneWay returns the two ends of a one-way connection, an OS pipe, as
// CPython's Pipe(duplex=False) does: r only receives and w only sends.
func PipeOneWay(opts *ConnOptions) (r, w *Conn, err error) {
	return newPipeOneWay(opts)
}

// FileConn returns a Conn over a copy of f's descriptor, which may be a
// connected socket, a pipe or FIFO end, or a character device; f stays
// the caller's to close. This is how a child process picks up a Pipe end
// it inherited. A pipe end opened read-only gives a Conn that only
// receives, and one opened write-only a Conn that only sends.
func FileConn(f *os.File, opts *ConnOptions) (*Conn, error) {
	return fileConn(f, opts)
}

// FDConn is [FileConn] for a descriptor number, such as one a child
// process inherited. The descriptor stays the caller's: the Conn uses a
// copy.
func FDConn(fd int, opts *ConnOptions) (*Conn, error) {
	return fdConn(fd, opts)
}

// File returns a copy of the Conn's descriptor as an *os.File in blocking
// mode, for handing to a child process (exec.Cmd.ExtraFiles). A Python
// child wraps it with multiprocessing.connection.Connection(fd). The copy
// shares the open file with the Conn, so the Conn's descriptor becomes
// blocking too and its calls can no longer be cancelled: close the Conn in
// the parent once the child has the file, so that the child alone holds
// this end.
func (c *Conn) File() (*os.File, error) {
	return c.file()
}
