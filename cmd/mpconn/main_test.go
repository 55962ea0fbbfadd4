package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// mpconnBin is the mpconn binary built once by TestMain.
var mpconnBin string

// testTimeout bounds every subprocess and every blocking call in a test,
// so that a broken peer fails the test instead of hanging it.
const testTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mpconn-cmd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mpconnBin = filepath.Join(dir, "mpconn")
	build := exec.Command("go", "build", "-o", mpconnBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building mpconn: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects a subprocess's output for reading while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running mpconn.
type proc struct {
	cmd    *exec.Cmd
	stdout *bufio.Reader
	stderr *syncBuffer
	cancel context.CancelFunc
}

// start runs mpconn with args; extra files become descriptors 3, 4, ...
func start(t *testing.T, extra []*os.File, args ...string) *proc {
	t.Helper()
	// A server started here lives as long as its test needs it: a test
	// that serves one client after another (every CPython, every network)
	// takes longer on a loaded machine, so its lifetime is bounded by the
	// test binary's own deadline (go test -timeout), not by testTimeout.
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Hour)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	cmd := exec.CommandContext(ctx, mpconnBin, args...)
	cmd.WaitDelay = 5 * time.Second
	cmd.ExtraFiles = extra
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, cancel: cancel}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdout = bufio.NewReader(out)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	return p
}

// listening reads the first line of standard output and returns the
// address it announces.
func (p *proc) listening(t *testing.T) string {
	t.Helper()
	line, err := p.stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the first line: %v (stderr: %q)", err, p.stderr.String())
	}
	addr, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "listening on ")
	if !ok || addr == "" {
		t.Fatalf("first line %q, want \"listening on ADDRESS\"", line)
	}
	return addr
}

// wait waits for the process to exit on its own and returns its exit
// status.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	io.Copy(io.Discard, p.stdout)
	err := p.cmd.Wait()
	if p.cmd.ProcessState == nil {
		t.Fatalf("mpconn did not run: %v", err)
	}
	if ws, ok := p.cmd.ProcessState.Sys().(interface{ Signaled() bool }); ok && ws.Signaled() {
		t.Fatalf("mpconn ended by a %v (stderr: %q)", p.cmd.ProcessState, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// stop sends sig and checks that mpconn exits with status 0.
func (p *proc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("after %v: exit status %d, want 0 (stderr: %q)", sig, code, p.stderr.String())
	}
}

// runMpconn runs mpconn to completion and returns its exit status and
// output.
func runMpconn(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mpconnBin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("mpconn %q did not run: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), o.String(), e.String()
}

func TestUsage(t *testing.T) {
	code, out, _ := runMpconn(t, "-h")
	if code != 0 || !strings.Contains(out, "echo") || !strings.Contains(out, "usage: mpconn COMMAND") {
		t.Errorf("mpconn -h: status %d, stdout %q; want 0 and the list of commands", code, out)
	}
	code, out, _ = runMpconn(t, "echo", "-h")
	for _, f := range []string{"-dial", "-fd", "-authkey", "-authkey-hex", "-bytes", "usage: mpconn echo"} {
		if !strings.Contains(out, f) {
			t.Errorf("mpconn echo -h does not mention %s:\n%s", f, out)
		}
	}
	if code != 0 {
		t.Errorf("mpconn echo -h: status %d, want 0", code)
	}
}

func TestBadCommandLines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no command", nil, "usage: mpconn COMMAND"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"echo", "--bogus"}, "flag provided but not defined"},
		{"two addresses", []string{"echo", "--bytes", "a", "b"}, "too many arguments"},
		{"dial without address", []string{"echo", "--bytes", "--dial"}, "--dial needs an ADDRESS"},
		{"fd and dial", []string{"echo", "--bytes", "--fd", "3", "--dial", "x:1"}, "not both"},
		{"fd and address", []string{"echo", "--bytes", "--fd", "3", "/tmp/x"}, "--fd takes no ADDRESS"},
		{"fd not a number", []string{"echo", "--bytes", "--fd", "three"}, "invalid value"},
		{"negative fd", []string{"echo", "--bytes", "--fd", "-1"}, "invalid value"},
		{"both keys", []string{"echo", "--bytes", "--authkey", "k", "--authkey-hex", "6b"}, "not both"},
		{"bad hex key", []string{"echo", "--bytes", "--authkey-hex", "zz"}, "--authkey-hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runMpconn(t, tc.args...)
			if code != 2 {
				t.Errorf("status %d, want 2", code)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
		})
	}
}
