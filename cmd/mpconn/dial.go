package main

import (
	"context"
	"sync"
	"time"

	"github.com/mpconn/mpconn"
)

// noChallengeNote is how long a client with a key waits for the
// Listener's challenge before saying that none has come.
var noChallengeNote = 3 * time.Second

// dialPeer connects to the Listener at address for the command name, with
// opts (an AuthKey, or none). With wait, a refused or missing address
// is retried until ctx ends, as mpconn.DialRetry does.
//
// A Listener without a key sends nothing when a client connects: it waits
// for the client's first message, while a client with a key waits for
// the Listener's challenge, and neither says anything until the deadline.
// So when a client with a key has heard nothing after noChallengeNote,
// dialPeer says so on standard error, and goes on waiting until ctx ends.
func dialPeer(ctx context.Context, out output, name, address string, opts *mpconn.DialOptions, wait bool) (*mpconn.Conn, error) {
	var mu sync.Mutex
	done := false
	if opts.AuthKey != nil {
		note := time.AfterFunc(noChallengeNote, func() {
			mu.Lock()
			defer mu.Unlock()
			if !done {
				out.errorf(name, "nothing from the Listener after %v. A Listener without an authkey sends no challenge: it waits for the client. If it has no key, drop --authkey. Still waiting.", noChallengeNote)
			}
		})
		defer note.Stop()
	}
	dial := mpconn.Dial
	if wait {
		dial = mpconn.DialRetry
	}
	c, err := dial(ctx, address, opts)
	mu.Lock()
	done = true
	mu.Unlock()
	return c, err
}
