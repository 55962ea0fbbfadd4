package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
)

func runTourCmd(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mpconnBin, append([]string{"tour", "--quick"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tour: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// checkSections checks that every one of wants is in out, in this order.
func checkSections(t *testing.T, out string, wants []string) {
	t.Helper()
	rest := out
	for _, want := range wants {
		i := strings.Index(rest, want)
		if i < 0 {
			t.Errorf("no %q after the previous sections in the output:\n%s", want, out)
			continue
		}
		rest = rest[i+len(want):]
	}
}

// The tour tests run bench with two cases: every case of bench, and its
// table, are tested by TestBenchQuickJSON, TestBenchTable and
// internal/bench's TestBenchReportOutput.

func TestTourPython(t *testing.T) {
	py := testPython(t)
	out := runTourCmd(t, "--python", py.Path, "--case", "rtt_bytes_64", "--case", "connect_auth")
	checkSections(t, out, []string{
		"== 1. A duplex Pipe to a child process",
		"The child is CPython " + py.Full,
		`go     | SendBytes("hello from Go")`,
		"python | received 13 bytes:",
		`go     | RecvBytes: "hello from CPython ` + py.Full + `"`,
		`go     | Send(benchObject{ID:1, Name:"hello", Vals:[]float64{1.5, 2.5, 3.5}})`,
		"python | received a dict: {",
		`go     | Recv into a struct: {From: "CPython ` + py.Full + `", Sum: 7.5, Pair: []interface {}{1, "HELLO"}, None: nil}`,
		"go     | SendMany(1, 2, 3): 3 messages in one write",
		"python | received 3 messages, one recv() each: [1, 2, 3]",
		"python | saw EOF",
		"== 2. An authenticated Listener",
		"go     | Accept: an authenticated connection",
		"python | Client(authkey='tour-secret') connected and authenticated",
		"go     | Accept refused the client:",
		"errors.Is(err, mpconn.ErrAuthentication) = true",
		"python | Client(authkey='wrong-key') raised AuthenticationError",
		"== 3. mpconn bench --quick",
		"rtt_bytes_64:",
		"CPython " + py.Full,
		"connect_auth:",
		"bench took",
	})
}

func TestTourWithoutPython(t *testing.T) {
	out := runTourCmd(t, "--no-python", "--case", "rtt_bytes_64", "--case", "connect_auth")
	checkSections(t, out, []string{
		"== 1. A duplex Pipe to a child process",
		"No CPython in use: the child is this program again",
		`child  | received 13 bytes: "hello from Go"`,
		`go     | RecvBytes: "hello from the Go child"`,
		`child  | received benchObject{ID:1, Name:"hello", Vals:[]float64{1.5, 2.5, 3.5}}`,
		`go     | Recv into a struct: {From: "the Go child", Sum: 7.5, Pair: []interface {}{1, "HELLO"}, None: nil}`,
		"go     | SendMany(1, 2, 3): 3 messages in one write",
		"child  | received 3 messages, one Recv each: [1 2 3]",
		"child  | saw EOF",
		"== 2. An authenticated Listener",
		"go     | Accept: an authenticated connection",
		`client | Dial(AuthKey "tour-secret") connected and authenticated`,
		"go     | Accept refused the client:",
		`client | Dial(AuthKey "wrong-key") failed:`,
		"authentication failed",
		"== 3. mpconn bench --quick",
		"bench took",
	})
	if strings.Contains(out, "CPython ") && !strings.Contains(out, "No CPython in use") {
		t.Errorf("CPython used despite --no-python:\n%s", out)
	}
}
