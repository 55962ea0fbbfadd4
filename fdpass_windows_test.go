package mpconn

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
)

func init() {
	testChildren["sendfile"] = childSendFile
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
	// A message where a file was expected.
	a.SendBytes(ctx, []byte("not a file"))
	if _, err := b.RecvFile(ctx); !errors.Is(err, ErrNoFile) {
		t.Fatalf("RecvFile of a message: %v", err)
	}
}

// Between two processes, both ways. The parent opened both ends of the
// child's pipe, so the pipe does not tell it the child: the child takes
// the parent's handle from the parent's process. The child's end names
// the parent, so the child makes its handle in the parent's process,
// unless told to act as if it did not know (then the parent takes it).
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
