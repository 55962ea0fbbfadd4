package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/managers"
)

var managerCommand = &command{
	name:    "manager",
	summary: "serve or call Python multiprocessing.managers objects",
	run:     runManager,
}

const managerIntro = `usage: mpconn manager serve [flags] ADDRESS
       mpconn manager call [flags] ADDRESS TYPEID METHOD [ARG...]

serve runs a manager server at ADDRESS that Python clients use as
CPython's SyncManager: SyncManager(address, authkey=KEY).connect(), then
Queue(), dict(), list(), Namespace(), Value(), Array(), Lock(), RLock(),
Semaphore(), BoundedSemaphore(), Event(), Condition(), Barrier() (Pool is
refused with NotImplementedError). The first line of standard output is
"serving on ADDRESS", with the address actually bound; it serves until
SIGINT or SIGTERM (exit status 0).

call connects to a manager server (CPython's, billiard's, or mpconn
manager serve), creates the object for TYPEID (for a typeid registered
with a callable that returns a shared object, that object), calls METHOD
with the ARGs, prints the result's Python repr on one line and exits 0.
A remote exception prints its class name and message on standard error
(exit status 1). Each ARG is a Python literal, as for mpconn send:

	mpconn manager call --authkey secret /tmp/mgr get_queue put "'job'"

ADDRESS is read as for mpconn send: host:port is TCP, a path a Unix socket.
Without --authkey or --authkey-hex, the key is empty.
`

func runManager(ctx context.Context, out output, args []string) int {
	fs := newFlagSet("manager", out)
	if len(args) == 0 {
		return usageError(fs, out, managerIntro, "missing serve or call")
	}
	switch args[0] {
	case "serve":
		return runManagerServe(ctx, out, args[1:])
	case "call":
		return runManagerCall(ctx, out, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(out.stdout, managerIntro)
		return exitOK
	}
	return usageError(fs, out, managerIntro, "unknown subcommand %q: want serve or call", args[0])
}

func runManagerServe(ctx context.Context, out output, args []string) int {
	fs := newFlagSet("manager serve", out)
	var keys keyFlags
	keys.register(fs)
	maxObjects := fs.Int("max-objects", 0, "hold at most `N` shared objects (0: 100000)")
	maxItems := fs.Int("max-items", 0, "hold at most `N` items in one queue, list, dict or array (0: 1000000)")
	maxMsg := fs.Int("max-message", 0, "accept requests of at most `BYTES` (0: 64 MiB)")
	pos, status := parseFlags(fs, out, managerIntro, args)
	if status >= 0 {
		return status
	}
	if len(pos) != 1 {
		return usageError(fs, out, managerIntro, "want one ADDRESS, got %d arguments", len(pos))
	}
	key, err := keys.key(fs)
	if err != nil {
		return usageError(fs, out, managerIntro, "%v", err)
	}
	if key == nil {
		key = []byte{}
	}
	// No reply spinning: the server's receives wait for the next request,
	// not a reply, and spinning there takes CPU from the clients.
	l, err := mpconn.Listen(pos[0], &mpconn.ListenOptions{AuthKey: key, Conn: &mpconn.ConnOptions{ReplySpin: -1}})
	if err != nil {
		fmt.Fprintf(out.stderr, "mpconn manager serve: %v\n", err)
		return exitFail
	}
	defer l.Close()
	srv := managers.NewServer(&managers.ServerOptions{
		MaxObjects: *maxObjects, MaxItems: *maxItems, MaxMessageSize: *maxMsg,
		Logf: func(format string, a ...any) { fmt.Fprintf(out.stderr, "mpconn manager serve: "+format+"\n", a...) },
	})
	defer srv.Close()
	fmt.Fprintf(out.stdout, "serving on %s\n", l.Address())
	if err := srv.Serve(ctx, l); err != nil && ctx.Err() == nil {
		fmt.Fprintf(out.stderr, "mpconn manager serve: %v\n", err)
		return exitFail
	}
	return exitOK
}

func runManagerCall(ctx context.Context, out output, args []string) int {
	fs := newFlagSet("manager call", out)
	var keys keyFlags
	keys.register(fs)
	timeout := fs.Duration("timeout", 30*time.Second, "give up after `DURATION` (0: no limit)")
	args, restore := protectNegatives(fs, args)
	pos, status := parseFlags(fs, out, managerIntro, args)
	if status >= 0 {
		return status
	}
	pos = restore(pos)
	if len(pos) < 3 {
		return usageError(fs, out, managerIntro, "want ADDRESS TYPEID METHOD [ARG...]")
	}
	key, err := keys.key(fs)
	if err != nil {
		return usageError(fs, out, managerIntro, "%v", err)
	}
	if key == nil {
		key = []byte{}
	}
	var callArgs []any
	for i, text := range pos[3:] {
		v, err := parseLiteral(text)
		if err != nil {
			return usageError(fs, out, managerIntro, "ARG %d %q: %v", i+1, text, err)
		}
		callArgs = append(callArgs, v)
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	fail := func(err error) int {
		var exc *managers.Exception
		var re *managers.RemoteError
		switch {
		case errors.As(err, &exc):
			fmt.Fprintf(out.stderr, "%s\n", exc.Error())
		case errors.As(err, &re):
			fmt.Fprintf(out.stderr, "%s\n", re.LastLine())
		default:
			fmt.Fprintf(out.stderr, "mpconn manager call: %v\n", err)
		}
		return exitFail
	}
	c, err := managers.Dial(ctx, pos[0], &managers.ClientOptions{AuthKey: key})
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	p, err := c.Create(ctx, pos[1])
	if err != nil {
		return fail(err)
	}
	defer p.Close()
	res, err := p.Call(ctx, pos[2], callArgs...)
	if err != nil {
		return fail(err)
	}
	if px, ok := res.(*managers.Proxy); ok {
		tok := px.Token()
		fmt.Fprintf(out.stdout, "<proxy of %s object, id %s>\n", tok.TypeID, tok.ID)
		px.Close()
		return exitOK
	}
	fmt.Fprintln(out.stdout, pyRepr(res))
	return exitOK
}
