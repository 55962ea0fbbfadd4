package mpconn

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// TLS is optional and sits under the framing: with a TLSConfig in
// [ListenOptions] or [DialOptions] every message, and the HMAC handshake
// when an AuthKey is also set, travels inside a TLS session. The two
// compose: TLS authenticates the server by certificate (and the client too
// when the server asks for client certificates) and encrypts the stream;
// the HMAC handshake then proves that both ends hold the shared key.

// wrapTLS wraps an accepted connection as the server side of a TLS
// session, when the Listener has a TLSConfig. The TLS handshake itself
// runs later, off the accept path (serverTLSHandshake).
func (l *Listener) wrapTLS(nc net.Conn) net.Conn {
	if l.opts.TLSConfig == nil {
		return nc
	}
	return tls.Server(nc, l.opts.TLSConfig)
}

// serverTLSHandshake runs the TLS handshake of an accepted Conn whose
// transport is a TLS session; it does nothing for other transports.
func serverTLSHandshake(ctx context.Context, c *Conn) error {
	tc, ok := c.t.(*tls.Conn)
	if !ok {
		return nil
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("mpconn: TLS handshake: %w", err)
	}
	return nil
}

// clientTLS wraps a dialled connection as the client side of a TLS
// session and runs the handshake under ctx. Without a ServerName in cfg,
// the host part of addr is used, as tls.Dial does.
func clientTLS(ctx context.Context, nc net.Conn, network, addr string, cfg *tls.Config) (net.Conn, error) {
	if cfg.ServerName == "" && network == "tcp" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("mpconn: TLS handshake: %w", err)
	}
	return tc, nil
}
