//go:build !windows

package shm

// namePrefix starts the names NewName makes, as CPython's on POSIX
// systems.
const namePrefix = NamePrefix

// badNameChars may not appear in a name: a name is one entry of the
// shared memory directory.
const badNameChars = "/\x00"

// badNameWhat says what badNameChars are, for NameError.
const badNameWhat = "a slash or a NUL"
