//go:build unix

package mpconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
	"golang.org/x/sys/unix"
)

// osPipe returns an OS pipe whose ends are closed at cleanup (closing
// twice is harmless).
func osPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// buffered reports how many received bytes c holds unread.
func buffered(c *Conn) int { return c.rd.W - c.rd.R }

func TestSendFileGoToGo(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	r, w := osPipe(t)
	if err := a.SendFile(ctx, w); err != nil {
		t.Fatal(err)
	}
	w.Close() // the only write end left is in flight
	got, err := b.RecvFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fl, err := unix.FcntlInt(got.Fd(), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Errorf("received descriptor flags %#x, %v: want close-on-exec", fl, err)
	}
	if _, err := got.WriteString("through the received file"); err != nil {
		t.Fatal(err)
	}
	got.Close()
	data, err := io.ReadAll(r)
	if err != nil || string(data) != "through the received file" {
		t.Fatalf("read %q, %v", data, err)
	}
}

func TestSendFilesBatch(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	var rs, ws []*os.File
	for range 3 {
		r, w := osPipe(t)
		rs, ws = append(rs, r), append(ws, w)
	}
	if err := a.SendFiles(ctx, ws...); err != nil {
		t.Fatal(err)
	}
	got, err := b.RecvFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("received %d files, want 3", len(got))
	}
	for i, f := range got {
		fmt.Fprintf(f, "file %d", i)
		f.Close()
		ws[i].Close()
		data, err := io.ReadAll(rs[i])
		if want := fmt.Sprintf("file %d", i); err != nil || string(data) != want {
			t.Errorf("pipe %d: read %q, %v; want %q", i, data, err, want)
		}
	}
	// RecvFile insists on exactly one, and closes what it rejects.
	r, w := osPipe(t)
	if err := a.SendFiles(ctx, w, w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if f, err := b.RecvFile(ctx); err == nil {
		f.Close()
		t.Fatal("RecvFile took a batch of two")
	}
	if data, err := io.ReadAll(r); err != nil || len(data) != 0 {
		t.Fatalf("read %q, %v: want EOF, the rejected descriptors closed", data, err)
	}
	if err := a.SendFiles(ctx); err == nil {
		t.Error("SendFiles with no file succeeded")
	}
}

// TestFileBehindMessage sends a message, a file and a message before the
// receiver reads anything, so that its read-ahead takes the byte that
// carries the file together with the first message.
func TestFileBehindMessage(t *testing.T) {
	for _, poll := range []bool{false, true} {
		t.Run(fmt.Sprintf("poll=%v", poll), func(t *testing.T) {
			ctx := testCtx(t)
			a, b := pipePair(t)
			r, w := osPipe(t)
			if err := a.SendBytes(ctx, []byte("a file follows")); err != nil {
				t.Fatal(err)
			}
			if err := a.SendFile(ctx, w); err != nil {
				t.Fatal(err)
			}
			w.Close()
			if err := a.SendBytes(ctx, []byte("after the file")); err != nil {
				t.Fatal(err)
			}
			if poll {
				// Poll(0) reads without blocking (tryFill).
				if ok, err := b.Poll(ctx, 0); err != nil || !ok {
					t.Fatalf("Poll: %v, %v", ok, err)
				}
			}
			msg, err := b.RecvBytes(ctx)
			if err != nil || string(msg) != "a file follows" {
				t.Fatalf("got %q, %v", msg, err)
			}
			if buffered(b) == 0 {
				t.Fatal("the handle byte was not read ahead: the test does not test what it should")
			}
			f, err := b.RecvFile(ctx)
			if err != nil {
				t.Fatal(err)
			}
			msg, err = b.RecvBytes(ctx)
			if err != nil || string(msg) != "after the file" {
				t.Fatalf("got %q, %v", msg, err)
			}
			f.WriteString("ok")
			f.Close()
			if data, err := io.ReadAll(r); err != nil || string(data) != "ok" {
				t.Fatalf("read %q, %v", data, err)
			}
		})
	}
}

func TestRecvFileWhenMessageComes(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	if err := a.SendBytes(ctx, []byte("not a file")); err != nil {
		t.Fatal(err)
	}
	if f, err := b.RecvFile(ctx); !errors.Is(err, ErrNoFile) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("RecvFile on a message: %v, want ErrNoFile", err)
	}
	if msg, err := b.RecvBytes(ctx); err != nil || string(msg) != "not a file" {
		t.Fatalf("the message after ErrNoFile: %q, %v", msg, err)
	}
	a.Close()
	if _, err := b.RecvFile(ctx); err != io.EOF {
		t.Fatalf("RecvFile at EOF: %v, want io.EOF", err)
	}
}

// pipeLinks counts this process's descriptors open on the pipe of f.
func pipeLinks(t *testing.T, f *os.File) int {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("pipe:[%d]", st.Ino)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && l == want {
			n++
		}
	}
	return n
}

