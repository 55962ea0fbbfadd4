package mpconn

import (
	"os"
	"sync/atomic"
	"syscall"
)

// rawAccept is a Listener's raw accepting state on Linux, with an AuthKey
// and no TLS: a duplicate of the listening socket, to accept connections
// that the network poller does not know yet, and authenticate them with
// blocking system calls (rawHandshake).
type rawAccept struct {
	acceptFile *os.File // nil: the Listener accepts through net.Listener
	acceptRC   syscall.RawConn
	hotBusy    atomic.Bool  // an Accept serves clients itself (acceptHot)
	hotUntil   atomic.Int64 // until then (UnixNano), the accept loop stands aside
	wakeFD     int          // eventfd that wakes the accept loop (serveRawLoop)
	watching   atomic.Bool  // the accept loop waits for clients
}

// rawAccepting reports whether the Listener accepts raw.
func (r *rawAccept) rawAccepting() bool { return r.acceptFile != nil }

// closeAcceptFile closes the duplicate of the listening socket.
func (r *rawAccept) closeAcceptFile() { r.acceptFile.Close() }
