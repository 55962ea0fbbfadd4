package mpconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

func init() {
	testChildren["sendfile"] = childSendFile
	testChildren["duppid"] = childDupPID
}

// childDupPID takes the parent's first message apart as RecvFile does and
// replies "PID SELF CONTENT": the pid the DupHandle names, its own pid,
// and what the file received reads. Then it sends a DupHandle naming the
// process MPCONN_TEST_THIRD gives, a message behind it, and waits for the
// parent's word before it exits.
func childDupPID() int {
	ctx := context.Background()
	c, err := ChildConn(nil)
	if err != nil {
		os.Stderr.WriteString("child: " + err.Error() + "\n")
		return 2
	}
	defer c.Close()
	raw, err := c.RecvBytes(ctx)
	if err != nil {
		return 3
	}
	var v any
	if err := c.unmarshal(raw, &v); err != nil {
		os.Stderr.WriteString("child: " + err.Error() + "\n")
		return 4
	}
	d, err := parseDupHandle(v)
	if err != nil {
		os.Stderr.WriteString("child: " + err.Error() + "\n")
		return 5
	}
	self := uint32(os.Getpid())
	h, err := d.detach(self)
	if err != nil {
		os.Stderr.WriteString("child: " + err.Error() + "\n")
		return 6
	}
	f := os.NewFile(uintptr(h), "received")
	buf := make([]byte, 100)
	n, _ := f.ReadAt(buf, 0)
	f.Close()
	if err := c.SendBytes(ctx, fmt.Appendf(nil, "%d %d %s", d.pid, self, buf[:n])); err != nil {
		return 7
	}
	third, err := strconv.ParseUint(os.Getenv("MPCONN_TEST_THIRD"), 10, 32)
	if err != nil {
		return 8
	}
	if err := c.Send(ctx, dupHandle{handle: 4, pid: uint32(third)}.object()); err != nil {
		return 9
	}
	if err := c.SendBytes(ctx, []byte("after")); err != nil {
		return 10
	}
	if _, err := c.RecvBytes(ctx); err != nil {
		return 11
	}
	return 0
}

// childSendFile receives a file, replies with its first bytes, sends the
// file back, and waits for the parent's word before it exits (a handle
// the parent takes from it needs it alive). With MPCONN_TEST_STEAL set it
// sends as to an unknown receiver: the handle stays in this process for
// the parent to take.
func childSendFile() int {
	ctx := context.Background()
	if os.Getenv("MPCONN_TEST_STEAL") != "" {
		testHookPeerPID = func() uint32 { return 0 }
	}
	c, err := ChildConn(nil)
	if err != nil {
		os.Stderr.WriteString("child: " + err.Error() + "\n")
		return 2
	}
	defer c.Close()
	f, err := c.RecvFile(ctx)
	if err != nil {
		os.Stderr.WriteString("child: RecvFile: " + err.Error() + "\n")
		return 3
	}
	buf := make([]byte, 100)
	n, _ := f.ReadAt(buf, 0)
	if err := c.SendBytes(ctx, buf[:n]); err != nil {
		return 4
	}
	if err := c.SendFile(ctx, f); err != nil {
		os.Stderr.WriteString("child: SendFile: " + err.Error() + "\n")
		return 5
	}
	f.Close()
	if _, err := c.RecvBytes(ctx); err != nil {
		return 6
	}
	return 0
}

func tempFileWith(t *testing.T, content string) *os.File {
	t.Helper()
	// Not in t.TempDir: under Wine 8 its RemoveAll fails ("Invalid
	// function").
	f, err := os.CreateTemp("", "mpconn-sendfile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		os.Remove(f.Name())
	})
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	return f
}

func readAll(t *testing.T, f *os.File) string {
	t.Helper()
	buf := make([]byte, 100)
	n, err := f.ReadAt(buf, 0)
	if n == 0 {
		t.Fatalf("reading the received file: %v", err)
	}
	return string(buf[:n])
}

// Within one process: the handle is duplicated for this process, and
// the received file reads the same contents; the sender's stays open.
func TestSendFilePipeSameProcess(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	f := tempFileWith(t, "same process")
	if err := a.SendFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	g, err := b.RecvFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, g); got != "same process" {
		t.Fatalf("read %q", got)
	}
	g.Close()
	if got := readAll(t, f); got != "same process" {
		t.Fatalf("the sender's file: %q", got)
	}
	// Two at once, received together.
	f2 := tempFileWith(t, "second")
	if err := a.SendFiles(ctx, f, f2); err != nil {
		t.Fatal(err)
	}
	gs, err := b.RecvFiles(ctx)
	if err != nil || len(gs) != 2 {
		t.Fatalf("RecvFiles: %d files, %v", len(gs), err)
	}
	for i, want := range []string{"same process", "second"} {
		if got := readAll(t, gs[i]); got != want {
			t.Fatalf("file %d: %q", i, got)
		}
		gs[i].Close()
	}
}