func TestUnclaimedFileClosedWithConn(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	r, w := osPipe(t)
	if err := a.SendBytes(ctx, []byte("m")); err != nil {
		t.Fatal(err)
	}
	if err := a.SendFile(ctx, w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if msg, err := b.RecvBytes(ctx); err != nil || string(msg) != "m" {
		t.Fatalf("got %q, %v", msg, err)
	}
	if buffered(b) != 1 {
		t.Fatalf("%d bytes read ahead, want the handle byte", buffered(b))
	}
	if n := pipeLinks(t, r); n != 2 {
		t.Fatalf("%d descriptors on the pipe, want 2 (the read end and the queued write end)", n)
	}
	b.Close()
	if n := pipeLinks(t, r); n != 1 {
		t.Fatalf("%d descriptors on the pipe after Close, want 1", n)
	}
	if data, err := io.ReadAll(r); err != nil || len(data) != 0 {
		t.Fatalf("read %q, %v: want EOF", data, err)
	}
}

func TestSendFileNeedsUnixSocket(t *testing.T) {
	ctx := testCtx(t)
	p, c, err := PairOver(ctx, "tcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	defer c.Close()
	_, w := osPipe(t)
	if err := p.SendFile(ctx, w); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SendFile over TCP: %v", err)
	}
	if _, err := c.RecvFile(ctx); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("RecvFile over TCP: %v", err)
	}
	pr, pw, err := PipeOneWay(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	if err := pw.SendFile(ctx, w); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SendFile over an OS pipe: %v", err)
	}
	if err := pr.SendFile(ctx, w); !errors.Is(err, ErrReadOnly) {
		t.Errorf("SendFile on a read end: %v", err)
	}
}

func TestSendFileCancelledAndClosed(t *testing.T) {
	a, b := pipePair(t)
	_, w := osPipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Cancelled before sending: nothing goes out, and the stream stays in
	// step.
	if err := a.SendFile(ctx, w); !errors.Is(err, context.Canceled) {
		t.Fatalf("SendFile with a cancelled ctx: %v", err)
	}
	if _, err := b.RecvFile(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("RecvFile with a cancelled ctx: %v", err)
	}
	a.Close()
	if err := a.SendFile(context.Background(), w); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("SendFile after Close: %v", err)
	}
}

// pyConnPrelude opens the multiprocessing connection on the descriptor in
// argv[1], in every CPython version.
const pyConnPrelude = `
import os, sys
if sys.version_info[0] == 2:
    from _multiprocessing import Connection
else:
    from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle
conn = Connection(int(sys.argv[1]))
`

// startPeer starts script with one end of a Pipe as descriptor 3 and
// returns the other end.
func startPeer(t *testing.T, ctx context.Context, py cpython.Python, script string) (*Conn, *exec.Cmd, *bufio.Reader, *strings.Builder) {
	t.Helper()
	mine, theirs := pipePair(t)
	f, err := theirs.File()
	if err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	// Conn.File's copy shares the socket's O_NONBLOCK; CPython's
	// Connection needs a blocking descriptor.
	if err := unix.SetNonblock(int(f.Fd()), false); err != nil {
		t.Fatal(err)
	}
	cmd := py.Command(ctx, pyConnPrelude+script, "3")
	cmd.ExtraFiles = []*os.File{f}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return mine, cmd, bufio.NewReader(out), &stderr
}

// TestSendFileToPython sends a pipe's write end to CPython, which gets it
// with recv_handle and writes through it.
func TestSendFileToPython(t *testing.T) {
	const script = `
token = conn.recv_bytes()
fd = recv_handle(conn)
f = os.fdopen(fd, 'wb')
f.write(b'python ' + ('%d.%d' % sys.version_info[:2]).encode('ascii') + b' got ' + token)
f.close()
conn.send_bytes(b'done')
`
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		ctx := testCtx(t)
		c, cmd, _, stderr := startPeer(t, ctx, py, script)
		r, w := osPipe(t)
		if err := c.SendBytes(ctx, []byte("the write end")); err != nil {
			t.Fatal(err)
		}
		if err := c.SendFile(ctx, w); err != nil {
			t.Fatal(err)
		}
		w.Close()
		data, err := io.ReadAll(r)
		if want := "python " + py.Version + " got the write end"; err != nil || string(data) != want {
			t.Fatalf("read %q, %v; want %q; stderr: %s", data, err, want, stderr)
		}
		if msg, err := c.RecvBytes(ctx); err != nil || string(msg) != "done" {
			t.Fatalf("got %q, %v; stderr: %s", msg, err, stderr)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("python: %v; stderr: %s", err, stderr)
		}
	})
}

