package main

// The rough edges a new user meets first: error lines, wrong keys,
// listeners that are not up yet, peers that leave.

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/internal/bench"
)

func TestTidyError(t *testing.T) {
	for in, want := range map[string]string{
		"mpconn: empty address":                         "empty address",
		"dial unix /x: mpconn: handshake: no challenge": "dial unix /x: handshake: no challenge",
		"VALUE 1: mpconn: pickle: bad":                  "VALUE 1: pickle: bad",
		"nothing to tidy":                               "nothing to tidy",
	} {
		if got := tidyError(in); got != want {
			t.Errorf("tidyError(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestErrorsSayMpconnOnce: an error line names the program once, even when
// the library's error begins with "mpconn: " itself.
func TestErrorsSayMpconnOnce(t *testing.T) {
	for _, args := range [][]string{
		{"send", "", "1"},
		{"send", "tcp://", "1"},
		{"echo", "--dial", "tcp://"},
		{"listen", "unix://"},
	} {
		code, _, stderr := runMpconn(t, args...)
		if code == 0 {
			t.Errorf("%q: exit status 0, want a failure", args)
		}
		first, _, _ := strings.Cut(stderr, "\n")
		if !strings.HasPrefix(first, "mpconn "+args[0]+": ") || strings.Count(first, "mpconn") != 1 {
			t.Errorf("%q: first line of stderr %q, want \"mpconn %s: \" and no other \"mpconn\"", args, first, args[0])
		}
	}
}

// TestBindErrorsNameTheAddress: a Listener that cannot bind says which
// address it tried.
func TestBindErrorsNameTheAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	inUse := busy.Addr().String()
	missingDir := filepath.Join(t.TempDir(), "no", "such", "dir", "sock")
	for _, args := range [][]string{
		{"listen", inUse},
		{"echo", inUse},
		{"listen", missingDir},
		{"echo", "--bytes", missingDir},
	} {
		addr := args[len(args)-1]
		code, _, stderr := runMpconn(t, args...)
		if code != 1 || !strings.Contains(stderr, addr) {
			t.Errorf("%q: status %d, stderr %q; want 1 and the address", args, code, stderr)
		}
	}
}

// TestBenchUnknownCaseListsCases: a mistyped --case names the valid ones.
func TestBenchUnknownCaseListsCases(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), output{stdout: &stdout, stderr: &stderr}, []string{"bench", "--case", "rtt_bytes64"})
	if code != exitUsage {
		t.Errorf("exit status %d, want %d", code, exitUsage)
	}
	for _, c := range bench.Cases() {
		if !strings.Contains(stderr.String(), c.Name) {
			t.Errorf("stderr does not list case %s:\n%s", c.Name, stderr.String())
		}
	}
}

// noteWriter collects what a command writes and signals when it has
// written a line containing want.
type noteWriter struct {
	mu   sync.Mutex
	b    bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *noteWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if strings.Contains(w.b.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *noteWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// listenWithoutKey is a Listener without a key that accepts clients (and
// so never sends a challenge) until the test ends.
func listenWithoutKey(t *testing.T) string {
	t.Helper()
	l, err := mpconn.Listen("", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept(context.Background())
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	return l.Address()
}

// TestKeyToListenerWithoutKey: a client with a key, at a Listener without
// one, waits for a challenge that never comes. It says so on stderr while
// it waits (after noChallengeNote), and its error at the deadline says
// what the silence means.
func TestKeyToListenerWithoutKey(t *testing.T) {
	defer func(d time.Duration) { noChallengeNote = d }(noChallengeNote)
	addr := listenWithoutKey(t)

	// The note, while waiting (with no limit on the wait: the test stops
	// the command once the note is out).
	noChallengeNote = time.Millisecond
	for _, args := range [][]string{
		{"send", "--authkey", "k", "--timeout", "0", addr, "1"},
		{"echo", "--dial", "--authkey", "k", addr},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		stderr := &noteWriter{want: "drop --authkey", seen: make(chan struct{})}
		done := make(chan int, 1)
		go func() { done <- run(ctx, output{stdout: &bytes.Buffer{}, stderr: stderr}, args) }()
		select {
		case <-stderr.seen:
		case code := <-done:
			t.Errorf("%q: exit status %d before any note; stderr %q", args, code, stderr.String())
		}
		cancel()
		<-done
		if note := stderr.String(); !strings.HasPrefix(note, "mpconn "+args[0]+": nothing from the Listener") {
			t.Errorf("%q: stderr %q", args, note)
		}
	}

	// The error at the deadline.
	noChallengeNote = time.Hour
	code, _, stderr := runMpconn(t, "send", "--authkey", "k", "--timeout", "2s", addr, "1")
	if code != 1 || !strings.Contains(stderr, "no challenge came from the Listener") || !strings.Contains(stderr, "without an authentication key") {
		t.Errorf("status %d, stderr %q; want 1 and an error saying that no challenge came", code, stderr)
	}
}

// TestSendWait: with --wait, send retries an address where nothing
// listens yet until --timeout; it delivers once a Listener is up, and
// gives up at --timeout saying why.
func TestSendWait(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "later.sock")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	send := exec.CommandContext(ctx, mpconnBin, "send", "--wait", "--timeout", "50s", addr, "'late'")
	var stdout, stderr bytes.Buffer
	send.Stdout, send.Stderr = &stdout, &stderr
	if err := send.Start(); err != nil {
		t.Fatal(err)
	}
	// Whether send has tried already or not, it must connect once the
	// Listener is up.
	l, err := mpconn.Listen(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg, err := c.RecvBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendBytes(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if err := send.Wait(); err != nil || stdout.String() != "'late'\n" {
		t.Errorf("%v, stdout %q, stderr %q; want success and 'late'", err, stdout.String(), stderr.String())
	}

	code, _, errText := runMpconn(t, "send", "--wait", "--timeout", "200ms", filepath.Join(t.TempDir(), "never.sock"), "1")
	if code != 1 || !strings.Contains(errText, "gave up connecting") || !strings.Contains(errText, "no such file or directory") {
		t.Errorf("nothing listening: status %d, stderr %q; want 1, gave up, and why", code, errText)
	}
}

// TestEchoDialPeerLeaves: a peer that sends its messages and closes,
// without reading the echoes, ends echo --dial normally (status 0),
// whether echo then finds the end of the stream or a broken pipe.
func TestEchoDialPeerLeaves(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		for _, mode := range [][]string{{"--bytes"}, nil} {
			t.Run(network+strings.Join(mode, ""), func(t *testing.T) {
				addr := ""
				if network == "tcp" {
					addr = "127.0.0.1:0"
				}
				l, err := mpconn.Listen(addr, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				p := start(t, nil, append(append([]string{"echo", "--dial"}, mode...), l.Address())...)
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				c, err := l.Accept(ctx)
				if err != nil {
					t.Fatal(err)
				}
				msg := []byte("\x80\x04K\x01.") // pickle.dumps(1, 4): valid in both modes
				for range 100 {
					if err := c.SendBytes(ctx, msg); err != nil {
						t.Fatal(err)
					}
				}
				c.Close()
				if code := p.wait(t); code != 0 {
					t.Fatalf("exit status %d after the peer left, want 0 (stderr: %q)", code, p.stderr.String())
				}
			})
		}
	}
}
