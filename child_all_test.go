package mpconn

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

func init() {
	testChildren["wait-echo"] = childEcho
	testChildren["wait-authkey"] = childAuthKey
}

// childEcho echoes messages until EOF (exit 0) or "exit" (exit 5). It
// fails with 4 if a second ChildConn works: the first takes the
// descriptor over.
func childEcho() int {
	ctx := context.Background()
	c, err := ChildConn(nil)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 2
	}
	defer c.Close()
	if _, err := ChildConn(nil); err == nil {
		return 4
	}
	for {
		m, err := c.RecvBytes(ctx)
		if err == io.EOF {
			return 0
		}
		if err != nil {
			return 3
		}
		if string(m) == "exit" {
			return 5
		}
		if err := c.SendBytes(ctx, m); err != nil {
			return 3
		}
	}
}

// childAuthKey sends its default key, then waits for EOF.
func childAuthKey() int {
	ctx := context.Background()
	c, err := ChildConn(nil)
	if err != nil {
		return 2
	}
	defer c.Close()
	c.SendBytes(ctx, []byte(hex.EncodeToString(AuthKey())))
	if _, err := c.RecvBytes(ctx); err != io.EOF {
		return 3
	}
	return 0
}

// goChild returns a command re-running the test binary as the named
// child (see testChildren).
func goChild(name string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	cmd.Stderr = os.Stderr
	return cmd
}

// startChild starts cmd with StartChild and makes sure it is reaped.
func startChild(t *testing.T, cmd *exec.Cmd, opts *ChildOptions) (*Child, *Conn) {
	t.Helper()
	ch, c, err := StartChild(cmd, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		ch.Kill()
		ch.Wait()
	})
	return ch, c
}

func echo(t *testing.T, ctx context.Context, c *Conn, msgs ...[]byte) {
	t.Helper()
	for _, m := range msgs {
		if err := c.SendBytes(ctx, m); err != nil {
			t.Fatal(err)
		}
		got, err := c.RecvBytes(ctx)
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("echo of %d bytes: got %d bytes, %v", len(m), len(got), err)
		}
	}
}

var echoMsgs = [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte("0123456789"), 20000)}

func TestStartChildGo(t *testing.T) {
	ctx := testCtx(t)
	ch, c := startChild(t, goChild("wait-echo"), nil)
	if ch.Pid() <= 0 || ch.Cmd().Process.Pid != ch.Pid() {
		t.Fatalf("pid %d", ch.Pid())
	}
	s := newSet(t)
	if err := s.Add(ch); err != nil {
		t.Fatal(err)
	}
	echo(t, ctx, c, echoMsgs...)
	got, err := Wait(ctx, 0, ch)
	wantReady(t, got, err)
	if ch.Exited() || ch.ExitCode() != -1 {
		t.Fatal("running child reported exited")
	}
	c.SendBytes(ctx, []byte("exit"))
	got, err = Wait(ctx, -1, ch)
	wantReady(t, got, err, ch)
	got, err = s.Wait(ctx, -1)
	wantReady(t, got, err, ch)
	if _, err := c.RecvBytes(ctx); err != io.EOF {
		t.Fatalf("after the child's exit: %v", err)
	}
	var ee *exec.ExitError
	if err := ch.Wait(); !errors.As(err, &ee) || ch.ExitCode() != 5 {
		t.Fatalf("exit: %v, code %d", err, ch.ExitCode())
	}
	if err := ch.Wait(); !errors.As(err, &ee) {
		t.Fatalf("second Wait: %v", err)
	}
	// Still ready after being waited for, in Wait and in the set.
	got, err = Wait(ctx, 0, ch)
	wantReady(t, got, err, ch)
	got, err = s.Wait(ctx, 0)
	wantReady(t, got, err, ch)
}

// The parent closes its end: the child sees EOF and exits 0.
func TestStartChildParentCloses(t *testing.T) {
	ctx := testCtx(t)
	ch, c := startChild(t, goChild("wait-echo"), nil)
	echo(t, ctx, c, []byte("x"))
	c.Close()
	got, err := Wait(ctx, -1, ch)
	wantReady(t, got, err, ch)
	if err := ch.Wait(); err != nil || ch.ExitCode() != 0 {
		t.Fatalf("exit: %v, code %d", err, ch.ExitCode())
	}
}

// A killed child: the parent's receive returns io.EOF, and Wait and a
// WaitSet report the exit.
func TestStartChildKilled(t *testing.T) {
	ctx := testCtx(t)
	ch, c := startChild(t, goChild("wait-echo"), nil)
	s := newSet(t)
	s.Add(c)
	s.Add(ch)
	echo(t, ctx, c, []byte("x"))
	errc := make(chan error, 1)
	go func() {
		_, err := c.RecvBytes(ctx)
		errc <- err
	}()
	if err := ch.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != io.EOF {
		t.Fatalf("receive from a killed child: %v", err)
	}
	var got []Waitable
	for len(got) < 2 {
		more, err := s.Wait(ctx, -1)
		if err != nil {
			t.Fatal(err)
		}
		got = more
	}
	wantReady(t, got, nil, c, ch)
	waited := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() { waited <- ch.Wait() }()
	}
	for i := 0; i < 2; i++ {
		var ee *exec.ExitError
		if err := <-waited; !errors.As(err, &ee) {
			t.Fatalf("Wait: %v", err)
		}
	}
	// On Windows Kill is TerminateProcess with exit code 1; elsewhere a
	// signal ended the child, which has no exit code.
	want := -1
	if runtime.GOOS == "windows" {
		want = 1
	}
	if ch.ExitCode() != want {
		t.Errorf("exit code %d for a killed child, want %d", ch.ExitCode(), want)
	}
}

func TestChildAuthKey(t *testing.T) {
	ctx := testCtx(t)
	for _, tc := range []struct {
		name string
		opts *ChildOptions
		want []byte
	}{
		{"inherited", nil, AuthKey()},
		{"given", &ChildOptions{AuthKey: []byte("a key of our own")}, []byte("a key of our own")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, c := startChild(t, goChild("wait-authkey"), tc.opts)
			got, err := c.RecvBytes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != hex.EncodeToString(tc.want) {
				t.Fatalf("child's key %s, want %x", got, tc.want)
			}
			c.Close()
			if err := ch.Wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSetAuthKey(t *testing.T) {
	old := AuthKey()
	defer SetAuthKey(old)
	if len(old) != 32 {
		t.Fatalf("default key of %d bytes", len(old))
	}
	if !bytes.Equal(AuthKey(), old) {
		t.Fatal("the default key changes")
	}
	k := []byte("secret")
	SetAuthKey(k)
	k[0] = 'X'
	got := AuthKey()
	if string(got) != "secret" {
		t.Fatalf("got %q", got)
	}
	got[0] = 'Y'
	if string(AuthKey()) != "secret" {
		t.Fatal("AuthKey returned its own slice")
	}
}

func TestChildConnNotAChild(t *testing.T) {
	t.Setenv(EnvFD, "")
	if _, err := ChildConn(nil); err == nil || !strings.Contains(err.Error(), EnvFD) {
		t.Errorf("no variable: %v", err)
	}
	t.Setenv(EnvFD, "three")
	if _, err := ChildConn(nil); err == nil {
		t.Error("bad variable accepted")
	}
}

func TestStartChildErrors(t *testing.T) {
	if _, _, err := StartChild(nil, nil); err == nil {
		t.Error("nil command")
	}
	cmd := exec.Command("/nonexistent/program")
	if _, _, err := StartChild(cmd, nil); err == nil {
		t.Error("missing program started")
	}
}
