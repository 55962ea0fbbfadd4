package npipe

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/windows"
)

// BusyTimeout is how long [Dial] keeps trying while every instance of the
// pipe is busy, as CPython's PipeClient does (CONNECTION_TIMEOUT, 20 s).
const BusyTimeout = 20 * time.Second

// busyWait is the longest single WaitNamedPipe of Dial: it cannot be
// interrupted, so Dial checks ctx this often while the pipe is busy.
const busyWait = 100 * time.Millisecond

// Dial connects to the pipe at addr (`\\.\pipe\NAME`, or
// `\\SERVER\pipe\NAME`) and sets the handle to message read mode, as
// CPython's PipeClient does. While every instance is busy
// (ERROR_PIPE_BUSY, ERROR_SEM_TIMEOUT) it waits with WaitNamedPipe and
// tries again, for up to [BusyTimeout] or until ctx ends. A pipe that
// does not exist fails at once (an error matching [os.ErrNotExist]).
//
// The handle is opened with SECURITY_IDENTIFICATION: the server may learn
// who the client is, but not act as the client.
func Dial(ctx context.Context, addr string) (*Conn, error) {
	return dial(ctx, addr, windows.GENERIC_READ|windows.GENERIC_WRITE)
}

func dial(ctx context.Context, addr string, access uint32) (*Conn, error) {
	name16, err := windows.UTF16PtrFromString(addr)
	if err != nil {
		return nil, fmt.Errorf("npipe: dial %q: %w", addr, err)
	}
	deadline := time.Now().Add(BusyTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var h windows.Handle
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err = windows.CreateFile(name16, access, 0, nil, windows.OPEN_EXISTING,
			windows.FILE_FLAG_OVERLAPPED|securitySQOSPresent|securityIdentification, 0)
		if err == nil {
			break
		}
		if err != windows.ERROR_PIPE_BUSY {
			return nil, fmt.Errorf("npipe: dial %s: %w", addr, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("npipe: dial %s: every instance stayed busy for %v: %w", addr, BusyTimeout, err)
		}
		ms := uint32(min(left, busyWait).Milliseconds()) + 1
		if err := waitNamedPipe(name16, ms); err != nil && err != windows.ERROR_SEM_TIMEOUT && err != windows.ERROR_PIPE_BUSY {
			return nil, fmt.Errorf("npipe: dial %s: WaitNamedPipe: %w", addr, err)
		}
	}
	mode := uint32(windows.PIPE_READMODE_MESSAGE)
	if err := windows.SetNamedPipeHandleState(h, &mode, nil, nil); err != nil {
		windows.CloseHandle(h)
		return nil, fmt.Errorf("npipe: dial %s: SetNamedPipeHandleState: %w", addr, err)
	}
	if err := associate(h); err != nil {
		windows.CloseHandle(h)
		return nil, err
	}
	c := newConn(h)
	c.name = addr
	return c, nil
}
