//go:build unix && race

package mpconn

import "testing"

// TestLoad under the race detector: 1,000 clients x 100 messages, the same
// code (runLoad) as the full-size TestLoad of builds without the detector
// (1,000 x 1,000), which is too slow under it on a 2-core machine.
func TestLoad(t *testing.T) {
	runLoad(t, 1000, 100, 1<<30)
}
