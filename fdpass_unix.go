//go:build unix

package mpconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

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

// errNotUnix is why descriptors cannot travel on other transports.
var errNotUnix = fmt.Errorf("descriptor passing needs a Unix socket: %w", errors.ErrUnsupported)

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
			dup, derr = platform.DupCloexec(fd)
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