// RecvFile where a message comes instead of a file returns an error
// wrapping ErrNoFile and leaves the message, whatever it is, for the next
// receive, as on Unix: bytes that are no pickle, an empty message, one
// longer than the pipe's first read and than the Conn's read-ahead, a
// pickle of something else, a list holding a DupHandle and something
// else. A file sent after them still arrives.
func TestSendFilePipeLeavesMessages(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	f := tempFileWith(t, "after the messages")
	// A real DupHandle, to put in a list with something else.
	if err := a.SendFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	raw, err := b.RecvBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dh any
	if err := b.unmarshal(raw, &dh); err != nil {
		t.Fatal(err)
	}
	d, err := parseDupHandle(dh)
	if err != nil {
		t.Fatal(err)
	}
	// (It was made for this process: close it, as no one will take it.)
	defer windows.CloseHandle(windows.Handle(d.handle))
	mixed, err := Pickle.Marshal([]any{d.object(), int64(7)})
	if err != nil {
		t.Fatal(err)
	}
	str, err := Pickle.Marshal("a string")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range [][]byte{
		[]byte("not a pickle"),
		{},
		bytes.Repeat([]byte("z"), 50000),
		str,
		mixed,
	} {
		// (From another goroutine: the long one does not fit in the
		// pipe's buffer, and its send ends once the receiver reads it.)
		sent := make(chan error, 1)
		go func() { sent <- a.SendBytes(ctx, m) }()
		for range 2 { // and again: still there
			if _, err := b.RecvFile(ctx); !errors.Is(err, ErrNoFile) {
				t.Fatalf("RecvFile of a %d-byte message: %v", len(m), err)
			}
		}
		if ok, err := b.Poll(ctx, 0); !ok || err != nil {
			t.Fatalf("Poll after RecvFile left a message: %v, %v", ok, err)
		}
		got, err := b.RecvBytes(ctx)
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("RecvBytes after RecvFile: %d bytes, %v; want %d", len(got), err, len(m))
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
	}
	// Recv decodes the message RecvFile left.
	if err := a.Send(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RecvFile(ctx); !errors.Is(err, ErrNoFile) {
		t.Fatalf("RecvFile of a string: %v", err)
	}
	var s string
	if err := b.Recv(ctx, &s); err != nil || s != "hello" {
		t.Fatalf("Recv after RecvFile: %q, %v", s, err)
	}
	// A RecvFile cancelled while nothing has arrived loses nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.RecvFile(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled RecvFile: %v", err)
	}
	if err := a.SendFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	g, err := b.RecvFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if got := readAll(t, g); got != "after the messages" {
		t.Fatalf("read %q", got)
	}
}

// Between two processes, both ways. StartChild recorded the child's pid
// on the parent's end, so the parent makes its handle in the child's
// process; the child's end names the parent, so the child makes its
// handle in the parent's process, unless told to act as if it did not
// know (then the parent takes it from the child).
func TestSendFilePipeChild(t *testing.T) {
	for _, steal := range []bool{false, true} {
		name := "child-sends-into-parent"
		if steal {
			name = "parent-takes-from-child"
		}
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			cmd := goChild("sendfile")
			if steal {
				cmd.Env = append(cmd.Env, "MPCONN_TEST_STEAL=1")
			}
			ch, c := startChild(t, cmd, nil)
			f := tempFileWith(t, "file from the parent")
			if err := c.SendFile(ctx, f); err != nil {
				t.Fatal(err)
			}
			got, err := c.RecvBytes(ctx)
			if err != nil || !bytes.Equal(got, []byte("file from the parent")) {
				t.Fatalf("the child read %q, %v", got, err)
			}
			g, err := c.RecvFile(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if s := readAll(t, g); s != "file from the parent" {
				t.Fatalf("the file sent back reads %q", s)
			}
			g.Close()
			if err := c.SendBytes(ctx, []byte("done")); err != nil {
				t.Fatal(err)
			}
			if err := ch.Wait(); err != nil {
				t.Fatalf("child: %v", err)
			}
		})
	}
}

// The parent's end of StartChild's pipe knows the child (the pipe itself
// names the parent for both ends): SendFile duplicates the handle into
// the child, whose pid the DupHandle names, and RecvFile refuses a
// DupHandle naming a process that is neither the parent nor the child
// (the message is consumed: it was a file, a bad one), without touching
// that process.
func TestSendFilePipeChildPID(t *testing.T) {
	ctx := testCtx(t)
	const third = 4 // no Wine process has this id; Windows' System does
	cmd := goChild("duppid")
	cmd.Env = append(cmd.Env, fmt.Sprintf("MPCONN_TEST_THIRD=%d", third))
	ch, c := startChild(t, cmd, nil)
	if ch.Pid() == third || os.Getpid() == third {
		t.Fatalf("process ids %d and %d: pick another third", os.Getpid(), ch.Pid())
	}
	f := tempFileWith(t, "for-the-child")
	if err := c.SendFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	reply, err := c.RecvBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid, self int
	var content string
	if _, err := fmt.Sscanf(string(reply), "%d %d %s", &pid, &self, &content); err != nil {
		t.Fatalf("child's reply %q: %v", reply, err)
	}
	if pid != ch.Pid() || self != ch.Pid() {
		t.Fatalf("the DupHandle names process %d; want the child, %d (it says it is %d)", pid, ch.Pid(), self)
	}
	if content != "for-the-child" {
		t.Fatalf("the child read %q", reply)
	}
	_, err = c.RecvFile(ctx)
	if err == nil || errors.Is(err, ErrNoFile) || !strings.Contains(err.Error(), "not the peer") {
		t.Fatalf("RecvFile of a DupHandle from a third process: %v", err)
	}
	if got, err := c.RecvBytes(ctx); err != nil || string(got) != "after" {
		t.Fatalf("the message after it: %q, %v", got, err)
	}
	if err := c.SendBytes(ctx, []byte("done")); err != nil {
		t.Fatal(err)
	}
	if err := ch.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}
