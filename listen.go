package mpconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// ListenOptions configures a Listener. The zero value (or nil) gives the
// defaults.
type ListenOptions struct {
	// AuthKey turns authentication on: every accepted connection must
	// pass CPython's HMAC challenge-response handshake with this key
	// before Accept returns it. Nil means no authentication; an empty
	// non-nil key still authenticates (as CPython 3.13+ does).
	AuthKey []byte

	// AuthDigest is the digest of the challenge the Listener sends:
	// "sha256" (the default, as CPython 3.12+), "sha384", "sha3_256",
	// "sha3_384", "md5", or "legacy" for the 20-byte HMAC-MD5 challenge of
	// CPython 2.7 to 3.11. Every CPython client answers a sha256
	// challenge; clients up to 3.11 answer with HMAC-MD5, which is
	// accepted, as CPython accepts it.
	AuthDigest string

	// HandshakeTimeout bounds each client's handshake. Zero means 10
	// seconds; negative means no limit. A client that keeps up is
	// authenticated on the accept path (on Linux, possibly in the
	// goroutine that calls Accept); one that makes the handshake wait
	// more than a few milliseconds goes on in a goroutine of its own, and
	// while any does, handshakes run concurrently, off the accept path,
	// so a silent client delays the others by a few milliseconds at most.
	HandshakeTimeout time.Duration

	// Backlog is the length of the kernel's queue of pending connections.
	// Zero means 128. (CPython's default is 1.)
	Backlog int

	// Conn configures the accepted connections.
	Conn *ConnOptions

	// PipeCPythonSecurity, on Windows, creates a named pipe as CPython
	// does: with the default security descriptor (other local accounts
	// may open it for reading, enough to reach the handshake) and
	// accepting remote clients. By default only the current user may
	// open it and remote clients are refused. Elsewhere it has no effect.
	PipeCPythonSecurity bool

	// TLSConfig turns TLS on: every accepted connection runs a TLS
	// handshake as the server, bounded by HandshakeTimeout, before the
	// HMAC handshake (if AuthKey is set) and before Accept returns it. It
	// must hold a certificate (Certificates or GetCertificate). Nil means
	// no TLS. A CPython peer cannot speak TLS unless its socket is
	// wrapped on the Python side too.
	TLSConfig *tls.Config
}

// Listener accepts connections, like CPython's multiprocessing.connection
// Listener. It is safe for concurrent use.
type Listener struct {
	nl      net.Listener
	network string
	address string // as Dial takes it
	opts    ListenOptions
	dir     string // private directory to remove on Close
	path    string // socket file to remove on Close

	// The state of raw accepting, where the system has it: accepting and
	// authenticating clients before the network poller knows them.
	rawAccept

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	queue  acceptQueue
	slots  chan struct{} // bounds concurrent handshakes
	wg     sync.WaitGroup

	closeOnce sync.Once
	mu        sync.Mutex
	last      net.Addr
	closing   bool // Close has begun: no more work joins wg (acceptHot)
}

type accepted struct {
	c   *Conn
	err error
}

// maxHandshakes bounds the handshakes a Listener runs at once; further
// clients wait in the kernel's queue.
const maxHandshakes = 1024

// Listen listens at address, whose network is inferred as [ParseAddress]
// describes. An empty address picks a fresh Unix socket in a new private
// directory (mode 0700), never an abstract name. A Unix socket file is
// created with mode 0600 and removed by Close.
func Listen(address string, opts *ListenOptions) (*Listener, error) {
	l := &Listener{}
	if opts != nil {
		l.opts = *opts
		if opts.AuthKey != nil {
			l.opts.AuthKey = append([]byte{}, opts.AuthKey...)
		}
	}
	if err := checkDigest(l.opts.AuthDigest); err != nil {
		return nil, err
	}
	if l.opts.HandshakeTimeout == 0 {
		l.opts.HandshakeTimeout = 10 * time.Second
	}
	if l.opts.Backlog <= 0 {
		l.opts.Backlog = 128
	}
	var err error
	if address == "" {
		l.dir, address, err = freshUnixAddress()
		if err != nil {
			return nil, err
		}
	}
	network, addr, err := ParseAddress(address)
	if err != nil {
		l.removeDir()
		return nil, err
	}
	if pipeNetwork != "" && network == pipeNetwork {
		l.nl, err = listenPipe(addr, l.opts.PipeCPythonSecurity)
	} else {
		l.nl, l.path, err = listenSocket(network, addr, l.opts.Backlog)
	}
	if err != nil {
		l.removeDir()
		return nil, &net.OpError{Op: "listen", Net: network, Addr: addrName{network, addr}, Err: err}
	}
	l.network = network
	switch network {
	case "unix":
		l.address = addr
	default:
		l.address = l.nl.Addr().String()
	}
	l.initRawAccept()
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.queue.init()
	l.slots = make(chan struct{}, maxHandshakes)
	l.wg.Add(1)
	go l.serve()
	return l, nil
}

// Addr returns the listener's bound address (with the real port when
// port 0 was asked for).
func (l *Listener) Addr() net.Addr { return l.nl.Addr() }

// Address returns the bound address as a string that [Dial] and CPython's
// Client (as a path, or a (host, port) tuple) can connect to.
func (l *Listener) Address() string { return l.address }

