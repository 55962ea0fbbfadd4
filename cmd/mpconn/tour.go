package main

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/internal/bench"
	"github.com/mpconn/mpconn/internal/cpython"
	"github.com/mpconn/mpconn/pickle"
)

var tourCommand = &command{
	name:    "tour",
	summary: "a self-contained demonstration: a Python child, an authenticated Listener, bench",
	run:     runTour,
}

const tourIntro = `usage: mpconn tour [flags]

A demonstration that needs nothing but this program and, ideally, a CPython:

 1. a duplex Pipe to a child process, the newest CPython found (a Go child
    when there is none), exchanging bytes and pickled objects, with what
    each side saw;
 2. an authenticated Listener on a fresh Unix socket, with a client that
    knows the key and one that does not;
 3. "mpconn bench" with its defaults (or --quick, --case), and its table.
`

// tourPy is the CPython Pipe child and Listener client of the tour.
//
//go:embed tour_peer.py
var tourPy string

// benchObject is the object of bench's object cases, which the tour
// sends too; as a type of this program, it prints as main.benchObject.
type benchObject bench.Object

// benchObj is the value the tour sends.
var benchObj = benchObject(bench.Obj)

// tourTimeout bounds every step of the tour but the bench.
const tourTimeout = 30 * time.Second

func runTour(ctx context.Context, out output, args []string) int {
	fs := newFlagSet("tour", out)
	var cfg bench.Config
	fs.BoolVar(&cfg.Quick, "quick", false, "run bench with --quick (very short runs)")
	fs.Func("python", "use CPython `CMD` (repeatable; default: every CPython found; the Pipe child is the newest)", func(s string) error {
		cfg.Pythons = append(cfg.Pythons, s)
		return nil
	})
	fs.BoolVar(&cfg.NoPython, "no-python", false, "use no CPython: a Go child, Go clients, bench without CPython")
	fs.Func("case", "run only bench case `NAME` (repeatable; default: every case)", func(s string) error {
		if !bench.HasCase(s) {
			return fmt.Errorf("unknown case %q; the cases are %s", s, bench.CaseNames())
		}
		cfg.Cases = append(cfg.Cases, s)
		return nil
	})
	pos, status := parseFlags(fs, out, tourIntro, args)
	if status >= 0 {
		return status
	}
	if len(pos) > 0 {
		return usageError(fs, out, tourIntro, "unexpected arguments: %q", pos)
	}
	pys, err := cfg.FindPythons()
	if err != nil {
		out.errorf("tour", "%v", err)
		return exitFail
	}
	py, havePy := bench.NewestPython(pys)
	w := out.stdout

	fmt.Fprintf(w, "== 1. A duplex Pipe to a child process\n\n")
	if err := tourPipe(ctx, w, py, havePy); err != nil {
		out.errorf("tour", "pipe: %v", err)
		return exitFail
	}
	fmt.Fprintf(w, "\n== 2. An authenticated Listener on a fresh Unix socket\n\n")
	if err := tourListener(ctx, w, py, havePy); err != nil {
		out.errorf("tour", "listener: %v", err)
		return exitFail
	}
	fmt.Fprintf(w, "\n== 3. mpconn bench")
	if cfg.Quick {
		fmt.Fprintf(w, " --quick (very short runs: rough numbers)")
	}
	fmt.Fprintf(w, "\n\n")
	if err := bench.Run(ctx, out.stdout, out.stderr, cfg); err != nil {
		out.errorf("tour", "bench: %v", err)
		return exitFail
	}
	return exitOK
}

