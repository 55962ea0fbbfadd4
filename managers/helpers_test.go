package managers

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/internal/cpython"
)

var testKey = []byte("secret")

// startServer serves a new Server at a fresh Unix socket and stops it
// when the test ends.
func startServer(t *testing.T, opts *ServerOptions) (*Server, string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return startServerAt(t, "", opts) // a fresh named pipe
	}
	return startServerAt(t, filepath.Join(t.TempDir(), "mgr.sock"), opts)
}

// startServerAt is startServer at addr (a TCP address with port 0 gets a
// free port); it returns the address to dial.
func startServerAt(t *testing.T, addr string, opts *ServerOptions) (*Server, string) {
	t.Helper()
	l, err := mpconn.Listen(addr, &mpconn.ListenOptions{AuthKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(opts)
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		l.Close()
	})
	return s, l.Addr().String()
}

// runPython runs a script from testdata with args and checks it printed OK.
func runPython(t *testing.T, py cpython.Python, script string, args ...string) {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The script runs from its file (not -c) so that spawned children can
	// import it.
	cmd := exec.CommandContext(ctx, py.Path, append([]string{"-u", "-s", path}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", script, err, out, stderr.String())
	}
	if strings.TrimSpace(string(out)) != "OK" {
		t.Fatalf("%s printed %q", script, out)
	}
}

// startPythonServer runs testdata/server.py with interpreter path and
// returns the address it serves at.
func startPythonServer(t *testing.T, path, flavour string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "server.py"))
	if err != nil {
		t.Fatal(err)
	}
	addr := filepath.Join(t.TempDir(), "py.sock")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path, "-u", "-c", string(src), flavour, addr)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("python server: %v", err)
	}
	if strings.TrimSpace(line) != addr {
		t.Fatalf("python server printed %q, want %q", line, addr)
	}
	return addr
}
