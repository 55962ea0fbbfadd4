//go:build unix

package mpconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/mpconn/mpconn/internal/msgio"
	"github.com/mpconn/mpconn/internal/platform"
	"golang.org/x/sys/unix"
)

// Passing open files between processes over a Unix socket (SCM_RIGHTS),
// as CPython's multiprocessing.reduction.send_handle and recv_handle do
// it on Unix: one ordinary byte, len(fds) % 256, carries the descriptors
// as ancillary data. The byte is not framed: it sits in the stream between
// messages, and the two sides must agree on when it comes, as they do in
// CPython (which sends a message first, then the handle). CPython 2.7's
// _multiprocessing.sendfd sends one descriptor with an unspecified byte;
// CPython 3 checks that byte, so SendFiles always sets it.
//
// The kernel discards ancillary data that arrives during a read without a
// control buffer, closing the descriptors. A Conn's read-ahead may well
// read a message and the handle byte behind it in one go, so on a Unix
// socket every read of the Conn is a recvmsg with a control buffer: the
// transport (unixTransport) queues the descriptors that arrive, each
// tagged with the stream offset of the byte it came with, and RecvFiles
// takes them when the receive reaches that byte. Only descriptors the
// application can still claim are kept: those that came with a byte where
// a message could begin. Any other (inside a message, or behind a byte
// the receive has consumed) is closed at once, as the kernel closes them
// for a CPython receiver that reads the byte with read(); what is left is
// closed with the Conn. ConnOptions.RefuseFiles closes them all.

// maxSendFDs is the most descriptors one SendFiles may carry: Linux's
// SCM_MAX_FD.
const maxSendFDs = 253

// maxQueuedFDs bounds the descriptors a Conn keeps for RecvFiles. It
// keeps only those that came with a byte where a message could begin (the
// application may claim them there), and only until it reads past that
// byte; a read stops at the byte that carries descriptors, so a batch or
// two wait at most, and past the bound the oldest are closed.
const maxQueuedFDs = 2 * maxSendFDs

// oobSize fits the largest SCM_RIGHTS message (SCM_MAX_FD descriptors)
// and a credentials message.
var oobSize = unix.CmsgSpace(maxSendFDs*4) + unix.CmsgSpace(platform.CredSize)

// errNotUnix is why descriptors cannot travel on other transports.
var errNotUnix = fmt.Errorf("descriptor passing needs a Unix socket: %w", errors.ErrUnsupported)

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

