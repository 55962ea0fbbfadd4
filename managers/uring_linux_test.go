//go:build linux

package managers

import "testing"

// TestWithoutURing: where io_uring is missing or forbidden, the event
// loop writes a reply and takes its request out of the socket with two
// calls; the event loop's test workloads pass that way too.
func TestWithoutURing(t *testing.T) {
	// Registered first, so run last: after the servers' Close, which
	// waits for their loops.
	t.Cleanup(func() { loopURing = true })
	loopURing = false
	t.Run("pipelined", func(t *testing.T) {
		s, addr := startServer(t, nil)
		testPipelined(t, addr)
		s.loopOnce.Do(func() {})
		for _, l := range s.loops {
			if l.hadRing {
				t.Error("a loop has a ring with loopURing false")
			}
		}
	})
	t.Run("not reading", func(t *testing.T) {
		_, addr := startServer(t, nil)
		testNotReading(t, addr, 60<<10)
	})
}

// TestURingUsed: on a Linux that allows io_uring, the loops serving
// Unix sockets have their ring after a workload (errors on the ring would
// have dropped it).
func TestURingUsed(t *testing.T) {
	if u := newURing(); u == nil {
		t.Skip("io_uring not available here (old kernel, kernel.io_uring_disabled or a seccomp filter)")
	} else {
		u.close()
	}
	s, addr := startServer(t, nil)
	testPipelined(t, addr)
	testNotReading(t, addr, 60<<10)
	s.loopOnce.Do(func() {})
	if len(s.loops) == 0 {
		t.Fatal("no event loop")
	}
	for _, l := range s.loops {
		if !l.hadRing || l.ringDropped.Load() {
			t.Errorf("a loop's ring: had %v, dropped %v", l.hadRing, l.ringDropped.Load())
		}
	}
}
