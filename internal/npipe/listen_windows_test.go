package npipe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/windows"
)

func listen(t *testing.T, name string, opts *Options) *Listener {
	t.Helper()
	l, err := Listen(name, opts)
	if err != nil {
		t.Fatalf("Listen(%q): %v", name, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestListenUniqueName(t *testing.T) {
	l := listen(t, "", nil)
	want := fmt.Sprintf(`%smpconn-%d-`, Prefix, os.Getpid())
	if !strings.HasPrefix(l.Addr(), want) || !IsAddress(l.Addr()) {
		t.Fatalf("Addr() = %q; want a name starting with %q", l.Addr(), want)
	}
	if l2 := listen(t, "", nil); l2.Addr() == l.Addr() {
		t.Fatalf("two Listen(\"\") gave the same name %q", l.Addr())
	}
}

func TestListenExisting(t *testing.T) {
	l := listen(t, "", nil)
	l.Close()
	l = listen(t, l.Addr(), nil) // the name is free again after Close
	l2, err := Listen(l.Addr(), nil)
	if err == nil {
		l2.Close()
		if onWine() {
			t.Skip("Wine 8.0 ignores FILE_FLAG_FIRST_PIPE_INSTANCE: a second Listen on a name in use succeeds there (Windows refuses it)")
		}
		t.Fatal("a second Listen on the same name succeeded (FILE_FLAG_FIRST_PIPE_INSTANCE)")
	}
	if !errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		t.Fatalf("second Listen: %v; want ERROR_ACCESS_DENIED", err)
	}
}

func TestDialMissing(t *testing.T) {
	_, err := Dial(testCtx(t), UniqueName(os.Getpid()))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Dial of a missing pipe: %v; want os.ErrNotExist", err)
	}
}

// echo serves every accepted connection: each message comes back.
func echo(t *testing.T, ctx context.Context, l *Listener, conns int) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range conns {
			c, err := l.Accept(ctx)
			if err != nil {
				t.Errorf("Accept: %v", err)
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				for {
					msg, err := c.ReadMsg(ctx, 0)
					if err != nil {
						return
					}
					if err := c.WriteMsg(ctx, msg); err != nil {
						t.Errorf("echo: %v", err)
						return
					}
				}
			}()
		}
	}()
	return &wg
}

// Clients that dial at once all get through: while Accept connects the
// oldest instance another one listens, and Dial waits out busy moments.
func TestManyClients(t *testing.T) {
	ctx := testCtx(t)
	l := listen(t, "", nil)
	const clients = 12
	served := echo(t, ctx, l, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(ctx, l.Addr())
			if err != nil {
				t.Errorf("client %d: Dial: %v", i, err)
				return
			}
			defer c.Close()
			for j, n := range []int{0, i, HeadSize + i} {
				msg := pattern(n, i+j)
				if err := c.WriteMsg(ctx, msg); err != nil {
					t.Errorf("client %d: %v", i, err)
					return
				}
				got, err := c.ReadMsg(ctx, 0)
				if err != nil || string(got) != string(msg) {
					t.Errorf("client %d: echo of %d bytes: got %d bytes, %v", i, n, len(got), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	served.Wait()
}

// A client that connects while no Accept runs takes the one listening
// instance; the next client finds every instance busy and waits in Dial
// until an Accept makes a new one.
func TestDialWaitsForBusyPipe(t *testing.T) {
	ctx := testCtx(t)
	l := listen(t, "", nil)
	c1, err := Dial(ctx, l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	dialed := make(chan error, 1)
	go func() {
		c2, err := Dial(ctx, l.Addr())
		if err == nil {
			c2.WriteMsg(ctx, []byte("second"))
			c2.Close()
		}
		dialed <- err
	}()
	s1, err := l.Accept(ctx) // makes the next instance, which c2 gets
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := <-dialed; err != nil {
		t.Fatalf("second Dial: %v", err)
	}
	if got, err := s2.ReadMsg(ctx, 0); err != nil || string(got) != "second" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDialBusyCancelled(t *testing.T) {
	ctx := testCtx(t)
	l := listen(t, "", nil)
	c1, err := Dial(ctx, l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	dctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Dial(dctx, l.Addr()); err != context.Canceled {
		t.Fatalf("Dial with a cancelled context: %v", err)
	}
}

// A client that connects, writes and closes before Accept reaches its
// instance (ERROR_NO_DATA in ConnectNamedPipe) is still accepted, and its
// message read.
func TestAcceptAfterClientLeft(t *testing.T) {
	ctx := testCtx(t)
	l := listen(t, "", nil)
	c, err := Dial(ctx, l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMsg(ctx, []byte("bye")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s, err := l.Accept(ctx)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	defer s.Close()
	if got, err := s.ReadMsg(ctx, 0); err != nil || string(got) != "bye" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestAcceptCancel(t *testing.T) {
	ctx := testCtx(t)
	l := listen(t, "", nil)
	started := pending(t)
	actx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { _, err := l.Accept(actx); errc <- err }()
	<-started
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("cancelled Accept: %v", err)
	}
	testHookWait = nil
	served := echo(t, ctx, l, 1)
	c, err := Dial(ctx, l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMsg(ctx, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ReadMsg(ctx, 0); err != nil || string(got) != "hi" {
		t.Fatalf("got %q, %v", got, err)
	}
	c.Close()
	served.Wait()
}

func TestListenerCloseUnblocksAccept(t *testing.T) {
	ctx := testCtx(t)
	l := listen(t, "", nil)
	started := pending(t)
	errc := make(chan error, 1)
	go func() { _, err := l.Accept(ctx); errc <- err }()
	<-started
	l.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept across Close: %v; want net.ErrClosed", err)
	}
	if _, err := l.Accept(ctx); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v; want net.ErrClosed", err)
	}
	if _, err := Dial(ctx, l.Addr()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Dial after Close: %v; want os.ErrNotExist", err)
	}
}

// The pipe's DACL: the current user alone by default; the default
// descriptor (more entries) with DefaultSecurity.
func TestSecurity(t *testing.T) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	me := tu.User.Sid.String()
	check := func(t *testing.T, h windows.Handle, onlyMe bool) {
		sd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT, windows.DACL_SECURITY_INFORMATION)
		if err != nil {
			t.Fatalf("GetSecurityInfo: %v", err)
		}
		sddl := sd.String()
		if got := strings.Count(sddl, "(A;"); onlyMe && (got != 1 || !strings.Contains(sddl, ";"+me+")")) {
			t.Fatalf("DACL %s; want one entry, for %s", sddl, me)
		}
		if !onlyMe && sddl == fmt.Sprintf("D:P(A;;FA;;;%s)", me) {
			t.Fatalf("DACL %s with DefaultSecurity; want the default descriptor", sddl)
		}
	}
	t.Run("listener", func(t *testing.T) {
		l := listen(t, "", nil)
		check(t, l.queue[0], true)
	})
	t.Run("pipe", func(t *testing.T) {
		r, _ := pipe(t, true)
		check(t, r.Handle(), true)
	})
	t.Run("cpython", func(t *testing.T) {
		l := listen(t, "", &Options{DefaultSecurity: true, AllowRemote: true})
		check(t, l.queue[0], false)
		ctx := testCtx(t)
		served := echo(t, ctx, l, 1)
		c, err := Dial(ctx, l.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		served.Wait()
	})
}
