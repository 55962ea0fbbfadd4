//go:build !linux && !windows

package shm

import "errors"

// Named blocks are implemented on Linux and Windows. macOS and the BSDs
// have shm_open in libc, which Go does not call without cgo (FreeBSD's
// shm_open2 system call is another way in): each call returns
// ErrUnsupported there.

var errExist = errors.New("shm: exists")

func createNamed(name string, size int) (*Block, error) { return nil, ErrUnsupported }

func openNamed(name string) (*Block, error) { return nil, ErrUnsupported }

func unlinkNamed(name string) error { return ErrUnsupported }

func release(data []byte, fd int) error { return nil }

func fileSize(fd int, mapped int) (int64, error) { return 0, ErrUnsupported }
