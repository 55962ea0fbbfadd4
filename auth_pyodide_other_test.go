//go:build !unix

package mpconn

import (
	"context"
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
)

// The Pyodide peers talk through FIFOs (auth_pyodide_test.go): Unix only.

func startPyodideAuthServer(t *testing.T, py cpython.Python) {
	t.Skip("Pyodide peers talk through Unix FIFOs, which this system lacks")
}

func startPyodideAuthPeer(t *testing.T, ctx context.Context, mode string, key []byte, digest string) (*testFrameConn, func() string) {
	t.Skip("Pyodide peers talk through Unix FIFOs, which this system lacks")
	return nil, nil
}
