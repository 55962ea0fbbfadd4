//go:build !unix

package platform

// DirectIO: Read and Write do not work here.
const DirectIO = false

// ErrNoFDIO is why Read and Write fail here: a descriptor read or written
// directly, outside the runtime's poller, is a Unix notion.
var ErrNoFDIO = unsupported("direct non-blocking I/O on a descriptor")

// Read is not available on this system.
func Read(fd uintptr, p []byte) (int, error) { return 0, ErrNoFDIO }

// Write is not available on this system.
func Write(fd uintptr, p []byte) (int, error) { return 0, ErrNoFDIO }
