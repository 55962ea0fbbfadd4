// Package poller is the readiness layer under mpconn's WaitSet: one
// interface, [Poller], with a backend per kind of kernel facility (epoll
// on Linux, kqueue on macOS and the BSDs) and a portable one that scans,
// all held to the same conformance suite.
//
// A Poller watches descriptors for readability, each under a key the
// caller picks (a uint32, never the descriptor itself, which on Windows
// is a HANDLE and elsewhere may be reused once closed). A descriptor is
// passed as a uintptr, the form syscall.RawConn.Control gives. Reports are
// one-shot: after a descriptor is reported it stays quiet until Rearm.
package poller

import "context"

// Poller watches descriptors for a wait set.
type Poller interface {
	// Register starts watching fd under key (not WakeKey).
	Register(fd uintptr, key uint32) error
	// Rearm makes a reported descriptor reportable again.
	Rearm(fd uintptr, key uint32) error
	// Unregister stops watching fd. A descriptor closed meanwhile may
	// have left the poller already; the error then says so and may be
	// ignored.
	Unregister(fd uintptr, key uint32) error
	// Poll appends to keys the keys of the descriptors that are ready,
	// and WakeKey if Wake was called since the last report of it. With
	// block, it waits until there is one or ctx is done (then it returns
	// ctx's error); without, it only looks. A backend that cannot tell
	// which descriptors are ready (Scan) reports every key: the caller
	// checks each.
	Poll(ctx context.Context, block bool, keys []uint32) ([]uint32, error)
	// Wake makes a blocked Poll, or the next one, report WakeKey. It is
	// safe to call from any goroutine.
	Wake()
	// Close releases the poller's descriptors.
	Close() error
}

// WakeKey is the key Poll reports after Wake; Register never takes it.
const WakeKey = 0

// Backend names a Poller implementation and makes one.
type Backend struct {
	Name string
	New  func() (Poller, error)
	// Exact: Poll reports only descriptors that are ready (the kernel's
	// facilities), not every key (Scan).
	Exact bool
}

// Backends returns every backend this system has, the default first: the
// conformance suite runs each.
func Backends() []Backend {
	return append(kernelBackends(), Backend{Name: "scan", New: NewScan})
}

// New returns the default Poller: the kernel's facility where there is
// one (unless built with the tag mpconnscan, which selects Scan, to test
// the fallback through the whole library), Scan elsewhere.
func New() (Poller, error) {
	if forceScan {
		return NewScan()
	}
	return Backends()[0].New()
}
