package mpconn

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// No Windows CPython runs here. What a Python child started by StartChild
// does on Windows is multiprocessing.connection.PipeConnection(handle)
// on the handle MPCONN_FD names; childPipeConnection does what
// PipeConnection does with it, system call for system call (CPython's
// Lib/multiprocessing/connection.py, 3.8 to 3.13): no message read mode
// of its own, overlapped ReadFile of min(maxsize, 128) bytes, on
// ERROR_MORE_DATA PeekNamedPipe for the rest of the message and a read of
// exactly that; each send one overlapped WriteFile of the bare payload.

func init() {
	testChildren["pipeconnection"] = childPipeConnection
}

var (
	kernel32          = windows.NewLazySystemDLL("kernel32.dll")
	procPeekNamedPipe = kernel32.NewProc("PeekNamedPipe")
	procWriteFile     = kernel32.NewProc("WriteFile")
)

// pcOverlapped runs one overlapped operation on h and waits for it, as
// PipeConnection does (GetOverlappedResult after waiting on its event).
func pcOverlapped(h windows.Handle, start func(ov *windows.Overlapped) error) (uint32, error) {
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return 0, err
	}
	defer windows.CloseHandle(ev)
	ov := &windows.Overlapped{HEvent: ev}
	err = start(ov)
	if err != nil && err != windows.ERROR_IO_PENDING && err != windows.ERROR_MORE_DATA {
		return 0, err
	}
	var n uint32
	err = windows.GetOverlappedResult(h, ov, &n, true)
	return n, err
}

// pcRecvBytes is PipeConnection._recv_bytes.
func pcRecvBytes(h windows.Handle) ([]byte, error) {
	buf := make([]byte, 128)
	n, err := pcOverlapped(h, func(ov *windows.Overlapped) error {
		var done uint32 // (x/sys reads it under the race detector)
		return windows.ReadFile(h, buf, &done, ov)
	})
	if err == nil {
		return buf[:n], nil
	}
	if err != windows.ERROR_MORE_DATA {
		return nil, err
	}
	var left uint32
	r, _, e := procPeekNamedPipe.Call(uintptr(h), 0, 0, 0, 0, uintptr(unsafe.Pointer(&left)))
	if r == 0 {
		return nil, fmt.Errorf("PeekNamedPipe: %v", e)
	}
	rest := make([]byte, left)
	m, err := pcOverlapped(h, func(ov *windows.Overlapped) error {
		var done uint32
		return windows.ReadFile(h, rest, &done, ov)
	})
	if err != nil || m != left {
		return nil, fmt.Errorf("reading the rest: %d of %d bytes, %v", m, left, err)
	}
	return append(buf[:n], rest...), nil
}

// pcSendBytes is PipeConnection._send_bytes.
func pcSendBytes(h windows.Handle, p []byte) error {
	buf := p
	if len(p) == 0 {
		buf = make([]byte, 1) // a zero-length write still needs a pointer
	}
	n, err := pcOverlapped(h, func(ov *windows.Overlapped) error {
		// x/sys's WriteFile would pass a nil buffer for an empty one.
		r, _, e := procWriteFile.Call(uintptr(h), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(p)), 0, uintptr(unsafe.Pointer(ov)))
		if r == 0 {
			return e
		}
		return nil
	})
	if err != nil || int(n) != len(p) {
		return fmt.Errorf("WriteFile: %d of %d bytes, %v", n, len(p), err)
	}
	return nil
}

// childPipeConnection echoes every message it receives, bare, until the
// end of the pipe, then exits 0; any failure exits 3 (saying why).
func childPipeConnection() int {
	v, err := strconv.ParseUint(os.Getenv(EnvFD), 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: MPCONN_FD:", err)
		return 2
	}
	h := windows.Handle(v)
	for {
		m, err := pcRecvBytes(h)
		if err == windows.ERROR_BROKEN_PIPE {
			return 0
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child: recv_bytes:", err)
			return 3
		}
		if err := pcSendBytes(h, m); err != nil {
			fmt.Fprintln(os.Stderr, "child: send_bytes:", err)
			return 3
		}
	}
}

// A child that uses the inherited handle as CPython's PipeConnection does
// gets each message whole and bare (a 300-byte one needs ERROR_MORE_DATA
// on its 128-byte read, which message read mode gives), and what it
// writes arrives as messages.
func TestStartChildPipeConnectionModel(t *testing.T) {
	ctx := testCtx(t)
	ch, c := startChild(t, goChild("pipeconnection"), nil)
	msgs := [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte("abc"), 100), bytes.Repeat([]byte{7}, 128)}
	echo(t, ctx, c, msgs...)
	// Pickles too: the child neither adds nor strips anything.
	if err := c.Send(ctx, []any{"x", int64(1)}); err != nil {
		t.Fatal(err)
	}
	var got []any
	if err := c.Recv(ctx, &got); err != nil || len(got) != 2 || got[0] != "x" || fmt.Sprint(got[1]) != "1" {
		t.Fatalf("pickle echo: %v %v", got, err)
	}
	c.Close()
	if err := ch.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}
