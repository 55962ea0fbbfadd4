//go:build unix

package mpconn

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/mpconn/mpconn/internal/platform"
	"golang.org/x/sys/unix"
)

// The transport of a Conn over a Unix stream socket, whose reads keep the
// descriptors that come along. The kernel discards ancillary data that
// arrives during a read without a control buffer, closing the
// descriptors. A Conn's read-ahead may well read a message and the handle
// byte behind it in one go, so on a Unix socket every read of the Conn is
// a recvmsg with a control buffer: the transport (unixTransport) sets
// aside the descriptors that arrive, each tagged with the stream offset of
// the byte it came with, for the Conn to judge whether the application
// can still claim them (fileKeeper) and for RecvFiles to take when the
// receive reaches that byte.

// maxSendFDs is the most descriptors one SendFiles may carry: Linux's
// SCM_MAX_FD.
const maxSendFDs = 253

// oobSize fits the largest SCM_RIGHTS message (SCM_MAX_FD descriptors)
// and a credentials message.
var oobSize = unix.CmsgSpace(maxSendFDs*4) + unix.CmsgSpace(platform.CredSize)

// fdBatch is the descriptors that came with one byte of the stream.
type fdBatch struct {
	pos       int64 // stream offset of the byte
	fds       []int
	truncated bool // the kernel dropped some (MSG_CTRUNC)
}

// unixTransport is the transport of a Conn over a Unix stream socket (a
// net.UnixConn, or a sockFile) whose reads keep the descriptors that come
// along.
type unixTransport struct {
	net.Conn
	raw syscall.RawConn

	// Read side, used with the Conn's read lock held.
	total  int64 // bytes read from the socket so far
	oob    []byte
	buf    []byte // where the next recvmsg reads (setBuf)
	n      int
	rerr   error
	readFn func(fd uintptr) bool

	refuse bool // ConnOptions.RefuseFiles

	// fresh is the batch that came with the last read, until the Conn
	// judges it (afterRead).
	fresh    fdBatch
	hasFresh bool

	mu      sync.Mutex
	closed  bool
	queue   []fdBatch    // kept batches, by stream offset
	queued  int          // descriptors in queue
	batches atomic.Int32 // len(queue), read without mu by afterRead
}

// fdPassingTransport gives t the descriptor-keeping reads of a Unix
// socket when it is one; any other transport is returned as it is.
func fdPassingTransport(t transport, refuse bool) transport {
	var nc net.Conn
	switch c := t.(type) {
	case *net.UnixConn:
		nc = c
	case *sockFile:
		if c.network != "unix" {
			return t
		}
		nc = c
	default:
		return t
	}
	raw, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return t
	}
	u := &unixTransport{Conn: nc, raw: raw, refuse: refuse}
	u.readFn = u.recvLoop
	return u
}

// SyscallConn returns the socket's raw connection.
func (u *unixTransport) SyscallConn() (syscall.RawConn, error) { return u.raw, nil }

// Read reads like net.UnixConn.Read, with recvmsg, queueing descriptors.
// It hides the Read of the embedded net.Conn.
func (u *unixTransport) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	u.setBuf(p)
	err := u.raw.Read(u.readFn)
	u.clearBuf()
	if err != nil {
		return 0, err
	}
	if u.rerr != nil {
		return 0, &net.OpError{Op: "read", Net: "unix", Source: u.LocalAddr(), Addr: u.RemoteAddr(),
			Err: os.NewSyscallError("recvmsg", u.rerr)}
	}
	if u.n == 0 {
		return 0, io.EOF
	}
	return u.n, nil
}

func (u *unixTransport) recvLoop(fd uintptr) bool {
	for {
		u.n, u.rerr = u.recv(int(fd))
		switch u.rerr {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait until readable
		}
		return true
	}
}

// readNow is one non-blocking read.
func (u *unixTransport) readNow(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	u.setBuf(p)
	defer u.clearBuf()
	return u.recv(fd)
}

func (u *unixTransport) setBuf(p []byte) {
	if u.oob == nil {
		u.oob = make([]byte, oobSize)
	}
	u.buf = p
}

func (u *unixTransport) clearBuf() { u.buf = nil }

// recv makes one recvmsg call into the buffer set by setBuf, and queues
// the descriptors that came.
func (u *unixTransport) recv(fd int) (int, error) {
	n, oobn, flags, err := platform.RecvmsgCloexec(fd, u.buf, u.oob)
	if err != nil {
		return 0, err
	}
	if oobn > 0 || flags&unix.MSG_CTRUNC != 0 {
		u.collect(n, u.oob[:oobn], flags&unix.MSG_CTRUNC != 0)
	}
	u.total += int64(n)
	return n, nil
}

// collect sets aside the descriptors in a control message that came with
// the last of n bytes just read (the kernel ends a read after the bytes
// that carry descriptors), for the Conn to judge (afterRead). A truncated
// control message with no descriptor left is remembered the same way, so
// that RecvFile can report the loss, and judged like any other batch.
func (u *unixTransport) collect(n int, oob []byte, truncated bool) {
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob); err == nil {
		for i := range msgs {
			if msgs[i].Header.Level == unix.SOL_SOCKET && msgs[i].Header.Type == unix.SCM_RIGHTS {
				got, _ := unix.ParseUnixRights(&msgs[i])
				fds = append(fds, got...)
			}
		}
	}
	if u.hasFresh {
		// Not judged (cannot happen: every read is followed by afterRead).
		closeFDs(u.fresh.fds)
		u.hasFresh = false
	}
	if u.refuse || n == 0 {
		closeFDs(fds)
		return
	}
	if len(fds) == 0 && !truncated {
		return
	}
	u.fresh = fdBatch{pos: u.total + int64(n) - 1, fds: fds, truncated: truncated}
	u.hasFresh = true
}

// Close closes the socket and every descriptor received and not taken.
func (u *unixTransport) Close() error {
	u.mu.Lock()
	u.closed = true
	for _, b := range u.queue {
		closeFDs(b.fds)
	}
	u.queue, u.queued = nil, 0
	u.batches.Store(0)
	u.mu.Unlock()
	return u.Conn.Close()
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// readNow reads what is available without blocking, for non-blocking receives: with
// recvmsg on a Unix socket, so that descriptors are kept, else with read.
func (c *Conn) readNow(fd uintptr, p []byte) (int, error) {
	if u, ok := c.t.(*unixTransport); ok {
		return u.readNow(int(fd), p)
	}
	return syscall.Read(int(fd), p)
}
