package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/pickle"
)

var sendCommand = &command{
	name:    "send",
	summary: "send values to a Listener and print the replies",
	run:     runSend,
}

const sendIntro = `usage: mpconn send [flags] ADDRESS VALUE...

Connects to the Listener at ADDRESS (a CPython
multiprocessing.connection.Listener, or mpconn listen or echo), sends each
VALUE as one pickled message, which Python receives with conn.recv(), and
after each one waits for a reply and prints it on standard output, one line
per reply, as Python's repr() prints the object.

ADDRESS is read as CPython reads one: host:port is TCP, a path or a bare
name a Unix socket, @name a Linux abstract socket; tcp:// and unix://
prefixes force the network. On Windows \\.\pipe\NAME (or
\\SERVER\pipe\NAME) is a named pipe.

A VALUE is a Python literal: None, True, False, ints (-7, 0x1F, 1_000,
any size), floats (1.5, -2e10, float('inf'), float('nan')), strings ('a',
"b", r'\d', with Python's escapes), bytes (b'\x00'), bytearray(b'..'),
lists, tuples ((1,), ()), dicts, sets ({1, 2}, set()), frozenset({..}),
nested as in Python. JSON is accepted too: true, false and null stand
for True, False and None. Negative numbers are VALUEs, not flags. Quote
each VALUE for the shell:

	mpconn send /tmp/sock "{'a': [1, 2.5, None]}" '"text"' 42

With --wait, a Listener that is not up yet (connection refused, no such
socket file) is tried again, more and more slowly, until --timeout: a
shell script can start a Listener in the background and send to it at
once.

A reply that is not a pickle prints "undecodable (N bytes): ERROR". The
exit status is 1 if connecting, authenticating or sending fails, or if a
reply does not come within --timeout or the peer closes first.

With --bytes, each VALUE is sent as its UTF-8 text, unpickled (Python's
conn.recv_bytes()), and replies print as hex.
`

func runSend(ctx context.Context, out output, args []string) int {
	fs := newFlagSet("send", out)
	var keys keyFlags
	keys.register(fs)
	raw := fs.Bool("bytes", false, "send each VALUE's UTF-8 bytes raw and print replies as hex")
	noReply := fs.Bool("no-reply", false, "send the values and close, without waiting for replies")
	timeout := fs.Duration("timeout", 10*time.Second, "wait at most `DURATION` to connect and for each reply (0: no limit)")
	wait := fs.Bool("wait", false, "wait for the Listener to come up: retry a refused connection or a missing socket until --timeout")
	proto := fs.Int("protocol", pickle.DefaultProtocol, "pickle protocol `N` of the messages sent, 2 to 5")
	args, restore := protectNegatives(fs, args)
	pos, status := parseFlags(fs, out, sendIntro, args)
	if status >= 0 {
		return status
	}
	pos = restore(pos)
	switch {
	case len(pos) == 0:
		return usageError(fs, out, sendIntro, "missing ADDRESS and VALUE")
	case len(pos) == 1:
		return usageError(fs, out, sendIntro, "missing VALUE")
	case *proto < 2 || *proto > pickle.HighestProtocol:
		return usageError(fs, out, sendIntro, "--protocol %d: want 2 to %d", *proto, pickle.HighestProtocol)
	case *timeout < 0:
		return usageError(fs, out, sendIntro, "--timeout must not be negative")
	}
	key, err := keys.key(fs)
	if err != nil {
		return usageError(fs, out, sendIntro, "%v", err)
	}
	address := pos[0]
	msgs := make([][]byte, 0, len(pos)-1)
	for i, text := range pos[1:] {
		if *raw {
			msgs = append(msgs, []byte(text))
			continue
		}
		v, err := parseLiteral(text)
		if err != nil {
			return usageError(fs, out, sendIntro, "VALUE %d %q: %v", i+1, text, err)
		}
		msg, err := pickle.MarshalProtocol(v, *proto)
		if err != nil {
			out.errorf("send", "VALUE %d: %v", i+1, err)
			return exitFail
		}
		msgs = append(msgs, msg)
	}

	// withTimeout bounds one step by --timeout.
	withTimeout := func() (context.Context, context.CancelFunc) {
		if *timeout == 0 {
			return context.WithCancel(ctx)
		}
		return context.WithTimeout(ctx, *timeout)
	}
	fail := func(format string, a ...any) int {
		if ctx.Err() != nil {
			return exitOK // stopped by a signal
		}
		out.errorf("send", format, a...)
		return exitFail
	}

	dctx, cancel := withTimeout()
	c, err := dialPeer(dctx, out, "send", address, &mpconn.DialOptions{AuthKey: key}, *wait)
	cancel()
	if err != nil {
		return fail("%v", err)
	}
	defer c.Close()
	for i, msg := range msgs {
		if err := c.SendBytes(ctx, msg); err != nil {
			return fail("sending VALUE %d: %v", i+1, err)
		}
		if *noReply {
			continue
		}
		rctx, cancel := withTimeout()
		reply, err := c.RecvBytes(rctx)
		timedOut := rctx.Err() != nil && ctx.Err() == nil
		cancel()
		switch {
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
			return fail("the peer closed the connection before replying to VALUE %d", i+1)
		case timedOut:
			return fail("no reply to VALUE %d within %v", i+1, *timeout)
		case err != nil:
			return fail("waiting for the reply to VALUE %d: %v", i+1, err)
		}
		if key == nil && bytes.HasPrefix(reply, []byte("#CHALLENGE#")) {
			return fail("the Listener wants authentication (it sent a challenge): give --authkey or --authkey-hex")
		}
		fmt.Fprintln(out.stdout, renderMessage(reply, *raw))
	}
	return exitOK
}

