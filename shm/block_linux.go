//go:build linux

package shm

import (
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// On Linux, glibc's shm_open opens /dev/shm/NAME with O_NOFOLLOW and
// O_CLOEXEC, and shm_unlink unlinks it; CPython calls them through
// _posixshmem. This does the same without libc.

const shmDir = "/dev/shm/"

var errExist = fs.ErrExist

func createNamed(name string, size int) (*Block, error) {
	fd, err := unix.Open(shmDir+name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &os.PathError{Op: "shm_open", Path: "/" + name, Err: err}
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		unix.Unlink(shmDir + name)
		return nil, &os.PathError{Op: "ftruncate", Path: "/" + name, Err: err}
	}
	b, err := mapFD(fd, name)
	if err != nil {
		unix.Unlink(shmDir + name)
		return nil, err
	}
	return b, nil
}

func openNamed(name string) (*Block, error) {
	fd, err := unix.Open(shmDir+name, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, &os.PathError{Op: "shm_open", Path: "/" + name, Err: err}
	}
	return mapFD(fd, name)
}

// mapFD maps all of fd (its size from fstat, never from a message) and
// takes ownership of fd: it is closed on failure.
func mapFD(fd int, name string) (*Block, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("shm: %q is not a regular file", name)
	}
	if st.Size <= 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("shm: %q is empty: nothing to map", name)
	}
	if st.Size > int64(maxMapping) {
		unix.Close(fd)
		return nil, fmt.Errorf("shm: %q is %d bytes, more than this process can map", name, st.Size)
	}
	data, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("mmap", err)
	}
	return &Block{name: name, data: data, fd: fd}, nil
}

func unlinkNamed(name string) error {
	if err := unix.Unlink(shmDir + name); err != nil {
		return &os.PathError{Op: "shm_unlink", Path: "/" + name, Err: err}
	}
	return nil
}

func release(data []byte, fd int) error {
	var err error
	if data != nil {
		err = unix.Munmap(data)
	}
	if fd >= 0 {
		if cerr := unix.Close(fd); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("shm: close: %w", err)
	}
	return nil
}

func fileSize(fd int, mapped int) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, os.NewSyscallError("fstat", err)
	}
	return st.Size, nil
}
