package mpconn

import (
	"context"
	"errors"
	"net"
	"os"

	"github.com/mpconn/mpconn/internal/npipe"
)

// On Windows, as in CPython, the default address is a named pipe: Listen
// with an empty address picks a fresh `\\.\pipe\mpconn-PID-N-RANDOM`.
// Pipe addresses are served by internal/npipe, TCP by the net package.

func freshUnixAddress() (dir, path string, err error) {
	return "", npipe.UniqueName(os.Getpid()), nil
}

func listenSocket(network, addr string, backlog int) (net.Listener, string, error) {
	switch network {
	case "pipe":
		nl, err := listenPipe(addr, false)
		return nl, "", err
	case "tcp":
		var lc net.ListenConfig
		nl, err := lc.Listen(context.Background(), "tcp", addr)
		return nl, "", err
	case "unix":
		return nil, "", unsupported("listening on a Unix socket")
	}
	return nil, "", errors.New("unsupported network " + network)
}

// listenPipe creates the first instance of a named pipe; cpython selects
// CPython's security (ListenOptions.PipeCPythonSecurity).
func listenPipe(addr string, cpython bool) (net.Listener, error) {
	var opts *npipe.Options
	if cpython {
		opts = &npipe.Options{DefaultSecurity: true, AllowRemote: true}
	}
	l, err := npipe.Listen(addr, opts)
	if err != nil {
		return nil, err
	}
	return npipe.NetListener{L: l}, nil
}

// dialPipe connects to a named pipe.
func dialPipe(ctx context.Context, addr string) (net.Conn, error) {
	pc, err := npipe.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	return npipe.NewStream(pc, 0), nil
}

// pipeNetwork is the network of named-pipe addresses; ParseAddress
// returns it for an address that starts with two backslashes.
const pipeNetwork = "pipe"
