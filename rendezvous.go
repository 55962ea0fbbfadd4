package mpconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// Rendezvous is a one-shot listener that connects a parent process with
// one child it cannot hand an inherited descriptor to: a program started
// with exec, one written in another language, or one on another host over
// TCP. The parent creates the Rendezvous, hands [Rendezvous.Address] to
// the child (on its command line, in its environment, ...), and calls
// [Rendezvous.Wait]; the child connects with [DialRetry], or with CPython's
// multiprocessing.connection.Client. Wait accepts exactly one connection
// and then stops listening, removing a Unix socket file, so that the two
// ends form a private pair, as the Python project ductworks does it
// ("pseudo-anonymous" ducts).
//
// A Rendezvous is safe for concurrent use.
type Rendezvous struct {
	l *Listener

	mu   sync.Mutex
	done bool // a connection was accepted, or Close was called
}

// NewRendezvous starts listening for one connection. network is
//
//	"unix"  a fresh Unix socket in a new private directory (modes 0700
//	        and 0600), both removed once the child connected or on Close
//	"tcp"   TCP on 127.0.0.1, on a port the kernel picks
//	"tcp6"  TCP on [::1], on a port the kernel picks
//
// opts configures the listener as for [Listen]: with an AuthKey, the child
// must pass the authentication handshake (which it does with
// [DialOptions.AuthKey] or CPython's Client(address, authkey=...)).
// Listening on a chosen address is done with [Listen], [Listener.Accept]
// and [Listener.Close].
func NewRendezvous(network string, opts *ListenOptions) (*Rendezvous, error) {
	var address string
	switch network {
	case "unix":
		address = ""
	case "tcp", "tcp4":
		address = "127.0.0.1:0"
	case "tcp6":
		address = "[::1]:0"
	default:
		return nil, fmt.Errorf("mpconn: rendezvous network %q: want \"unix\", \"tcp\" or \"tcp6\"", network)
	}
	l, err := Listen(address, opts)
	if err != nil {
		return nil, err
	}
	return &Rendezvous{l: l}, nil
}

// Address returns the address to hand to the child, in the form [Dial]
// and [DialRetry] take: a socket path for "unix", "host:port" for TCP. A
// Python child passes a path as it is to Client, and a TCP address as a
// (host, port) tuple.
func (r *Rendezvous) Address() string { return r.l.Address() }

// Addr returns the bound address.
func (r *Rendezvous) Addr() net.Addr { return r.l.Addr() }

// Wait waits until the child has connected (and, with an AuthKey, passed
// the handshake), then stops listening and returns the connection.
//
// A client that fails the handshake is dropped and Wait goes on waiting
// for the right one, so a stray connection cannot take the child's place.
// When ctx ends first, Wait returns ctx's error (wrapping also the last
// failed handshake's error, if any) and keeps listening: call Wait again,
// or Close. After a successful Wait, or after Close, Wait returns an error
// wrapping [net.ErrClosed].
func (r *Rendezvous) Wait(ctx context.Context) (*Conn, error) {
	var hsErr error
	for {
		c, err := r.l.Accept(ctx)
		if err == nil {
			r.mu.Lock()
			if r.done {
				// Close raced with the accept.
				r.mu.Unlock()
				c.Close()
				return nil, r.l.closedError()
			}
			r.done = true
			r.mu.Unlock()
			r.l.Close()
			return c, nil
		}
		var he *HandshakeError
		if errors.As(err, &he) {
			hsErr = err
			continue
		}
		if hsErr != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("%w (a client failed the handshake: %w)", err, hsErr)
		}
		return nil, err
	}
}

// Close stops listening and removes a Unix socket file and its directory.
// A connection returned by Wait stays open. Close is idempotent.
func (r *Rendezvous) Close() error {
	r.mu.Lock()
	r.done = true
	r.mu.Unlock()
	return r.l.Close()
}

// PairOver returns the two ends of a connection made through a
// [Rendezvous] over network ("unix", "tcp" or "tcp6"), with both ends in
// this process: parent is the accepted end and child the dialled one. It is
// [Pipe] over a real listener, as ductworks'
// create_psuedo_anonymous_duct_pair: useful to test code that will talk
// across a Rendezvous, or to get a TCP pair.
//
// opts configures both ends: opts.Conn applies to both, and with an
// AuthKey both run the handshake, the child with the same key and digest.
// ctx bounds the connect and the handshake. No listener or socket file
// remains once PairOver returns.
func PairOver(ctx context.Context, network string, opts *ListenOptions) (parent, child *Conn, err error) {
	r, err := NewRendezvous(network, opts)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var dopts DialOptions
	if opts != nil {
		dopts.AuthKey = opts.AuthKey
		dopts.AuthDigest = opts.AuthDigest
		dopts.Conn = opts.Conn
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type dialed struct {
		c   *Conn
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		c, err := Dial(ctx, r.Address(), &dopts)
		if err != nil {
			cancel() // no child is coming: end Wait
		}
		ch <- dialed{c, err}
	}()
	parent, werr := r.Wait(ctx)
	if werr != nil {
		cancel()
	}
	d := <-ch
	if d.err != nil || werr != nil {
		if parent != nil {
			parent.Close()
		}
		if d.c != nil {
			d.c.Close()
		}
		if d.err != nil {
			return nil, nil, d.err
		}
		return nil, nil, werr
	}
	return parent, d.c, nil
}
