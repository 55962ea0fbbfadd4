package mpconn

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ErrNoFile is returned by [Conn.RecvFile] and [Conn.RecvFiles] when the
// next byte of the stream carries no descriptors: the peer sent a message,
// not a handle. Nothing is consumed, so a receive can read the message.
// (On Windows: when the next message is not a pickled DupHandle; it stays
// for the next receive as well.)
var ErrNoFile = errors.New("mpconn: no file descriptor came with the next byte of the stream")

// SendFile sends an open file (or socket, pipe, device: anything with a
// descriptor) to the peer, which receives its own descriptor for it with
// [Conn.RecvFile], or with CPython's
// multiprocessing.reduction.recv_handle(conn) (which returns the
// descriptor number). The Conn must be a Unix socket: a [Pipe] end, or a
// Unix socket from [Listen], [Dial] or [FileConn]. f stays open and the
// caller's: the peer gets a duplicate.
//
// The descriptor travels as one byte between messages, not as a message:
// the receiver must call RecvFile exactly when the protocol says a file
// comes next, as with CPython's send_handle and recv_handle.
//
// On Windows, as CPython's send_handle there, the file's handle travels
// as a message: a pickled multiprocessing.reduction.DupHandle, over any
// Conn. The handle is duplicated into the receiving process when it is
// known (the other end of a named pipe from Listen or Dial; the child,
// on the parent's end of [StartChild]'s pipe; the parent, on the
// child's), and otherwise into this one, for the receiver to take from
// here (DuplicateHandle with DUPLICATE_CLOSE_SOURCE, asking for the
// access the handle has); a handle nobody takes stays open in this
// process. A CPython receiver takes it with recv_handle(conn), which
// returns the handle.
func (c *Conn) SendFile(ctx context.Context, f *os.File) error {
	return c.SendFiles(ctx, f)
}

// SendFiles sends up to 253 open files at once, received together by
// [Conn.RecvFiles]. (A CPython receiver takes exactly one, with
// recv_handle.) The files are duplicated first, so that closing one
// concurrently cannot send some other file.
func (c *Conn) SendFiles(ctx context.Context, files ...*os.File) error {
	return c.sendFiles(ctx, files)
}

// RecvFile receives one open file sent with [Conn.SendFile] or with
// CPython's multiprocessing.reduction.send_handle(conn, fd, pid). The
// returned file is the caller's to close; its descriptor is close-on-exec.
// More than one descriptor in the batch is an error (they are closed).
//
// Call RecvFile when the protocol says a file comes next, after receiving
// every message sent before it. If a message comes next instead, RecvFile
// returns [ErrNoFile] and consumes nothing. Messages sent right behind the
// file are safe: the Conn reads a Unix socket with recvmsg, so descriptors
// that arrive while it reads ahead are kept for RecvFile rather than lost,
// and those never taken are closed by [Conn.Close].
//
// The value of the byte that carries the descriptors is not checked:
// CPython 2.7 sends an arbitrary one.
//
// On Windows RecvFile receives the next message, which must be a pickled
// multiprocessing.reduction.DupHandle (what SendFile and CPython's
// send_handle send there); for any other message RecvFile returns an
// error wrapping [ErrNoFile] and leaves the message for the next receive
// (RecvBytes, Recv), as on Unix. The DupHandle names a handle made for
// this process or one to take from the sender's process; a DupHandle
// naming a third process is refused when the peer is known (as for
// SendFile), but otherwise the peer is trusted, as CPython trusts it.
// (CPython's send_handle passes DUPLICATE_SAME_ACCESS where the access
// belongs, CPython issue gh-82369, so a handle it sends has that access
// mask.)
func (c *Conn) RecvFile(ctx context.Context) (*os.File, error) {
	files, err := c.RecvFiles(ctx)
	if err != nil {
		return nil, err
	}
	if len(files) != 1 {
		for _, f := range files {
			f.Close()
		}
		return nil, c.opError("recvfile", fmt.Errorf("mpconn: received %d descriptors, want 1", len(files)))
	}
	return files[0], nil
}

// RecvFiles receives the batch of open files sent together with
// [Conn.SendFiles] (or one sent by CPython's send_handle). See
// [Conn.RecvFile].
func (c *Conn) RecvFiles(ctx context.Context) ([]*os.File, error) {
	return c.recvFiles(ctx)
}
