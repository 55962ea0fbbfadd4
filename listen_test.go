package mpconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseAddress(t *testing.T) {
	cases := []struct {
		in, network, addr string
		bad               bool
	}{
		{"127.0.0.1:0", "tcp", "127.0.0.1:0", false},
		{"localhost:6000", "tcp", "localhost:6000", false},
		{"[::1]:80", "tcp", "[::1]:80", false},
		{":0", "tcp", ":0", false},
		{"/tmp/x.sock", "unix", "/tmp/x.sock", false},
		{"./x.sock", "unix", "./x.sock", false},
		{"dir/x:1", "unix", "dir/x:1", false},
		{"sock", "unix", "sock", false},
		{"@abstract", "unix", "@abstract", false},
		{"\x00abstract", "unix", "@abstract", false},
		{"tcp://host:1", "tcp", "host:1", false},
		{"unix://rel", "unix", "rel", false},
		{"unix://", "", "", true},
		{"host:notaport", "", "", true},
		{"host:70000", "", "", true},
		{"", "", "", true},
	}
	// A named pipe on Windows (as in CPython), an error elsewhere.
	if pipeNetwork != "" {
		cases = append(cases, struct {
			in, network, addr string
			bad               bool
		}{`\\.\pipe\x`, "pipe", `\\.\pipe\x`, false}, struct {
			in, network, addr string
			bad               bool
		}{`\\server\pipe\x`, "pipe", `\\server\pipe\x`, false})
	} else {
		cases = append(cases, struct {
			in, network, addr string
			bad               bool
		}{`\\.\pipe\x`, "", "", true})
	}
	for _, c := range cases {
		n, a, err := ParseAddress(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseAddress(%q) = %s %s, want an error", c.in, n, a)
			}
			continue
		}
		if err != nil || n != c.network || a != c.addr {
			t.Errorf("ParseAddress(%q) = %q %q %v, want %q %q", c.in, n, a, err, c.network, c.addr)
		}
	}
}

// TestListenErrorNamesAddress: a failed bind says which address it was.
func TestListenErrorNamesAddress(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no", "dir", "x.sock")
	busy, err := Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, addr := range []string{missing, busy.Address()} {
		l, err := Listen(addr, nil)
		if err == nil {
			l.Close()
			t.Fatalf("Listen(%q) succeeded", addr)
		}
		if !strings.Contains(err.Error(), addr) {
			t.Errorf("Listen(%q): %v: the address is not named", addr, err)
		}
	}
}

func TestListenFreshUnixAddress(t *testing.T) {
	l, err := Listen("", nil)
	if err != nil {
		t.Fatal(err)
	}
	path := l.Address()
	if !filepath.IsAbs(path) || strings.HasPrefix(path, "@") {
		t.Fatalf("fresh address %q is not a filesystem path", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket file mode %v, want socket 0600", fi.Mode())
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
	}
	l.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket file left after Close: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("directory left after Close: %v", err)
	}
}

func TestListenUnixPathMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	l, err := Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	l.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket file left after Close")
	}
}

func TestListenTCPReportsPort(t *testing.T) {
	l, err := Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ta, ok := l.Addr().(*net.TCPAddr)
	if !ok || ta.Port == 0 {
		t.Fatalf("Addr() = %v", l.Addr())
	}
	if l.Address() != ta.String() {
		t.Fatalf("Address() = %q, Addr() = %v", l.Address(), ta)
	}
}

