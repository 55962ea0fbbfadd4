//go:build mpconnscan

package poller

// forceScan: built with the tag mpconnscan, New returns Scan.
const forceScan = true
