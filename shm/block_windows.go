//go:build windows

package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows, CPython's SharedMemory is a section backed by the paging
// file under the block's name: CreateFileMapping(INVALID_HANDLE_VALUE,
// NULL, PAGE_READWRITE, size, name) to create (ERROR_ALREADY_EXISTS
// refused), OpenFileMapping to attach, with the size of the view
// (VirtualQuerySize, whole pages). Nothing unlinks a section: it lives
// while a handle or a view of it does.

var errExist = fs.ErrExist

// osHandle is what a Block holds its memory by: the section's handle.
type osHandle = windows.Handle

const noHandle = windows.Handle(0)

var procOpenFileMappingW = windows.NewLazySystemDLL("kernel32.dll").NewProc("OpenFileMappingW")

func createNamed(name string, size int) (*Block, error) {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, &NameError{name, err.Error()}
	}
	h, err := windows.CreateFileMapping(windows.InvalidHandle, nil, windows.PAGE_READWRITE,
		uint32(uint64(size)>>32), uint32(uint64(size)), n)
	if err != nil {
		if h != 0 {
			windows.CloseHandle(h) // ERROR_ALREADY_EXISTS: someone else's section
		}
		return nil, &os.PathError{Op: "CreateFileMapping", Path: name, Err: err}
	}
	return mapSection(h, name, size)
}

func openNamed(name string) (*Block, error) {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, &NameError{name, err.Error()}
	}
	r, _, e := procOpenFileMappingW.Call(windows.FILE_MAP_READ|windows.FILE_MAP_WRITE, 0, uintptr(unsafe.Pointer(n)))
	if r == 0 {
		return nil, &os.PathError{Op: "OpenFileMapping", Path: name, Err: e}
	}
	return mapSection(windows.Handle(r), name, 0)
}

// mapSection maps all of the section h (size 0: however long it is) and
// takes ownership of h: it is closed on failure.
func mapSection(h windows.Handle, name string, size int) (*Block, error) {
	addr, err := windows.MapViewOfFile(h, windows.FILE_MAP_READ|windows.FILE_MAP_WRITE, 0, 0, uintptr(size))
	if err != nil {
		windows.CloseHandle(h)
		return nil, os.NewSyscallError("MapViewOfFile", err)
	}
	if size == 0 {
		var mbi windows.MemoryBasicInformation
		if err := windows.VirtualQuery(addr, &mbi, unsafe.Sizeof(mbi)); err != nil {
			windows.UnmapViewOfFile(addr)
			windows.CloseHandle(h)
			return nil, os.NewSyscallError("VirtualQuery", err)
		}
		if mbi.RegionSize == 0 || mbi.RegionSize > uintptr(maxMapping) {
			windows.UnmapViewOfFile(addr)
			windows.CloseHandle(h)
			return nil, fmt.Errorf("shm: %q: a view of %d bytes cannot be mapped", name, mbi.RegionSize)
		}
		size = int(mbi.RegionSize)
	}
	// The view is memory the system manages, outside Go's heap: the
	// uintptr becomes a pointer without a conversion vet would question.
	data := unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))), size)
	return &Block{name: name, data: data, fd: h}, nil
}

// unlinkNamed does nothing: a section has no name to remove apart from
// itself (see Unlink).
func unlinkNamed(name string) error { return nil }

func release(data []byte, h windows.Handle) error {
	var err error
	if data != nil {
		if uerr := windows.UnmapViewOfFile(uintptr(unsafe.Pointer(&data[0]))); uerr != nil {
			err = os.NewSyscallError("UnmapViewOfFile", uerr)
		}
	}
	if h != noHandle {
		if cerr := windows.CloseHandle(h); cerr != nil {
			err = errors.Join(err, os.NewSyscallError("CloseHandle", cerr))
		}
	}
	if err != nil {
		return fmt.Errorf("shm: close: %w", err)
	}
	return nil
}

// fileSize is the size of the mapping: a section never shrinks.
func fileSize(h windows.Handle, mapped int) (int64, error) { return int64(mapped), nil }
