package msgio

import (
	"io"
	"os"
	"syscall"
	"time"
)

// RawReader makes one non-blocking read through a syscall.RawConn, with a
// read function given once, so that no closure is allocated per call.
type RawReader struct {
	read func(fd uintptr, p []byte) (int, error)
	fn   func(fd uintptr) bool
	p    []byte
	k    int
	err  error
}

// Init sets the function that reads from a descriptor (read, or recvmsg
// where descriptors come along).
func (n *RawReader) Init(read func(fd uintptr, p []byte) (int, error)) {
	n.read = read
	n.fn = func(fd uintptr) bool {
		for {
			n.k, n.err = n.read(fd, n.p)
			if n.err != syscall.EINTR {
				return true
			}
		}
	}
}

// Read reads what raw has available into p, without waiting: nothing is
// ErrWouldBlock, the end of the stream io.EOF.
func (n *RawReader) Read(raw syscall.RawConn, p []byte) (int, error) {
	n.p = p
	err := raw.Read(n.fn)
	k, rerr := n.k, n.err
	n.p, n.err = nil, nil
	switch {
	case err != nil:
		return 0, err
	case isAgain(rerr):
		return 0, ErrWouldBlock
	case rerr != nil:
		return 0, os.NewSyscallError("read", rerr)
	case k == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return k, nil
}

// DeadlineReader is a connection read through deadlines.
type DeadlineReader interface {
	Read(p []byte) (int, error)
	SetReadDeadline(t time.Time) error
}

// ReadShortly is a non-blocking read for a connection without a
// descriptor to poll: a read with a very short deadline. Nothing read is
// ErrWouldBlock.
func ReadShortly(t DeadlineReader, p []byte) (int, error) {
	t.SetReadDeadline(time.Now().Add(time.Millisecond))
	k, err := t.Read(p)
	t.SetReadDeadline(time.Time{})
	if k == 0 && isTimeout(err) {
		err = ErrWouldBlock
	}
	return k, err
}
