//go:build unix

package mpconn

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// osReadable reports whether the operating system has bytes waiting on
// c's descriptor.
func osReadable(t *testing.T, c *Conn) bool {
	t.Helper()
	fd, err := c.Fd()
	if err != nil {
		t.Fatal(err)
	}
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(p, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
}

// Three messages arrive in one read; after one is received the operating
// system has nothing left, yet the Conn is ready twice more.
func TestWaitSeesBufferedMessages(t *testing.T) {
	a, b := pipePair(t)
	eachWaiter(t, []Waitable{b}, func(t *testing.T, wait waiter) {
		ctx := testCtx(t)
		var frames []byte
		for i := 0; i < 3; i++ {
			frames = append(frames, hdr(1)...)
			frames = append(frames, byte(i))
		}
		fa, _ := a.Fd()
		if _, err := unix.Write(fa, frames); err != nil {
			t.Fatal(err)
		}
		if m, err := b.RecvBytes(ctx); err != nil || m[0] != 0 {
			t.Fatal(m, err)
		}
		if osReadable(t, b) {
			t.Fatal("test premise: the socket still has bytes")
		}
		for i := 1; i < 3; i++ {
			got, err := wait(ctx, 0)
			wantReady(t, got, err, b)
			got, err = wait(ctx, -1)
			wantReady(t, got, err, b)
			if m, err := b.RecvBytes(ctx); err != nil || m[0] != byte(i) {
				t.Fatal(m, err)
			}
		}
		got, err := wait(ctx, 0)
		wantReady(t, got, err)
	})
}

// Part of a message is not ready; the rest makes it ready, and the
// receive after it does not block.
func TestWaitPartialMessages(t *testing.T) {
	for _, size := range []int{10, 100000, 3 << 20} {
		t.Run(itoa(size), func(t *testing.T) {
			c, raw := rawPair(t, nil)
			eachWaiter(t, []Waitable{c}, func(t *testing.T, wait waiter) {
				ctx := testCtx(t)
				msg := make([]byte, size)
				for i := range msg {
					msg[i] = byte(i * 7)
				}
				frame := append(hdr(size), msg...)
				half := len(frame) / 2
				more := make(chan bool, 1)
				wrote := make(chan error, 1)
				go func() {
					_, err := raw.Write(frame[:half])
					if err == nil && <-more {
						_, err = raw.Write(frame[half:])
					}
					wrote <- err
				}()
				got, err := wait(ctx, 20*time.Millisecond)
				wantReady(t, got, err)
				got, err = wait(ctx, 0)
				wantReady(t, got, err)
				more <- true
				got, err = wait(ctx, -1)
				wantReady(t, got, err, c)
				if err := <-wrote; err != nil {
					t.Fatal(err)
				}
				done, cancel := context.WithCancel(ctx)
				cancel()
				m, err := c.RecvBytes(done)
				if err != nil || !slices.Equal(m, msg) {
					t.Fatalf("receive after wait: %d bytes, %v", len(m), err)
				}
				got, err = wait(ctx, 0)
				wantReady(t, got, err)
			})
		})
	}
}

// A handshake failure is something Accept returns at once, so the
// Listener is ready.
func TestWaitListenerHandshakeError(t *testing.T) {
	l, err := Listen("", &ListenOptions{AuthKey: []byte("k"), HandshakeTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := testCtx(t)
	network, addr, _ := ParseAddress(l.Address())
	nc, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	got, err := Wait(ctx, -1, l)
	wantReady(t, got, err, l)
	if _, err := l.Accept(ctx); err == nil {
		t.Fatal("accept: a failed handshake gave a connection")
	}
}
