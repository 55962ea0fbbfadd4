//go:build unix && !race

package mpconn

import "testing"

// TestLoad is the full-size load test: 1,000 authenticated clients, each
// sending 1,000 messages of mixed sizes through one Unix-socket Listener.
// Under the race detector it is too slow for CI; race builds get a
// smaller TestLoad instead.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Log("-short: running 100 clients x 100 messages")
		runLoad(t, 100, 100, 1<<30)
		return
	}
	// Generous bound on the peak heap: 1 GiB.
	runLoad(t, 1000, 1000, 1<<30)
}