// renderMessage renders a received message for printing: hex in raw mode,
// else the decoded value in Python's repr style, or a note saying why it
// could not be decoded.
func renderMessage(msg []byte, raw bool) string {
	if raw {
		return hex.EncodeToString(msg)
	}
	var v any
	if err := pickle.Unmarshal(msg, &v); err != nil {
		return fmt.Sprintf("undecodable (%d bytes): %v", len(msg), err)
	}
	return pyRepr(v)
}

// protectNegatives hides the arguments that are negative numbers (such as
// -1, -2.5e3, -.5 or -float('inf')) from the flag parser, which would take
// them for flags, unless they are the value of the flag before them. It
// returns the arguments to parse and a function that puts the numbers back
// into the positional arguments.
func protectNegatives(fs *flag.FlagSet, args []string) ([]string, func([]string) []string) {
	var saved []string
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if i > 0 && takesValue(fs, args[i-1]) {
			continue
		}
		num, ok := strings.CutPrefix(a, "-")
		num = strings.TrimLeft(num, " \t")
		if ok && num != "" && (isDigit(num[0]) || num[0] == '.' || strings.HasPrefix(num, "float(")) {
			out[i] = fmt.Sprintf("\x00%d", len(saved))
			saved = append(saved, a)
		}
	}
	restore := func(pos []string) []string {
		for i, p := range pos {
			if n, ok := strings.CutPrefix(p, "\x00"); ok {
				if k, err := strconv.Atoi(n); err == nil && k < len(saved) {
					pos[i] = saved[k]
				}
			}
		}
		return pos
	}
	return out, restore
}

// takesValue reports whether arg is a flag of fs that takes the next
// argument as its value.
func takesValue(fs *flag.FlagSet, arg string) bool {
	name, ok := strings.CutPrefix(arg, "-")
	if !ok || strings.Contains(name, "=") {
		return false
	}
	name = strings.TrimPrefix(name, "-")
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, isBool := f.Value.(interface{ IsBoolFlag() bool })
	return !isBool || !b.IsBoolFlag()
}
