//go:build unix

package platform

import "syscall"

// DirectIO: Read and Write work on the descriptors of the runtime's
// sockets and pipes (syscall.RawConn), which are non-blocking.
const DirectIO = true

// Read is one read(2) on descriptor fd, as syscall.RawConn.Read passes it.
func Read(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }

// Write is one write(2) on descriptor fd.
func Write(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }
