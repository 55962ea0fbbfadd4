//go:build !windows

package mpconn

import (
	"context"
	"net"
)

// pipeNetwork is empty: named pipes exist on Windows only.
const pipeNetwork = ""

func dialPipe(ctx context.Context, addr string) (net.Conn, error) {
	return nil, unsupported("Windows named pipes")
}

func listenPipe(addr string, cpython bool) (net.Listener, error) {
	return nil, unsupported("Windows named pipes")
}