// TestRecvFileFromPython has CPython send a message, a file with
// send_handle and another message before Go reads anything, so that Go's
// read-ahead takes the handle byte with the first message.
func TestRecvFileFromPython(t *testing.T) {
	const script = `
import tempfile
f = tempfile.TemporaryFile()
f.write(b'written by python')
f.flush()
conn.send_bytes(b'a file follows')
send_handle(conn, f.fileno(), os.getppid())
conn.send_bytes(b'after the file')
sys.stdout.write('sent\n')
sys.stdout.flush()
conn.recv_bytes()
`
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		ctx := testCtx(t)
		c, cmd, out, stderr := startPeer(t, ctx, py, script)
		if line, err := out.ReadString('\n'); err != nil || line != "sent\n" {
			t.Fatalf("python said %q, %v; stderr: %s", line, err, stderr)
		}
		msg, err := c.RecvBytes(ctx)
		if err != nil || string(msg) != "a file follows" {
			t.Fatalf("got %q, %v", msg, err)
		}
		if buffered(c) == 0 {
			t.Fatal("the handle byte was not read ahead: the test does not test what it should")
		}
		f, err := c.RecvFile(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		msg, err = c.RecvBytes(ctx)
		if err != nil || string(msg) != "after the file" {
			t.Fatalf("got %q, %v", msg, err)
		}
		data := make([]byte, 64)
		n, err := f.ReadAt(data, 0)
		if err != nil && err != io.EOF || string(data[:n]) != "written by python" {
			t.Fatalf("read %q, %v", data[:n], err)
		}
		if err := c.SendBytes(ctx, []byte("bye")); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("python: %v; stderr: %s", err, stderr)
		}
	})
}

// BenchmarkUnixRecv compares receiving over a Unix socket read with
// recvmsg (the default, keeping descriptors) and with plain reads.
func BenchmarkUnixRecv(b *testing.B) {
	for _, size := range []int{64, 4096, 1 << 20} {
		for _, mode := range []string{"recvmsg", "read"} {
			b.Run(fmt.Sprintf("%s/%d", mode, size), func(b *testing.B) {
				ctx := context.Background()
				x, y, err := Pipe(nil)
				if err != nil {
					b.Fatal(err)
				}
				defer x.Close()
				defer y.Close()
				if mode == "read" {
					y.t = y.t.(*unixTransport).Conn
				}
				msg := make([]byte, size)
				done := make(chan error, 1)
				go func() {
					for range b.N {
						if err := x.SendBytes(ctx, msg); err != nil {
							done <- err
							return
						}
					}
					done <- nil
				}()
				buf := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if _, err := y.RecvBytesInto(ctx, buf, 0); err != nil {
						b.Fatal(err)
					}
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// TestFilesInterleaved queues several messages and files before the
// receiver reads any.
func TestFilesInterleaved(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	const n = 5
	var rs []*os.File
	for i := range n {
		r, w := osPipe(t)
		rs = append(rs, r)
		if err := a.Send(ctx, i); err != nil {
			t.Fatal(err)
		}
		if err := a.SendFile(ctx, w); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	a.Send(ctx, "end")
	for i := range n {
		var got int
		if err := b.Recv(ctx, &got); err != nil || got != i {
			t.Fatalf("message %d: got %d, %v", i, got, err)
		}
		f, err := b.RecvFile(ctx)
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		fmt.Fprintf(f, "file %d", i)
		f.Close()
	}
	var end string
	if err := b.Recv(ctx, &end); err != nil || end != "end" {
		t.Fatalf("got %q, %v", end, err)
	}
	for i, r := range rs {
		data, err := io.ReadAll(r)
		if want := fmt.Sprintf("file %d", i); err != nil || string(data) != want {
			t.Errorf("pipe %d: %q, %v", i, data, err)
		}
	}
}

// TestUnwantedFilesBounded has a peer attach descriptors to the bytes of
// ordinary messages, which no one claims: the Conn closes them rather than
// hoard them.
func TestUnwantedFilesBounded(t *testing.T) {
	ctx := testCtx(t)
	c, raw := rawPair(t, nil)
	r, w := osPipe(t)
	rc, err := raw.(interface {
		SyscallConn() (syscall.RawConn, error)
	}).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	wfd := int(w.Fd())
	const msgs = 10
	go func() {
		for i := range msgs {
			// A one-byte message whose payload byte carries 100 copies of
			// the pipe's write end.
			fds := make([]int, 100)
			for j := range fds {
				fds[j] = wfd
			}
			var serr error
			rc.Write(func(fd uintptr) bool {
				if _, serr = unix.Write(int(fd), []byte{0, 0, 0, 1}); serr != nil {
					return serr != unix.EAGAIN
				}
				_, serr = unix.SendmsgN(int(fd), []byte{byte(i)}, unix.UnixRights(fds...), nil, 0)
				return serr != unix.EAGAIN
			})
			if serr != nil {
				t.Error(serr)
				return
			}
		}
	}()
	for i := range msgs {
		msg, err := c.RecvBytes(ctx)
		if err != nil || len(msg) != 1 || msg[0] != byte(i) {
			t.Fatalf("message %d: %v, %v", i, msg, err)
		}
		// The read end, the test's write end, and what the Conn holds:
		// nothing, since descriptors inside a message cannot be claimed.
		if held := pipeLinks(t, r) - 2; held != 0 {
			t.Fatalf("the Conn holds %d descriptors that came inside messages", held)
		}
	}
	c.Close()
	if held := pipeLinks(t, r) - 2; held != 0 {
		t.Fatalf("%d descriptors left after Close", held)
	}
}
