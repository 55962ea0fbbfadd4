//go:build !unix

package mpconn

import (
	"context"
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
)

// The Pyodide peers talk through FIFOs (startPyodideAuthPeer): Unix only.
// Elsewhere, every handshake starts its own CPython (startAuthPeer).

func startAuthServer(t *testing.T, py cpython.Python) {
	if py.Pyodide {
		t.Skip("Pyodide peers talk through Unix FIFOs, which this system lacks")
	}
}

func startServedAuthPeer(t *testing.T, ctx context.Context, py cpython.Python, mode string, key []byte, digest string) (*testFrameConn, func() string, bool) {
	if py.Pyodide {
		t.Skip("Pyodide peers talk through Unix FIFOs, which this system lacks")
	}
	return nil, nil, false
}
