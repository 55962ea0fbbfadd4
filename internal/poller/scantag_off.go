//go:build !mpconnscan

package poller

// forceScan: New returns the kernel's facility where there is one.
const forceScan = false
