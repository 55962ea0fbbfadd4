//go:build !windows

package shm

// osHandle is what a Block holds its memory by: a descriptor.
type osHandle = int

const noHandle = -1