// tourPipe runs part 1: a Pipe to a CPython child, or to this program
// when there is no CPython.
func tourPipe(ctx context.Context, w io.Writer, py cpython.Python, havePy bool) error {
	ctx, cancel := context.WithTimeout(ctx, tourTimeout)
	defer cancel()
	var opts *mpconn.ConnOptions // the default codec: pickles, protocol 4
	if havePy && py.Major == 2 {
		// CPython 2.7 reads protocol 2 at most. (The default codec
		// answers a Python 2 peer in protocol 2 on its own, but here Go
		// speaks first.)
		opts = &mpconn.ConnOptions{Codec: mpconn.PickleCodec{Protocol: 2}}
	}
	here, there, err := mpconn.Pipe(opts)
	if err != nil {
		return err
	}
	defer here.Close()
	f, err := there.File()
	there.Close()
	if err != nil {
		return err
	}
	var cmd *exec.Cmd
	var name string
	if havePy {
		name = "python"
		cmd = py.Command(ctx, tourPy, "child")
		fmt.Fprintf(w, "The child is CPython %s (%s), running multiprocessing.connection.Connection(3).\n", py.Full, py.Path)
	} else {
		exe, err := os.Executable()
		if err != nil {
			f.Close()
			return err
		}
		name = "child"
		cmd = exec.CommandContext(ctx, exe, "bench", bench.ProcessArg, "tour-child")
		cmd.WaitDelay = 5 * time.Second
		fmt.Fprintf(w, "No CPython in use: the child is this program again, using mpconn.FDConn(3).\n")
	}
	fmt.Fprintf(w, "The parent made the Pipe with mpconn.Pipe and handed one end over as descriptor 3.\n\n")
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		f.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	lines := bufio.NewScanner(stdout)
	// childSaw prints the child's next line: it prints before it answers,
	// so the line is there once its answer has arrived.
	childSaw := func() error {
		if !lines.Scan() {
			return fmt.Errorf("the child stopped early: %v", lines.Err())
		}
		fmt.Fprintf(w, "  %-6s | %s\n", name, lines.Text())
		return nil
	}
	fail := func(err error) error {
		here.Close()
		cmd.Wait()
		return err
	}

	msg := []byte("hello from Go")
	if err := here.SendBytes(ctx, msg); err != nil {
		return fail(err)
	}
	fmt.Fprintf(w, "  %-6s | SendBytes(%q)\n", "go", msg)
	reply, err := here.RecvBytes(ctx)
	if err != nil {
		return fail(err)
	}
	if err := childSaw(); err != nil {
		return fail(err)
	}
	fmt.Fprintf(w, "  %-6s | RecvBytes: %q\n", "go", reply)

	if err := here.Send(ctx, benchObj); err != nil {
		return fail(err)
	}
	fmt.Fprintf(w, "  %-6s | Send(%s)\n", "go", goSyntax(benchObj))
	var got tourReply
	if err := here.Recv(ctx, &got); err != nil {
		return fail(err)
	}
	if err := childSaw(); err != nil {
		return fail(err)
	}
	fmt.Fprintf(w, "  %-6s | Recv into a struct: %s\n", "go", got)

	n, err := here.SendMany(ctx, 1, 2, 3)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(w, "  %-6s | SendMany(1, 2, 3): %d messages in one write\n", "go", n)
	if err := childSaw(); err != nil {
		return fail(err)
	}
	here.Close()
	if err := childSaw(); err != nil {
		return fail(err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("child: %w", err)
	}
	return nil
}

// tourListener runs part 2: an authenticated Listener and two clients,
// one with the key and one without.
func tourListener(ctx context.Context, w io.Writer, py cpython.Python, havePy bool) error {
	ctx, cancel := context.WithTimeout(ctx, tourTimeout)
	defer cancel()
	key := "tour-secret"
	l, err := mpconn.Listen("", &mpconn.ListenOptions{AuthKey: []byte(key)})
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Fprintf(w, "mpconn.Listen(\"\", AuthKey %q) listens on %s\n", key, l.Address())
	if havePy {
		fmt.Fprintf(w, "The clients are CPython %s: multiprocessing.connection.Client(address, authkey=...).\n\n", py.Full)
	} else {
		fmt.Fprintf(w, "No CPython in use: the clients are mpconn.Dial with an AuthKey.\n\n")
	}
	for _, k := range []string{key, "wrong-key"} {
		client, wait, err := tourClient(ctx, py, havePy, l.Address(), k)
		if err != nil {
			return err
		}
		c, err := l.Accept(ctx)
		var herr *mpconn.HandshakeError
		switch {
		case errors.As(err, &herr):
			fmt.Fprintf(w, "  %-6s | Accept refused the client: %v\n", "go", err)
			fmt.Fprintf(w, "  %-6s |   errors.Is(err, mpconn.ErrAuthentication) = %v\n", "go", errors.Is(err, mpconn.ErrAuthentication))
		case err != nil:
			wait()
			return err
		default:
			fmt.Fprintf(w, "  %-6s | Accept: an authenticated connection\n", "go")
			msg, err := c.RecvBytes(ctx)
			if err != nil {
				c.Close()
				wait()
				return err
			}
			fmt.Fprintf(w, "  %-6s | RecvBytes: %q\n", "go", msg)
			reply := []byte("welcome, you know the key")
			if err := c.SendBytes(ctx, reply); err != nil {
				c.Close()
				wait()
				return err
			}
			fmt.Fprintf(w, "  %-6s | SendBytes(%q)\n", "go", reply)
			c.Close()
		}
		text, err := wait()
		if err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
			fmt.Fprintf(w, "  %-6s | %s\n", client, line)
		}
		fmt.Fprintln(w)
	}
	return nil
}