// afterRead keeps the batch that came with the read just made if the
// application can claim it, that is if its byte is where a message could
// begin, and closes it otherwise; it also closes the kept batches the
// receive has gone past. It runs with the Conn's read lock held.
func (u *unixTransport) afterRead(c *Conn, inBody bool) {
	if !u.hasFresh && u.batches.Load() == 0 {
		return
	}
	rd := &c.rd
	// Stream offset of the next unconsumed byte, and of the first byte a
	// message could begin at.
	next := u.total - int64(rd.W-rd.R)
	boundary := next
	if rd.MsgLen >= 0 && !inBody {
		boundary += rd.MsgLen - rd.Have
	} else if inBody {
		boundary = u.total // the read went into the message: nothing before its end
	}
	keep := false
	if u.hasFresh {
		b := u.fresh
		u.fresh, u.hasFresh = fdBatch{}, false
		if !inBody && b.pos >= next && b.pos < u.total {
			keep = rd.claimableAt(rd.R + int(b.pos-next))
		}
		if keep {
			u.mu.Lock()
			if u.closed {
				keep = false
			} else {
				u.queue = append(u.queue, b)
				u.queued += len(b.fds)
				u.batches.Store(int32(len(u.queue)))
			}
			u.mu.Unlock()
		}
		if !keep {
			closeFDs(b.fds)
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	// Batches before the boundary can no longer be claimed.
	i := 0
	for i < len(u.queue) && u.queue[i].pos < boundary {
		u.queued -= len(u.queue[i].fds)
		closeFDs(u.queue[i].fds)
		i++
	}
	u.queue = u.queue[i:]
	for len(u.queue) > 1 && u.queued > maxQueuedFDs {
		u.queued -= len(u.queue[0].fds)
		closeFDs(u.queue[0].fds)
		u.queue = u.queue[1:]
	}
	if len(u.queue) == 0 {
		u.queue = nil
	}
	u.batches.Store(int32(len(u.queue)))
}

// passed closes the kept batches of bytes before the next unconsumed one.
func (u *unixTransport) passed(c *Conn) {
	if u.batches.Load() == 0 {
		return
	}
	next := u.total - int64(c.rd.W-c.rd.R)
	u.mu.Lock()
	for len(u.queue) > 0 && u.queue[0].pos < next {
		u.queued -= len(u.queue[0].fds)
		closeFDs(u.queue[0].fds)
		u.queue = u.queue[1:]
	}
	u.batches.Store(int32(len(u.queue)))
	u.mu.Unlock()
}

// adopt judges batches received before the Conn existed (by the raw
// handshake), whose stream offsets count from the first byte it handed
// over, as afterRead judges a fresh one.
func (u *unixTransport) adopt(c *Conn, bs []fdBatch) {
	rd := &c.rd
	next := u.total - int64(rd.W-rd.R)
	for _, b := range bs {
		if b.pos >= next && b.pos < u.total && rd.MsgLen < 0 && rd.claimableAt(rd.R+int(b.pos-next)) && !u.refuse {
			u.mu.Lock()
			u.queue = append(u.queue, b)
			u.queued += len(b.fds)
			u.batches.Store(int32(len(u.queue)))
			u.mu.Unlock()
		} else {
			closeFDs(b.fds)
		}
	}
}

// take returns the batch that came with the byte at stream offset pos, if
// any, and closes the batches of bytes before it, which no one can claim
// any more.
func (u *unixTransport) take(pos int64) (fdBatch, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for len(u.queue) > 0 && u.queue[0].pos < pos {
		u.queued -= len(u.queue[0].fds)
		closeFDs(u.queue[0].fds)
		u.queue = u.queue[1:]
	}
	if len(u.queue) > 0 && u.queue[0].pos == pos {
		b := u.queue[0]
		u.queued -= len(b.fds)
		u.queue = u.queue[1:]
		u.batches.Store(int32(len(u.queue)))
		return b, true
	}
	u.batches.Store(int32(len(u.queue)))
	return fdBatch{}, false
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

// sendFiles is SendFiles over a Unix socket.
func (c *Conn) sendFiles(ctx context.Context, files []*os.File) error {
	if len(files) == 0 || len(files) > maxSendFDs {
		return fmt.Errorf("mpconn: SendFiles takes 1 to %d files, not %d", maxSendFDs, len(files))
	}
	if err := c.beginSend(ctx); err != nil {
		return err
	}
	defer func() { <-c.wlock }()
	if _, ok := c.t.(*unixTransport); !ok {
		return c.opError("sendfile", errNotUnix)
	}
	if err := ctx.Err(); err != nil {
		return c.opError("sendfile", err)
	}
	fds := make([]int, 0, len(files))
	defer func() { closeFDs(fds) }()
	for _, f := range files {
		if f == nil {
			return errors.New("mpconn: SendFiles: nil file")
		}
		rc, err := f.SyscallConn()
		if err != nil {
			return c.opError("sendfile", err)
		}
		var dup int
		var derr error
		if err := rc.Control(func(fd uintptr) {
			dup, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
		}); err != nil {
			return c.opError("sendfile", err)
		}
		if derr != nil {
			return c.opError("sendfile", os.NewSyscallError("fcntl", derr))
		}
		fds = append(fds, dup)
	}

	stop := msgio.Watch(ctx, c.t.SetWriteDeadline)
	if stop != nil {
		defer stop()
	}
	// The rest of an interrupted message goes first, so that the byte
	// lands between messages.
	if err := c.writePending(ctx); err != nil {
		return err
	}
	b := []byte{byte(len(fds) % 256)}
	rights := unix.UnixRights(fds...)
	var serr error
	err := c.raw.Write(func(fd uintptr) bool {
		for {
			_, serr = unix.SendmsgN(int(fd), b, rights, nil, unix.MSG_NOSIGNAL)
			switch serr {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait until writable
			}
			return true
		}
	})
	if err == nil && serr != nil {
		err = os.NewSyscallError("sendmsg", serr)
	}
	if err != nil {
		if c.closed.Load() {
			return c.opError("sendfile", net.ErrClosed)
		}
		return c.opError("sendfile", msgio.CtxErr(ctx, err))
	}
	return nil
}

// recvFiles is RecvFiles over a Unix socket.
func (c *Conn) recvFiles(ctx context.Context) ([]*os.File, error) {
	if err := c.beginRecv(ctx); err != nil {
		return nil, err
	}
	defer c.unlockRead()
	u, ok := c.t.(*unixTransport)
	if !ok {
		return nil, c.opError("recvfile", errNotUnix)
	}
	if err := ctx.Err(); err != nil {
		return nil, c.opError("recvfile", err)
	}
	rd := &c.rd
	if rd.Dead != nil {
		return nil, rd.Dead
	}
	if rd.MsgLen >= 0 || rd.Msg != nil {
		return nil, c.opError("recvfile", errors.New("mpconn: a message is partly received; the file cannot come before its end"))
	}
	stop := msgio.Watch(ctx, c.t.SetReadDeadline)
	if stop != nil {
		defer stop()
	}
	for rd.R == rd.W {
		if rd.EOF {
			return nil, io.EOF
		}
		if err := c.rd.Fill(); err != nil {
			return nil, c.readError(ctx, err)
		}
	}
	// Every byte read from the socket is consumed or buffered, so the
	// next buffered byte is at this stream offset.
	pos := u.total - int64(rd.W-rd.R)
	b, ok := u.take(pos)
	if !ok {
		return nil, ErrNoFile
	}
	rd.R++
	if b.truncated {
		closeFDs(b.fds)
		return nil, c.opError("recvfile", errors.New("mpconn: descriptors were lost: more came than fit in the control buffer"))
	}
	files := make([]*os.File, len(b.fds))
	for i, fd := range b.fds {
		files[i] = os.NewFile(uintptr(fd), fmt.Sprintf("mpconn-fd:%d", fd))
	}
	return files, nil
}
