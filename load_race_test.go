//go:build unix && race

package mpconn

import "testing"

// TestLoad under the race detector: 250 clients x 100 messages (every
// message size of loadSize but the occasional 200 KB one), the same code
// as the full-size test of load_full_test.go (1,000 x 1,000), which
// scripts/test runs without the detector (under it, 1,000 x 100 took 23
// CPU-seconds, the most of any test of the race phase).
func TestLoad(t *testing.T) {
	runLoad(t, 250, 100, 1<<30)
}
