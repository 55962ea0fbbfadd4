//go:build unix

package mpconn

import (
	"fmt"
	"net"
	"os"

	"github.com/mpconn/mpconn/internal/platform"
	"golang.org/x/sys/unix"
)

// The Unix pipes: a socketpair for a duplex Pipe, an OS pipe for a
// one-way one, and Conns over inherited descriptors.

func newPipe(opts *ConnOptions) (*Conn, *Conn, error) {
	fds, err := platform.Socketpair()
	if err != nil {
		return nil, nil, err
	}
	c1, err := socketConn(fds[0], "pipe", opts)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	c2, err := socketConn(fds[1], "pipe", opts)
	if err != nil {
		c1.Close()
		return nil, nil, err
	}
	return c1, c2, nil
}

func newPipeOneWay(opts *ConnOptions) (r, w *Conn, err error) {
	p, err := platform.Pipe()
	if err != nil {
		return nil, nil, err
	}
	rf := os.NewFile(uintptr(p[0]), "|0")
	wf := os.NewFile(uintptr(p[1]), "|1")
	return newConn(rf, "pipe", true, false, opts), newConn(wf, "pipe", false, true, opts), nil
}

// socketConn wraps a connected, non-blocking stream socket; it takes
// ownership of fd.
func socketConn(fd int, network string, opts *ConnOptions) (*Conn, error) {
	f := os.NewFile(uintptr(fd), fmt.Sprintf("socket:%d", fd))
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	c := newConn(nc, network, true, true, opts)
	if network == "pipe" {
		c.laddr, c.raddr = nil, nil
	}
	return c, nil
}

func fileConn(f *os.File, opts *ConnOptions) (*Conn, error) {
	raw, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	var fl int
	var cerr error
	err = raw.Control(func(fd uintptr) {
		if cerr = unix.Fstat(int(fd), &st); cerr != nil {
			return
		}
		fl, cerr = unix.FcntlInt(fd, unix.F_GETFL, 0)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("mpconn: FileConn: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFSOCK {
		nc, err := net.FileConn(f)
		if err != nil {
			return nil, fmt.Errorf("mpconn: FileConn: %w", err)
		}
		return newConn(nc, networkOf(nc), true, true, opts), nil
	}
	var nfd int
	err = raw.Control(func(fd uintptr) {
		nfd, cerr = platform.DupCloexec(fd)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("mpconn: FileConn: dup: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFIFO || st.Mode&unix.S_IFMT == unix.S_IFCHR {
		// Non-blocking, so that the runtime's poller drives it and Close
		// unblocks a pending read.
		if err := unix.SetNonblock(nfd, true); err != nil {
			unix.Close(nfd)
			return nil, fmt.Errorf("mpconn: FileConn: %w", err)
		}
	}
	nf := os.NewFile(uintptr(nfd), f.Name())
	acc := fl & unix.O_ACCMODE
	return newConn(nf, "pipe", acc != unix.O_WRONLY, acc != unix.O_RDONLY, opts), nil
}

func fdConn(fd int, opts *ConnOptions) (*Conn, error) {
	nfd, err := platform.DupCloexec(uintptr(fd))
	if err != nil {
		return nil, fmt.Errorf("mpconn: FDConn: descriptor %d: %w", fd, err)
	}
	f := os.NewFile(uintptr(nfd), fmt.Sprintf("fd:%d", fd))
	defer f.Close()
	return FileConn(f, opts)
}

func (c *Conn) file() (*os.File, error) {
	if c.closed.Load() {
		return nil, c.opError("file", net.ErrClosed)
	}
	if c.raw == nil {
		return nil, c.opError("file", fmt.Errorf("no descriptor"))
	}
	var nfd int
	var cerr error
	err := c.raw.Control(func(fd uintptr) {
		nfd, cerr = platform.DupCloexec(fd)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return nil, c.opError("file", err)
	}
	// A child expects a blocking descriptor (Python's Connection does).
	// The flag belongs to the open file, which the copy shares with this
	// Conn: that is why the Conn should be closed once the child has it.
	if err := unix.SetNonblock(nfd, false); err != nil {
		unix.Close(nfd)
		return nil, c.opError("file", err)
	}
	return os.NewFile(uintptr(nfd), fmt.Sprintf("mpconn:%d", nfd)), nil
}
