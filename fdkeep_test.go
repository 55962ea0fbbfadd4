//go:build unix

package mpconn

import (
	"errors"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// sendWithFDs writes b to the raw socket with n copies of fd attached to
// its last byte (the kernel ends a read after that byte).
func sendWithFDs(t *testing.T, raw interface {
	SyscallConn() (syscall.RawConn, error)
}, b []byte, fd, n int) {
	t.Helper()
	rc, err := raw.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fds := make([]int, n)
	for i := range fds {
		fds[i] = fd
	}
	var serr error
	err = rc.Write(func(s uintptr) bool {
		if len(b) > 1 {
			if _, serr = unix.Write(int(s), b[:len(b)-1]); serr != nil {
				return serr != unix.EAGAIN
			}
		}
		_, serr = unix.SendmsgN(int(s), b[len(b)-1:], unix.UnixRights(fds...), nil, 0)
		return serr != unix.EAGAIN
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestFilesOnHeadersNotHoarded has a peer attach descriptors to the first
// byte of each message's header, a place where RecvFile could take them.
// A receiver that only calls Recv holds one batch at most, and none once it
// has read past the byte: the read-ahead never makes it hoard descriptors
// nobody asked for.
func TestFilesOnHeadersNotHoarded(t *testing.T) {
	ctx := testCtx(t)
	c, raw := rawPair(t, nil)
	r, w := osPipe(t)
	rs := raw.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	const msgs, per = 20, 100
	for i := range msgs {
		sendWithFDs(t, rs, []byte{0}, int(w.Fd()), per) // header byte 1 of 4
		if _, err := raw.Write([]byte{0, 0, 1, byte(i)}); err != nil {
			t.Fatal(err)
		}
		msg, err := c.RecvBytes(ctx)
		if err != nil || len(msg) != 1 || msg[0] != byte(i) {
			t.Fatalf("message %d: %v, %v", i, msg, err)
		}
		if held := pipeLinks(t, r) - 2; held != 0 {
			t.Fatalf("message %d: the Conn holds %d descriptors of bytes it has read past", i, held)
		}
	}
	// All the messages sent before any is received: the receiver reads
	// ahead, and keeps no more than one batch at a time.
	for i := range msgs {
		sendWithFDs(t, rs, []byte{0}, int(w.Fd()), per)
		if _, err := raw.Write([]byte{0, 0, 1, byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range msgs {
		msg, err := c.RecvBytes(ctx)
		if err != nil || len(msg) != 1 || msg[0] != byte(i) {
			t.Fatalf("message %d: %v, %v", i, msg, err)
		}
		if held := pipeLinks(t, r) - 2; held > per {
			t.Fatalf("message %d: the Conn holds %d descriptors, more than one batch (%d)", i, held, per)
		}
	}
	c.Close()
	if held := pipeLinks(t, r) - 2; held != 0 {
		t.Fatalf("%d descriptors left after Close", held)
	}
}

// TestRefuseFiles: with ConnOptions.RefuseFiles every descriptor is
// closed as it arrives, and RecvFile finds none.
func TestRefuseFiles(t *testing.T) {
	ctx := testCtx(t)
	c, raw := rawPair(t, &ConnOptions{RefuseFiles: true})
	r, w := osPipe(t)
	rs := raw.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	sendWithFDs(t, rs, []byte{1}, int(w.Fd()), 10)
	if _, err := c.RecvFile(ctx); !errors.Is(err, ErrNoFile) {
		t.Fatalf("RecvFile: %v, want ErrNoFile", err)
	}
	if held := pipeLinks(t, r) - 2; held != 0 {
		t.Fatalf("the Conn holds %d descriptors", held)
	}
}

// TestTruncatedControlBounded feeds the transport control messages that
// the kernel truncated (MSG_CTRUNC, no descriptor left), as when the
// receiver is at its descriptor limit: none that lies inside a message is
// kept, and the queue never holds more than the one the receiver may
// claim, so it neither grows nor costs more per read.
func TestTruncatedControlBounded(t *testing.T) {
	c, _ := rawPair(t, nil)
	u := c.t.(*unixTransport)
	rd := &c.rd
	rd.Buf = make([]byte, 64)
	// A message of 1000 bytes is being received; every byte of its body
	// came with a truncated control message.
	rd.MsgLen, rd.Have = 1000, 0
	for i := range 500 {
		rd.R, rd.W = 0, 0
		rd.Buf[0] = byte(i)
		rd.W = 1
		u.collect(1, nil, true)
		u.total++
		c.files.afterRead(c, false)
		if len(u.queue) != 0 || u.queued != 0 {
			t.Fatalf("read %d: %d batches queued from inside a message", i, len(u.queue))
		}
	}
	// Between messages, each read brings a truncated batch at a byte a
	// message could begin at: only the last is kept.
	rd.MsgLen = -1
	for i := range 500 {
		rd.R, rd.W = 0, 1
		u.collect(1, nil, true)
		u.total++
		rd.R = 1 // the receive consumes it (not as a file)
		c.files.afterRead(c, false)
		if len(u.queue) > 1 {
			t.Fatalf("read %d: %d batches queued", i, len(u.queue))
		}
	}
}
