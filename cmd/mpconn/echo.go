package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/internal/platform"
)

var echoCommand = &command{
	name:    "echo",
	summary: "echo every message back to its sender",
	run:     runEcho,
}

const echoIntro = `usage: mpconn echo [flags] [ADDRESS]

Listens at ADDRESS and sends every message it receives back to the client
that sent it, serving any number of clients at once, until SIGINT or
SIGTERM (then it exits with status 0). The first line of standard output is
"listening on ADDRESS", with the address actually bound (the real port for
host:0).

ADDRESS is read as CPython reads one: host:port is TCP, a path or a bare
name a Unix socket, @name a Linux abstract socket; tcp:// and unix://
prefixes force the network. On Windows \\.\pipe\NAME is a named pipe.
Without ADDRESS: a fresh Unix socket in a new private directory (on
Windows a fresh named pipe).

A client that fails the handshake, sends a message that cannot be decoded
or breaks the framing loses its connection, with one line on standard
error; everyone else is still served.

With --dial, it connects to the Listener at ADDRESS instead; with --fd, it
uses the connected socket or pipe already open on descriptor N (such as an
inherited Pipe end). In both cases it echoes until the peer closes, then
exits with status 0.

Without --bytes, each message is a pickled value (conn.send in Python)
that is decoded, without executing anything it names, and encoded again in
the protocol it came in (at least 2), so the peer gets back an equal
object of the same type.
`

// echoConfig is the parsed command line of echo.
type echoConfig struct {
	address string
	dial    bool
	fd      int // -1 when not given
	key     []byte
	re      reencoder
}

func runEcho(ctx context.Context, out output, args []string) int {
	fs := newFlagSet("echo", out)
	cfg := echoConfig{fd: -1}
	var keys keyFlags
	var raw bool
	fs.BoolVar(&cfg.dial, "dial", false, "connect to the Listener at ADDRESS as a client instead of listening")
	fdSet := false
	fs.Func("fd", "echo over the connected socket or pipe on descriptor `N` (no ADDRESS; keys are ignored: Pipe ends do not authenticate)", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return errors.New("not a descriptor number")
		}
		cfg.fd, fdSet = n, true
		return nil
	})
	keys.register(fs)
	fs.BoolVar(&raw, "bytes", false, "echo each payload unchanged, as raw bytes")
	pos, status := parseFlags(fs, out, echoIntro, args)
	if status >= 0 {
		return status
	}
	if len(pos) > 1 {
		return usageError(fs, out, echoIntro, "too many arguments: %q", pos[1:])
	}
	if len(pos) == 1 {
		cfg.address = pos[0]
	}
	switch {
	case fdSet && cfg.dial:
		return usageError(fs, out, echoIntro, "give --dial or --fd, not both")
	case fdSet && cfg.address != "":
		return usageError(fs, out, echoIntro, "--fd takes no ADDRESS")
	case cfg.dial && cfg.address == "":
		return usageError(fs, out, echoIntro, "--dial needs an ADDRESS")
	}
	key, err := keys.key(fs)
	if err != nil {
		return usageError(fs, out, echoIntro, "%v", err)
	}
	cfg.key = key
	if raw {
		cfg.re = rawBytes
	} else if cfg.re, err = valueReencoder(); err != nil {
		out.errorf("echo", "%v", err)
		return exitFail
	}

	switch {
	case fdSet:
		c, err := mpconn.FDConn(cfg.fd, nil)
		if err != nil {
			out.errorf("echo", "%v", err)
			return exitFail
		}
		return echoOne(ctx, out, c, cfg.re)
	case cfg.dial:
		c, err := dialPeer(ctx, out, "echo", cfg.address, &mpconn.DialOptions{AuthKey: cfg.key, Conn: &mpconn.ConnOptions{RefuseFiles: true}}, false)
		if err != nil {
			if ctx.Err() != nil {
				return exitOK
			}
			out.errorf("echo", "%v", err)
			return exitFail
		}
		return echoOne(ctx, out, c, cfg.re)
	}
	return echoListen(ctx, out, cfg)
}

// echoOne echoes over c until the peer closes or ctx is cancelled.
func echoOne(ctx context.Context, out output, c *mpconn.Conn, re reencoder) int {
	defer c.Close()
	if err := echoConn(ctx, c, re); err != nil {
		out.errorf("echo", "%v", err)
		return exitFail
	}
	return exitOK
}

// echoConn sends every message received on c back, passed through re,
// until the peer closes at a message boundary or leaves (a nil error) or
// ctx is cancelled (nil too: a requested stop).
func echoConn(ctx context.Context, c *mpconn.Conn, re reencoder) error {
	for {
		msg, err := c.RecvBytes(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			// A TCP peer that closed with our replies unread resets the
			// connection, which the receive may see before the end of
			// the stream: the peer left, as with a failed send.
			if ctx.Err() != nil || peerGone(err) {
				return nil
			}
			return err
		}
		reply, err := re(msg)
		if err != nil {
			return fmt.Errorf("undecodable %d-byte message: %w", len(msg), err)
		}
		if err := c.SendBytes(ctx, reply); err != nil {
			if ctx.Err() != nil || peerGone(err) {
				return nil
			}
			return err
		}
	}
}

// peerGone reports whether a send failed because the peer has closed the
// connection (EPIPE, or ECONNRESET from a peer that closed with our reply
// unread). Echo sends only after receiving a whole message, so the peer
// left at a message boundary, after its last message: a normal end, as
// Python's `conn.send_bytes(b); conn.close()` is.
func peerGone(err error) bool {
	return errors.Is(err, platform.EPIPE) || errors.Is(err, platform.ECONNRESET)
}

// echoListen serves every client of a Listener at cfg.address, each in its
// own goroutine, until ctx is cancelled.
func echoListen(ctx context.Context, out output, cfg echoConfig) int {
	// Echo never takes files: descriptors a client sends are closed as
	// they arrive.
	l, err := mpconn.Listen(cfg.address, &mpconn.ListenOptions{AuthKey: cfg.key, Conn: &mpconn.ConnOptions{RefuseFiles: true}})
	if err != nil {
		out.errorf("echo", "%v", err)
		return exitFail
	}
	// Standard output is unbuffered: the line is out before any client
	// is served.
	fmt.Fprintf(out.stdout, "listening on %s\n", l.Address())

	stopListening := context.AfterFunc(ctx, func() { l.Close() })
	defer stopListening()

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		open  = map[*mpconn.Conn]bool{}
		count int
		logMu sync.Mutex
	)
	logf := func(format string, a ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		out.errorf("echo", format, a...)
	}
	for {
		c, err := l.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			// A failed handshake (*mpconn.HandshakeError): that client
			// is gone, the others are served.
			logf("%v", err)
			continue
		}
		count++
		name := fmt.Sprintf("client %d", count)
		if a := c.RemoteAddr(); a != nil && a.String() != "" {
			name += " (" + a.String() + ")"
		}
		mu.Lock()
		open[c] = true
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := echoConn(ctx, c, cfg.re)
			mu.Lock()
			delete(open, c)
			mu.Unlock()
			c.Close()
			if err != nil && ctx.Err() == nil {
				logf("%s: %v", name, err)
			}
		}()
	}
	l.Close()
	mu.Lock()
	for c := range open {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
	return exitOK
}