// tourClient starts a client of the Listener at addr with key and returns
// its name and a function that waits for it and returns what it printed.
func tourClient(ctx context.Context, py cpython.Python, havePy bool, addr, key string) (string, func() (string, error), error) {
	if havePy {
		cmd := py.Command(ctx, tourPy, "client", addr, key)
		var out strings.Builder
		cmd.Stdout = &out
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return "", nil, err
		}
		return "python", func() (string, error) {
			err := cmd.Wait()
			if err != nil {
				err = fmt.Errorf("python client: %w", err)
			}
			return out.String(), err
		}, nil
	}
	done := make(chan string, 1)
	go func() {
		c, err := mpconn.Dial(ctx, addr, &mpconn.DialOptions{AuthKey: []byte(key)})
		if err != nil {
			done <- fmt.Sprintf("Dial(AuthKey %q) failed: %v", key, err)
			return
		}
		defer c.Close()
		s := fmt.Sprintf("Dial(AuthKey %q) connected and authenticated", key)
		if err := c.SendBytes(ctx, []byte("hi from an authenticated Go client")); err != nil {
			done <- s + "\n" + err.Error()
			return
		}
		reply, err := c.RecvBytes(ctx)
		if err != nil {
			done <- s + "\n" + err.Error()
			return
		}
		done <- s + fmt.Sprintf("\nthe Listener answered %q", reply)
	}()
	return "client", func() (string, error) { return <-done, nil }, nil
}

// goSyntax prints v as Go source, without this package's name.
func goSyntax(v any) string { return strings.TrimPrefix(fmt.Sprintf("%#v", v), "main.") }

// tourReply is what the tour's child sends back: CPython's
// {"from": ..., "sum": ..., "pair": (id, NAME), "none": None}.
type tourReply struct {
	From string  `pickle:"from"`
	Sum  float64 `pickle:"sum"`
	Pair []any   `pickle:"pair"`
	None *string `pickle:"none"`
}

func (r tourReply) String() string {
	none := "nil"
	if r.None != nil {
		none = strconv.Quote(*r.None)
	}
	return fmt.Sprintf("{From: %q, Sum: %v, Pair: %#v, None: %s}", r.From, r.Sum, r.Pair, none)
}

// tourGoChild is the tour's Pipe child when there is no CPython: this
// program again, on descriptor 3.
// runTourChild is the tour's Go child (mpconn bench __process tour-child).
func runTourChild(ctx context.Context, out output) int {
	if err := tourGoChild(ctx, out); err != nil {
		fmt.Fprintf(out.stderr, "mpconn tour child: %v\n", err)
		return exitFail
	}
	return exitOK
}

func tourGoChild(ctx context.Context, out output) error {
	c, err := mpconn.FDConn(3, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	msg, err := c.RecvBytes(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out.stdout, "received %d bytes: %q\n", len(msg), msg)
	if err := c.SendBytes(ctx, []byte("hello from the Go child")); err != nil {
		return err
	}
	var v benchObject
	if err := c.Recv(ctx, &v); err != nil {
		return err
	}
	fmt.Fprintf(out.stdout, "received %s\n", goSyntax(v))
	sum := 0.0
	for _, x := range v.Vals {
		sum += x
	}
	reply := map[string]any{"from": "the Go child", "sum": sum, "pair": pickle.Tuple{v.ID, strings.ToUpper(v.Name)}, "none": nil}
	if err := c.Send(ctx, reply); err != nil {
		return err
	}
	var many []int
	for range 3 {
		var x int
		if err := c.Recv(ctx, &x); err != nil {
			return err
		}
		many = append(many, x)
	}
	fmt.Fprintf(out.stdout, "received %d messages, one Recv each: %v\n", len(many), many)
	if _, err := c.RecvBytes(ctx); err == io.EOF {
		fmt.Fprintf(out.stdout, "saw EOF: the parent closed the Pipe\n")
		return nil
	} else if err != nil {
		return err
	}
	return errors.New("an unexpected message")
}
