package npipe

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// Kernel32 calls that golang.org/x/sys/windows does not have, or has in a
// shape that does not fit (its WriteFile passes NULL for an empty buffer).

var (
	kernel32          = windows.NewLazySystemDLL("kernel32.dll")
	procPeekNamedPipe = kernel32.NewProc("PeekNamedPipe")
	procWaitNamedPipe = kernel32.NewProc("WaitNamedPipeW")
	procReadFile      = kernel32.NewProc("ReadFile")
	procWriteFile     = kernel32.NewProc("WriteFile")
)

// Constants of the named-pipe API missing from x/sys.
const (
	pipeRejectRemoteClients = 0x00000008 // PIPE_REJECT_REMOTE_CLIENTS
	securitySQOSPresent     = 0x00100000 // SECURITY_SQOS_PRESENT
	securityIdentification  = 0x00010000 // SECURITY_IDENTIFICATION (SecurityIdentification << 16)
)

// errnoErr returns the error of a failed call, never nil.
func errnoErr(e error) error {
	if errno, ok := e.(windows.Errno); ok && errno != 0 {
		return errno
	}
	if e == nil || e == windows.Errno(0) {
		return windows.ERROR_GEN_FAILURE // the call failed without saying why
	}
	return e
}

// peekNamedPipe returns the bytes waiting in the pipe and, in message
// mode, how many of them are left in the message at the head.
func peekNamedPipe(h windows.Handle) (avail, leftThisMessage uint32, err error) {
	r, _, e := procPeekNamedPipe.Call(uintptr(h), 0, 0, 0,
		uintptr(unsafe.Pointer(&avail)), uintptr(unsafe.Pointer(&leftThisMessage)))
	if r == 0 {
		return 0, 0, errnoErr(e)
	}
	return avail, leftThisMessage, nil
}

// waitNamedPipe waits up to ms milliseconds for an instance of the pipe
// to be free for CreateFile.
func waitNamedPipe(name *uint16, ms uint32) error {
	r, _, e := procWaitNamedPipe.Call(uintptr(unsafe.Pointer(name)), uintptr(ms))
	if r == 0 {
		return errnoErr(e)
	}
	return nil
}

// readFile starts an overlapped read of n bytes into p.
func readFile(h windows.Handle, p *byte, n uint32, ov *windows.Overlapped) error {
	r, _, e := procReadFile.Call(uintptr(h), uintptr(unsafe.Pointer(p)), uintptr(n), 0, uintptr(unsafe.Pointer(ov)))
	if r == 0 {
		return errnoErr(e)
	}
	return nil
}

// writeFile starts an overlapped write of n bytes from p; n may be 0 (an
// empty message), p must still point at memory.
func writeFile(h windows.Handle, p *byte, n uint32, ov *windows.Overlapped) error {
	r, _, e := procWriteFile.Call(uintptr(h), uintptr(unsafe.Pointer(p)), uintptr(n), 0, uintptr(unsafe.Pointer(ov)))
	if r == 0 {
		return errnoErr(e)
	}
	return nil
}
