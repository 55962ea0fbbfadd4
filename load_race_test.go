//go:build unix && race

package mpconn

import "testing"

// TestLoad under the race detector: 250 clients x 100 messages (every
// message size of loadSize but the occasional 200 KB one), the same code
// (runLoad) as the full-size TestLoad of builds without the detector
// (1,000 x 1,000), which scripts/test runs too (under the detector,
// 1,000 x 100 took 23 CPU-seconds, the most of any test of the race
// phase).
func TestLoad(t *testing.T) {
	runLoad(t, 250, 100, 1<<30)
}
