//go:build !unix && !windows

package mpconn

import (
	"context"
	"errors"
	"net"
)

// Without Unix sockets of the Unix kind (mode bits, private directories),
// a Listener serves TCP only here.

func freshUnixAddress() (dir, path string, err error) {
	return "", "", unsupported("a fresh Unix socket address (Listen with an empty address)")
}

func listenSocket(network, addr string, backlog int) (net.Listener, string, error) {
	switch network {
	case "tcp":
		var lc net.ListenConfig
		nl, err := lc.Listen(context.Background(), "tcp", addr)
		return nl, "", err
	case "unix":
		return nil, "", unsupported("listening on a Unix socket")
	}
	return nil, "", errors.New("unsupported network " + network)
}