func TestListenDialEveryFamily(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("k")} {
		for _, addr := range []string{"", "127.0.0.1:0", filepath.Join(t.TempDir(), fmt.Sprintf("sock%d", len(key))), fmt.Sprintf("@mpconn-test-%s-%d", t.Name(), len(key))} {
			t.Run(fmt.Sprintf("auth=%v/%s", key != nil, addr), func(t *testing.T) {
				ctx := testCtx(t)
				l, err := Listen(addr, &ListenOptions{Backlog: 1, AuthKey: key})
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				if l.LastAccepted() != nil {
					t.Error("LastAccepted before any accept")
				}
				errc := make(chan error, 1)
				local := make(chan net.Addr, 1)
				go func() {
					c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: key})
					if err != nil {
						errc <- err
						return
					}
					defer c.Close()
					local <- c.LocalAddr()
					if err := c.SendBytes(ctx, []byte("ping")); err != nil {
						errc <- err
						return
					}
					m, err := c.RecvBytes(ctx)
					if err == nil && string(m) != "pong" {
						err = errors.New("bad reply " + string(m))
					}
					errc <- err
				}()
				c, err := l.Accept(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if m, err := c.RecvBytes(ctx); err != nil || string(m) != "ping" {
					t.Fatal(m, err)
				}
				c.SendBytes(ctx, []byte("pong"))
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
				if l.LastAccepted() == nil {
					t.Error("LastAccepted is nil after an accept")
				}
				if la := <-local; la == nil || la.Network() != c.LocalAddr().Network() {
					t.Errorf("client LocalAddr %v, server LocalAddr %v", la, c.LocalAddr())
				} else if strings.Contains(addr, ":") && la.String() != c.RemoteAddr().String() {
					t.Errorf("client LocalAddr %v, server RemoteAddr %v", la, c.RemoteAddr())
				}
				if strings.Contains(addr, ":") && l.LastAccepted().String() != c.RemoteAddr().String() {
					t.Errorf("LastAccepted %v, RemoteAddr %v", l.LastAccepted(), c.RemoteAddr())
				}
				if !strings.Contains(addr, ":") && c.LocalAddr().String() != l.Addr().String() {
					t.Errorf("server LocalAddr %v, listener %v", c.LocalAddr(), l.Addr())
				}
			})
		}
	}
}

func TestListenerCloseUnblocksAccept(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("k")} {
		// (With a key, on Linux, Accept first serves clients itself for
		// a few milliseconds, then waits for the accept loop.)
		for _, pause := range []time.Duration{0, time.Millisecond, 20 * time.Millisecond} {
			t.Run(fmt.Sprintf("auth=%v/%v", key != nil, pause), func(t *testing.T) {
				l, err := Listen("", &ListenOptions{AuthKey: key})
				if err != nil {
					t.Fatal(err)
				}
				errc := make(chan error, 1)
				go func() { _, err := l.Accept(context.Background()); errc <- err }()
				time.Sleep(pause)
				l.Close()
				select {
				case err := <-errc:
					if !errors.Is(err, net.ErrClosed) {
						t.Fatalf("got %v", err)
					}
				case <-time.After(30 * time.Second):
					t.Fatal("Accept still blocked after Close")
				}
				if _, err := l.Accept(context.Background()); !errors.Is(err, net.ErrClosed) {
					t.Fatalf("accept after close: %v", err)
				}
				if err := l.Close(); err != nil {
					t.Fatalf("second Close: %v", err)
				}
			})
		}
	}
}

func TestAcceptContext(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("k")} {
		l, err := Listen("", &ListenOptions{AuthKey: key})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		for _, d := range []time.Duration{time.Millisecond, 20 * time.Millisecond} {
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			if _, err := l.Accept(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("auth=%v, %v: got %v", key != nil, d, err)
			}
		}
		// The Listener still works.
		ctx := testCtx(t)
		go func() {
			if c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: key}); err == nil {
				c.Close()
			}
		}()
		c, err := l.Accept(ctx)
		if err != nil {
			t.Fatalf("auth=%v: Accept after timeouts: %v", key != nil, err)
		}
		c.Close()
	}
}

func TestManyClients(t *testing.T) {
	ctx := testCtx(t)
	l, err := Listen("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const n = 50
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := l.Accept(ctx)
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				for {
					m, err := c.RecvBytes(ctx)
					if err != nil {
						return
					}
					c.SendBytes(ctx, m)
				}
			}()
		}
	}()
	var cwg sync.WaitGroup
	for i := 0; i < n; i++ {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			c, err := Dial(ctx, l.Address(), nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for j := 0; j < 20; j++ {
				msg := []byte(strings.Repeat("x", i*j))
				c.SendBytes(ctx, msg)
				got, err := c.RecvBytes(ctx)
				if err != nil || string(got) != string(msg) {
					t.Errorf("client %d: %v", i, err)
					return
				}
			}
		}()
	}
	cwg.Wait()
	l.Close()
	wg.Wait()
}

func TestDialErrors(t *testing.T) {
	ctx := testCtx(t)
	if _, err := Dial(ctx, filepath.Join(t.TempDir(), "nothing"), nil); err == nil {
		t.Error("dial to a missing socket succeeded")
	}
	if _, err := Dial(ctx, "", nil); err == nil {
		t.Error("dial to an empty address succeeded")
	}
	if _, err := Listen("", &ListenOptions{AuthDigest: "sha512"}); err == nil {
		t.Error("unsupported digest accepted")
	}
}
