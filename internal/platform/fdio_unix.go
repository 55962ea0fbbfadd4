//go:build unix

package platform

import "syscall"

// Read is one read(2) on descriptor fd, as syscall.RawConn.Read passes it.
func Read(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }

// Write is one write(2) on descriptor fd.
func Write(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }
