package shm

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// NamePrefix starts the names that CPython's SharedMemory generates on
// POSIX systems: "psm_" and 8 hex digits ("/psm_…" for shm_open), 14
// characters at most with the slash, the limit of FreeBSD.
const NamePrefix = "psm_"

// WindowsNamePrefix starts the names CPython's SharedMemory generates on
// Windows: "wnsm_" and 8 hex digits.
const WindowsNamePrefix = "wnsm_"

// maxNameLen is NAME_MAX, the longest name /dev/shm holds.
const maxNameLen = 255

// NewName returns a fresh random name like CPython's: "psm_" (Windows:
// "wnsm_") and 8 hex digits.
func NewName() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("shm: crypto/rand failed: " + err.Error()) // never, since Go 1.24
	}
	return namePrefix + hex.EncodeToString(b[:])
}

// NameError reports a block name that cannot be a POSIX shared memory
// name.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("shm: invalid name %q: %s", e.Name, e.Reason)
}

// cleanName checks a block name as [SharedMemory.name] reports it (no
// leading slash; one leading slash is accepted and dropped) and returns
// it without the slash. A name names one object directly in the shared
// memory directory: it is not empty, not "." or "..", at most 255 bytes,
// and holds no slash and no NUL (on Windows no backslash either, which
// would name another namespace, such as Global\). Names that come from a
// peer go through the same check, so a peer cannot name a file
// elsewhere.
func cleanName(name string) (string, error) {
	n := strings.TrimPrefix(name, "/")
	switch {
	case n == "":
		return "", &NameError{name, "empty"}
	case n == "." || n == "..":
		return "", &NameError{name, "a directory"}
	case len(n) > maxNameLen:
		return "", &NameError{name, "longer than 255 bytes"}
	case strings.ContainsAny(n, badNameChars):
		return "", &NameError{name, "holds " + badNameWhat}
	}
	return n, nil
}
