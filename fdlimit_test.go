//go:build linux

package mpconn

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// fillDescriptorTable lowers the soft RLIMIT_NOFILE to a little above the
// descriptors open now and opens /dev/null until no descriptor is left, so
// that the kernel cannot install descriptors that arrive with SCM_RIGHTS
// (it sets MSG_CTRUNC instead). The returned func frees the table and
// restores the limit.
func fillDescriptorTable(t *testing.T) (restore func()) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	highest := 0
	for _, e := range ents {
		var fd int
		for _, ch := range e.Name() {
			fd = fd*10 + int(ch-'0')
		}
		highest = max(highest, fd)
	}
	low := old
	low.Cur = uint64(highest + 64)
	if low.Cur > old.Cur {
		t.Skipf("the descriptor limit (%d) is too low to lower", old.Cur)
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Skipf("cannot lower RLIMIT_NOFILE: %v", err)
	}
	var fillers []int
	done := false
	restore = func() {
		if done {
			return
		}
		done = true
		for _, fd := range fillers {
			unix.Close(fd)
		}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
			t.Errorf("restoring RLIMIT_NOFILE: %v", err)
		}
	}
	t.Cleanup(restore)
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EMFILE) {
			break
		}
		if err != nil {
			restore()
			t.Fatal(err)
		}
		fillers = append(fillers, fd)
		if len(fillers) > 1<<16 {
			restore()
			t.Fatalf("still no EMFILE after %d descriptors", len(fillers))
		}
	}
	return restore
}

// TestDescriptorsAtLimit runs the receiving Conn with its descriptor table
// full, so that every control message the kernel delivers is truncated
// (MSG_CTRUNC, no descriptor). Messages keep their framing, the Conn keeps
// no queue of empty batches (at most the one a RecvFile could claim), a
// RecvFile of a lost descriptor says so, and once the table has room
// descriptors pass again.
func TestDescriptorsAtLimit(t *testing.T) {
	ctx := testCtx(t)
	c, raw := rawPair(t, nil)
	r, w := osPipe(t)
	rs := raw.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	u := c.t.(*unixTransport)

	restore := fillDescriptorTable(t)
	const msgs = 2000
	for i := range msgs {
		// Every message carries descriptors twice: on the first byte
		// of its header (where a message may begin) and on its last
		// payload byte (inside the message).
		sendWithFDs(t, rs, []byte{0}, int(w.Fd()), 3)
		sendWithFDs(t, rs, []byte{0, 0, 2, byte(i), byte(i >> 8)}, int(w.Fd()), 3)
		msg, err := c.RecvBytes(ctx)
		if err != nil || len(msg) != 2 || msg[0] != byte(i) || msg[1] != byte(i>>8) {
			restore()
			t.Fatalf("message %d: %v, %v", i, msg, err)
		}
		if len(u.queue) > 1 {
			restore()
			t.Fatalf("message %d: %d batches queued", i, len(u.queue))
		}
	}
	// A descriptor sent as SendFile sends it, lost on the way: RecvFile
	// reports the loss instead of a file or ErrNoFile.
	sendWithFDs(t, rs, []byte{'F'}, int(w.Fd()), 1)
	_, err := c.RecvFile(ctx)
	if err == nil || errors.Is(err, ErrNoFile) || !strings.Contains(err.Error(), "lost") {
		restore()
		t.Fatalf("RecvFile of a truncated batch: %v, want an error saying the descriptors were lost", err)
	}
	restore()

	if held := pipeLinks(t, r) - 2; held != 0 {
		t.Fatalf("the Conn holds %d descriptors of the pipe", held)
	}
	// With room in the table again, a descriptor arrives.
	sendWithFDs(t, rs, []byte{'F'}, int(w.Fd()), 1)
	f, err := c.RecvFile(ctx)
	if err != nil {
		t.Fatalf("RecvFile after the limit was lifted: %v", err)
	}
	defer f.Close()
	if _, err := w.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := r.Read(b); err != nil || b[0] != 'x' {
		t.Fatalf("reading the pipe: %q, %v", b, err)
	}
	if got := pipeLinks(t, r); got != 3 {
		t.Fatalf("%d descriptors of the pipe open, want 3 (r, w and the received one)", got)
	}
}
