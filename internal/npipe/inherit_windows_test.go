package npipe

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/windows"
)

// The child half of TestInheritedHandle: the test binary run again with
// NPIPE_TEST_CHILD_HANDLE set echoes one message over the inherited end.
func init() {
	s := os.Getenv("NPIPE_TEST_CHILD_HANDLE")
	if s == "" {
		return
	}
	os.Exit(childEcho(s))
}

func childEcho(s string) int {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 2
	}
	c, err := NewConn(windows.Handle(v))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: NewConn:", err)
		return 3
	}
	defer c.Close()
	ctx := context.Background()
	var sizes []int
	for range 2 {
		msg, err := c.ReadMsg(ctx, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child: ReadMsg:", err)
			return 4
		}
		sizes = append(sizes, len(msg))
	}
	if err := c.WriteMsg(ctx, fmt.Appendf(nil, "child got %v", sizes)); err != nil {
		fmt.Fprintln(os.Stderr, "child: WriteMsg:", err)
		return 5
	}
	return 0
}

// A pipe end handed to a child process by handle inheritance works there:
// the child ties it to its own completion port and keeps message
// boundaries (an empty message included).
func TestInheritedHandle(t *testing.T) {
	ctx := testCtx(t)
	mine, theirs := pipe(t, true)
	h, err := theirs.InheritableHandle()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "NPIPE_TEST_CHILD_HANDLE="+strconv.FormatUint(uint64(h), 10))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{AdditionalInheritedHandles: []syscall.Handle{syscall.Handle(h)}}
	if err := cmd.Start(); err != nil {
		windows.CloseHandle(h)
		t.Fatal(err)
	}
	windows.CloseHandle(h)
	theirs.Close() // the child alone holds that end now
	for _, n := range []int{0, HeadSize * 3} {
		if err := mine.WriteMsg(ctx, pattern(n, 0)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := mine.ReadMsg(ctx, 0)
	if want := fmt.Sprintf("child got [0 %d]", HeadSize*3); err != nil || string(got) != want {
		t.Fatalf("reply %q, %v", got, err)
	}
	if _, err := mine.ReadMsg(ctx, 0); err == nil {
		t.Fatal("a message after the child's reply; want EOF when it exits")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}
