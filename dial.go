package mpconn

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/mpconn/mpconn/internal/platform"
)

// DialOptions configures Dial. The zero value (or nil) gives the defaults.
type DialOptions struct {
	// AuthKey turns authentication on: after connecting, Dial answers the
	// Listener's challenge and then challenges it, as CPython's Client
	// does. Nil means no authentication; an empty non-nil key still
	// authenticates.
	AuthKey []byte

	// AuthDigest is the digest of the challenge Dial sends to the
	// Listener (see ListenOptions.AuthDigest). Empty means "sha256".
	AuthDigest string

	// HandshakeTimeout bounds the handshake after connecting. Zero means
	// 30 seconds; negative means no limit beyond ctx.
	HandshakeTimeout time.Duration

	// Conn configures the connection.
	Conn *ConnOptions

	// TLSConfig turns TLS on: after connecting, Dial runs a TLS handshake
	// as the client, bounded by ctx and HandshakeTimeout, before the HMAC
	// handshake (if AuthKey is set). Without a ServerName, the host of a
	// TCP address is used for verification, as tls.Dial does. Nil means
	// no TLS.
	TLSConfig *tls.Config
}

// Dial connects to the Listener at address (see [ParseAddress] for the
// forms) and, with an AuthKey, authenticates. ctx bounds the connect and
// the handshake.
//
// The handshake is pipelined: Dial sends its own challenge right behind
// its response to the Listener's, as one write, without waiting for the
// verdict (the bytes in each direction are those of CPython's Client, in
// the same order). A Listener that rejects the response may drop the
// connection with that challenge unread, and the kernel may then report
// a reset (or an end of stream) instead of the "#FAILURE#" verdict: Dial
// reports that as the rejection, an [*AuthError] whose Err is the I/O
// error.
//
// On Linux, without TLS, to a Unix socket or a TCP address given as an IP
// address, the authenticating Dial connects and runs the handshake before
// the socket joins Go's network poller, waiting with poll(2) in the
// calling thread (at most 8 such handshakes at once in the process, each
// for at most 5 ms; then the usual way). Cancelling ctx is then noticed
// when the current wait ends.
func Dial(ctx context.Context, address string, opts *DialOptions) (*Conn, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	if err := checkDigest(o.AuthDigest); err != nil {
		return nil, err
	}
	network, addr, err := ParseAddress(address)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		if err := checkUnixAddress(addr); err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
	}
	if o.AuthKey != nil && o.TLSConfig == nil {
		// Linux: connect and authenticate before the network poller
		// knows the socket (the raw handshake), when that applies.
		c, ok, err := dialAuthFast(ctx, network, addr, &o)
		if ok {
			return c, err
		}
	}
	nc, err := dialRetry(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return dialHandshake(ctx, nc, network, addr, &o)
}

// dialHandshake runs Dial's TLS and HMAC handshakes, as o asks, on nc, a
// new connection to addr.
func dialHandshake(ctx context.Context, nc net.Conn, network, addr string, o *DialOptions) (*Conn, error) {
	hctx, cancel := handshakeContext(ctx, o)
	defer cancel()
	if o.TLSConfig != nil {
		raddr := nc.RemoteAddr()
		var err error
		if nc, err = clientTLS(hctx, nc, network, addr, o.TLSConfig); err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Addr: raddr, Err: err}
		}
	}
	c := NewConn(nc, o.Conn)
	c.network = network
	if o.AuthKey == nil {
		return c, nil
	}
	if err := authenticateClient(hctx, c, o.AuthKey, o.AuthDigest); err != nil {
		c.Close()
		return nil, &net.OpError{Op: "dial", Net: network, Addr: c.RemoteAddr(), Err: err}
	}
	return c, nil
}

// handshakeContext bounds the handshake by o.HandshakeTimeout.
func handshakeContext(ctx context.Context, o *DialOptions) (context.Context, context.CancelFunc) {
	if o.HandshakeTimeout < 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, cmp.Or(o.HandshakeTimeout, defaultDialHandshakeTimeout))
}

// defaultDialHandshakeTimeout is DialOptions.HandshakeTimeout's default.
const defaultDialHandshakeTimeout = 30 * time.Second

// dialRetry connects to addr. A Unix socket's connect fails at once with
// EAGAIN while the listener's backlog is full (the net package does not
// wait, unlike a blocking connect in CPython); dialRetry then tries again,
// with a growing pause, until ctx is done.
func dialRetry(ctx context.Context, network, addr string) (net.Conn, error) {
	if pipeNetwork != "" && network == pipeNetwork {
		return dialPipe(ctx, addr)
	}
	var d net.Dialer
	delay := time.Millisecond
	for {
		nc, err := d.DialContext(ctx, network, addr)
		if err == nil || network != "unix" || !errors.Is(err, platform.EAGAIN) {
			return nc, err
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, err
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}