// LastAccepted returns the address of the peer of the last connection
// Accept returned, or nil (CPython's last_accepted). Unix socket clients
// usually have no address.
func (l *Listener) LastAccepted() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Accept waits for the next connection. With an AuthKey, the connection
// has passed the handshake.
//
// On Linux, with an AuthKey and no TLS, an Accept that would wait
// accepts and authenticates clients itself while they keep coming (the
// raw handshake), which spares a hand-off between goroutines; it
// may then block in a system call for up to 5 ms at a time, and notices
// ctx's cancellation between such waits. After it returns, the Listener
// leaves the next client to the next Accept call for up to 20 ms before
// it authenticates it by itself.
//
// A client that fails the handshake (a wrong key, a timeout, a protocol
// error) makes Accept return a *HandshakeError; the Listener keeps
// working, so log it and call Accept again. After Close, Accept returns an
// error wrapping net.ErrClosed.
func (l *Listener) Accept(ctx context.Context) (*Conn, error) {
	select {
	case <-l.ctx.Done():
		return nil, l.closedError()
	default:
	}
	if l.rawAccepting() && !l.queue.ready() {
		if a, ok := l.acceptHot(ctx); ok {
			return l.accepted(a)
		}
	}
	a, ok, err := l.queue.pop(ctx)
	if err != nil {
		return nil, &net.OpError{Op: "accept", Net: l.network, Addr: l.nl.Addr(), Err: err}
	}
	if !ok {
		return nil, l.closedError()
	}
	return l.accepted(a)
}

// accepted is what Accept returns for a.
func (l *Listener) accepted(a accepted) (*Conn, error) {
	if a.err != nil {
		return nil, a.err
	}
	l.mu.Lock()
	l.last = a.c.RemoteAddr()
	l.mu.Unlock()
	return a.c, nil
}

func (l *Listener) closedError() error {
	return &net.OpError{Op: "accept", Net: l.network, Addr: l.nl.Addr(), Err: net.ErrClosed}
}

// HandshakeError reports a client that connected but failed the
// authentication handshake. Err wraps ErrAuthentication for a wrong key,
// or the I/O error (a timeout, an EOF) that ended the handshake.
type HandshakeError struct {
	Remote net.Addr
	Err    error
}

func (e *HandshakeError) Error() string {
	// The cause usually carries its own "mpconn: " prefix: say it once.
	cause := strings.TrimPrefix(e.Err.Error(), "mpconn: ")
	if e.Remote != nil && e.Remote.String() != "" && e.Remote.String() != "@" { // "@": an unnamed Unix socket
		return fmt.Sprintf("mpconn: handshake with %s: %s", e.Remote, cause)
	}
	return "mpconn: handshake: " + cause
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// serve accepts connections and starts their handshakes until Close.
func (l *Listener) serve() {
	defer l.wg.Done()
	if l.rawAccepting() {
		l.serveRawLoop()
		return
	}
	var delay time.Duration
	for {
		nc, err := l.nl.Accept()
		if err != nil {
			if l.ctx.Err() != nil {
				return
			}
			// Out of descriptors or similar: wait and retry.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(delay):
				continue
			case <-l.ctx.Done():
				return
			}
		}
		delay = 0
		c := NewConn(l.wrapTLS(nc), l.opts.Conn)
		c.network = l.network
		if l.opts.AuthKey == nil && l.opts.TLSConfig == nil {
			l.deliver(accepted{c: c})
			continue
		}
		select {
		case l.slots <- struct{}{}:
		case <-l.ctx.Done():
			c.Close()
			return
		}
		l.wg.Add(1)
		go l.handshake(c)
	}
}

func (l *Listener) handshake(c *Conn) {
	defer l.wg.Done()
	defer func() { <-l.slots }()
	ctx := l.ctx
	if l.opts.HandshakeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.opts.HandshakeTimeout)
		defer cancel()
	}
	err := serverTLSHandshake(ctx, c)
	if err == nil && l.opts.AuthKey != nil {
		err = authenticateServer(ctx, c, l.opts.AuthKey, l.opts.AuthDigest)
	}
	if err != nil {
		c.Close()
		l.handshakeFailed(c.RemoteAddr(), err)
		return
	}
	l.deliver(accepted{c: c})
}

// handshakeFailed hands a failed handshake to Accept, unless the Listener
// is closing.
func (l *Listener) handshakeFailed(remote net.Addr, err error) {
	if l.ctx.Err() != nil {
		return
	}
	l.deliver(accepted{err: &HandshakeError{Remote: remote, Err: err}})
}

// deliver hands a result to Accept, or drops it when the Listener closes.
func (l *Listener) deliver(a accepted) {
	if !l.queue.push(a, l.ctx.Done()) && a.c != nil {
		a.c.Close()
	}
}

// Close stops listening, removes the socket file, and unblocks Accept.
// Connections already accepted stay open. Close is idempotent.
func (l *Listener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closing = true
		l.mu.Unlock()
		l.cancel()
		for _, c := range l.queue.close() {
			c.Close()
		}
		err = l.nl.Close()
		if l.rawAccepting() {
			l.closeRaw(false) // wake the accept loop first
			l.closeAcceptFile()
		}
		l.wg.Wait()
		l.closeRaw(true)
		if l.path != "" {
			os.Remove(l.path)
		}
		l.removeDir()
	})
	return err
}

func (l *Listener) removeDir() {
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}

func checkDigest(d string) error {
	switch d {
	case "", "legacy", "md5", "sha256", "sha384", "sha3_256", "sha3_384":
		return nil
	}
	return errors.New("mpconn: unsupported AuthDigest " + d)
}
