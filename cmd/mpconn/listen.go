package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/pickle"
)

var listenCommand = &command{
	name:    "listen",
	summary: "print every message clients send",
	run:     runListen,
}

const listenIntro = `usage: mpconn listen [flags] [ADDRESS]

Listens at ADDRESS and prints every message that clients (CPython's
multiprocessing.connection.Client, or mpconn send) send, one line each,
"client-N: VALUE", with VALUE printed as Python's repr() prints the object
and N counting clients from 1 in the order they connected. It serves any
number of clients at once, until SIGINT or SIGTERM (then it exits with
status 0). The first line of standard output is "listening on ADDRESS",
with the address actually bound (the real port for host:0). Clients
connecting and leaving, and failed handshakes, are noted on standard error.

ADDRESS is read as CPython reads one: host:port is TCP, a path or a bare
name a Unix socket, @name a Linux abstract socket; tcp:// and unix://
prefixes force the network. On Windows \\.\pipe\NAME is a named pipe.
Without ADDRESS: a fresh Unix socket in a new private directory (on
Windows a fresh named pipe).

A message that is not a pickle prints "client-N: undecodable (N bytes):
ERROR", and the connection goes on.

With --reply VALUE (a literal, as mpconn send takes them), that value is
sent back after each message, pickled in the protocol of the message
received (at least 2, so that Python 2 can read it); without it nothing is
sent. With --bytes, messages print as hex and the reply is VALUE's UTF-8
text, unpickled.
`

func runListen(ctx context.Context, out output, args []string) int {
	fs := newFlagSet("listen", out)
	var keys keyFlags
	keys.register(fs)
	raw := fs.Bool("bytes", false, "print messages as hex; --reply sends its text raw")
	replyText := fs.String("reply", "", "send `VALUE` back after each message")
	pos, status := parseFlags(fs, out, listenIntro, args)
	if status >= 0 {
		return status
	}
	if len(pos) > 1 {
		return usageError(fs, out, listenIntro, "too many arguments: %q", pos[1:])
	}
	address := ""
	if len(pos) == 1 {
		address = pos[0]
	}
	key, err := keys.key(fs)
	if err != nil {
		return usageError(fs, out, listenIntro, "%v", err)
	}
	replySet := false
	fs.Visit(func(f *flag.Flag) { replySet = replySet || f.Name == "reply" })
	var reply func(msg []byte) ([]byte, error)
	switch {
	case replySet && *raw:
		b := []byte(*replyText)
		reply = func([]byte) ([]byte, error) { return b, nil }
	case replySet:
		v, err := parseLiteral(*replyText)
		if err != nil {
			return usageError(fs, out, listenIntro, "--reply %q: %v", *replyText, err)
		}
		// Encode once per protocol, to report a value that cannot be
		// pickled before listening.
		var encoded [pickle.HighestProtocol + 1][]byte
		for p := 2; p <= pickle.HighestProtocol; p++ {
			if encoded[p], err = pickle.MarshalProtocol(v, p); err != nil {
				out.errorf("listen", "--reply: %v", err)
				return exitFail
			}
		}
		reply = func(msg []byte) ([]byte, error) {
			return encoded[min(max(pickle.Protocol(msg), 2), pickle.HighestProtocol)], nil
		}
	}

	l, err := mpconn.Listen(address, &mpconn.ListenOptions{AuthKey: key})
	if err != nil {
		out.errorf("listen", "%v", err)
		return exitFail
	}
	s := &listenServer{out: out, raw: *raw, reply: reply, open: map[*mpconn.Conn]bool{}}
	// Standard output is unbuffered: the line is out before any client
	// is served.
	s.printf(out.stdout, "listening on %s\n", l.Address())
	stopListening := context.AfterFunc(ctx, func() { l.Close() })
	defer stopListening()

	count := 0
	for {
		c, err := l.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			// A failed handshake: that client is gone, the others are
			// served.
			s.printf(out.stderr, "mpconn listen: %s\n", tidyError(err.Error()))
			continue
		}
		count++
		name := fmt.Sprintf("client-%d", count)
		from := ""
		if a := c.RemoteAddr(); a != nil && a.String() != "" && a.String() != "@" {
			from = " from " + a.String()
		}
		s.printf(out.stderr, "mpconn listen: %s connected%s\n", name, from)
		s.mu.Lock()
		s.open[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(ctx, c, name)
	}
	l.Close()
	s.mu.Lock()
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return exitOK
}

// listenServer is the state listen shares between its clients.
type listenServer struct {
	out   output
	raw   bool
	reply func(msg []byte) ([]byte, error) // nil: no reply

	printMu sync.Mutex // one line at a time
	mu      sync.Mutex // guards open
	open    map[*mpconn.Conn]bool
	wg      sync.WaitGroup
}

func (s *listenServer) printf(w io.Writer, format string, a ...any) {
	s.printMu.Lock()
	defer s.printMu.Unlock()
	fmt.Fprintf(w, format, a...)
}

// serve prints the messages of one client until it leaves or ctx is
// cancelled.
func (s *listenServer) serve(ctx context.Context, c *mpconn.Conn, name string) {
	defer s.wg.Done()
	err := s.loop(ctx, c, name)
	s.mu.Lock()
	delete(s.open, c)
	s.mu.Unlock()
	c.Close()
	switch {
	case ctx.Err() != nil:
	case err != nil:
		s.printf(s.out.stderr, "mpconn listen: %s: %s\n", name, tidyError(err.Error()))
	default:
		s.printf(s.out.stderr, "mpconn listen: %s closed the connection\n", name)
	}
}

func (s *listenServer) loop(ctx context.Context, c *mpconn.Conn, name string) error {
	for {
		msg, err := c.RecvBytes(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		s.printf(s.out.stdout, "%s: %s\n", name, renderMessage(msg, s.raw))
		if s.reply == nil {
			continue
		}
		r, err := s.reply(msg)
		if err != nil {
			return err
		}
		if err := c.SendBytes(ctx, r); err != nil {
			return err
		}
	}
}
