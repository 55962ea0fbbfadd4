package mpconn

import (
	"fmt"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDialSlowConnectOneConnection: an authenticating Dial whose TCP
// connect takes longer than the fast path's patience goes on with the
// same socket through the poller: the Listener sees exactly one
// connection, which authenticates (a second connect, after abandoning
// the first, could leave the Listener a connection that dies in its
// handshake). The connect is made slow by a listening socket whose
// accept queue is full, so that the kernel drops the SYN until the
// queue has room again and the SYN is sent again.
func TestDialSlowConnectOneConnection(t *testing.T) {
	ctx := testCtx(t)
	key := []byte("slow connect")
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	lf := os.NewFile(uintptr(lfd), "listener")
	defer lf.Close()
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(lfd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)

	// Fill the accept queue: connects that complete at once, until one
	// does not.
	var fillers []*os.File
	defer func() {
		for _, f := range fillers {
			f.Close()
		}
	}()
	for {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fillers = append(fillers, os.NewFile(uintptr(fd), "filler"))
		err = unix.Connect(fd, sa)
		if err == unix.EINPROGRESS {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			if n, _ := unix.Poll(pfd, 200); n == 0 {
				break // this one waits: the queue is full
			}
		} else if err != nil {
			t.Fatal(err)
		}
		if len(fillers) > 64 {
			t.Skip("the accept queue does not fill up on this kernel: skipped")
		}
	}

	pending := make(chan struct{})
	pendingConnectHook = func() { close(pending) }
	defer func() { pendingConnectHook = nil }()
	type result struct {
		c   *Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := Dial(ctx, addr, &DialOptions{AuthKey: key})
		done <- result{c, err}
	}()
	select {
	case <-pending:
	case r := <-done:
		if r.c != nil {
			r.c.Close()
		}
		t.Fatalf("Dial returned before its connect was slow: %v", r.err)
	}

	// Empty the queue (the fillers, and the connect that was waiting
	// when the queue filled), then serve the connections that come,
	// until Dial returns: exactly one may, and it must authenticate.
	for _, f := range fillers {
		f.Close()
	}
	fillers = nil
	var served []error
	var dialed result
	for dialed.c == nil && dialed.err == nil {
		pfd := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(pfd, 10); n > 0 {
			nfd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			f := os.NewFile(uintptr(nfd), "accepted")
			nc, err := net.FileConn(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			// A filler's connection (closed without a word by now) or
			// the dialer's: run the handshake on each.
			c := NewConn(nc, nil)
			served = append(served, authenticateServer(ctx, c, key, "sha256"))
			defer c.Close()
		}
		select {
		case dialed = <-done:
		default:
		}
	}
	if dialed.err != nil {
		t.Fatalf("Dial: %v", dialed.err)
	}
	dialed.c.Close()
	ok := 0
	for _, err := range served {
		if err == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d connections authenticated, want 1 (results: %v)", ok, served)
	}
}
