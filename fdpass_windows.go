package mpconn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/mpconn/mpconn/internal/npipe"
	"github.com/mpconn/mpconn/internal/platform"
	"golang.org/x/sys/windows"
)

// On Windows a file travels as CPython's send_handle sends it there: a
// message holding a pickled multiprocessing.reduction.DupHandle, the
// handle duplicated into the receiving process (whose pid a named pipe
// tells) or, when the receiver is not known, into this process for the
// receiver to take (DuplicateHandle with DUPLICATE_CLOSE_SOURCE).

// maxSendHandles bounds SendFiles, as maxSendFDs does on Unix.
const maxSendHandles = 253

func fdPassingTransport(t transport, refuse bool) transport { return t }

func (c *Conn) readNow(fd uintptr, p []byte) (int, error) { return platform.Read(fd, p) }

var (
	modntdll          = windows.NewLazySystemDLL("ntdll.dll")
	procNtQueryObject = modntdll.NewProc("NtQueryObject")
)

// grantedAccess returns the access mask of h (NtQueryObject,
// ObjectBasicInformation), which a receiver taking the handle asks for.
func grantedAccess(h windows.Handle) (uint32, error) {
	var info [56]byte // OBJECT_BASIC_INFORMATION
	var n uint32
	st, _, _ := procNtQueryObject.Call(uintptr(h), 0, uintptr(unsafe.Pointer(&info[0])), uintptr(len(info)), uintptr(unsafe.Pointer(&n)))
	if st != 0 {
		return 0, fmt.Errorf("NtQueryObject: %w", windows.NTStatus(st))
	}
	return *(*uint32)(unsafe.Pointer(&info[4])), nil
}

// peerPID returns the process id of the other end of a named-pipe Conn,
// or 0 when it is not known: not a pipe, or a pipe whose ends this
// process opened (a Pipe, whose end a child may have inherited since)
// unless StartChild recorded the child's pid on it.
func (c *Conn) peerPID() uint32 {
	s, ok := c.t.(*npipe.Stream)
	if !ok {
		return 0
	}
	return s.Conn().PeerProcess()
}

// testHookPeerPID, when set by a test, replaces peerPID's answer.
var testHookPeerPID func() uint32

func (c *Conn) sendFiles(ctx context.Context, files []*os.File) error {
	if len(files) == 0 || len(files) > maxSendHandles {
		return fmt.Errorf("mpconn: SendFiles takes 1 to %d files, not %d", maxSendHandles, len(files))
	}
	for _, f := range files {
		if f == nil {
			return errors.New("mpconn: SendFiles: nil file")
		}
	}
	if err := c.canSend(); err != nil {
		return err
	}
	self := windows.GetCurrentProcessId()
	target := c.peerPID()
	if testHookPeerPID != nil {
		target = testHookPeerPID()
	}
	if target == 0 {
		target = self // the receiver takes it from here
	}
	cur := windows.CurrentProcess()
	proc := cur
	if target != self {
		p, err := windows.OpenProcess(windows.PROCESS_DUP_HANDLE, false, target)
		if err != nil {
			return c.opError("sendfile", fmt.Errorf("OpenProcess %d: %w", target, err))
		}
		defer windows.CloseHandle(p)
		proc = p
	}
	var dups []windows.Handle
	undo := func() {
		for _, d := range dups {
			// Closes d in the process it was made for.
			windows.DuplicateHandle(proc, d, 0, nil, 0, false, windows.DUPLICATE_CLOSE_SOURCE)
		}
	}
	objs := make([]any, 0, len(files))
	for _, f := range files {
		rc, err := f.SyscallConn()
		if err != nil {
			undo()
			return c.opError("sendfile", err)
		}
		var dup windows.Handle
		var access uint32
		var derr error
		if err := rc.Control(func(fd uintptr) {
			h := windows.Handle(fd)
			if access, derr = grantedAccess(h); derr != nil {
				return
			}
			derr = windows.DuplicateHandle(cur, h, proc, &dup, 0, false, windows.DUPLICATE_SAME_ACCESS)
		}); err != nil {
			derr = err
		}
		if derr != nil {
			undo()
			return c.opError("sendfile", derr)
		}
		dups = append(dups, dup)
		objs = append(objs, dupHandle{handle: uint64(dup), access: access, pid: target}.object())
	}
	var v any = objs[0]
	if len(objs) > 1 {
		v = objs
	}
	if err := c.Send(ctx, v); err != nil {
		var pe *partialSendError
		if !errors.As(err, &pe) {
			undo() // not sent: the receiver will never take them
		}
		return err
	}
	return nil
}

func (c *Conn) recvFiles(ctx context.Context) ([]*os.File, error) {
	if err := c.beginRecv(ctx); err != nil {
		return nil, err
	}
	defer c.unlockRead()
	// Make the next message whole in the reader and look at it there:
	// one that is not a DupHandle stays for the next receive, as a
	// message does on Unix.
	if _, _, err := c.readMessage(ctx, c.maxSize, nil, true); err != nil {
		return nil, err
	}
	msg, ok := c.rd.Staged()
	if !ok {
		// A staging read that succeeded leaves a whole message.
		return nil, c.opError("recvfile", errors.New("mpconn: internal error: no message staged"))
	}
	ds, err := c.dupHandles(msg)
	if err != nil {
		return nil, c.opError("recvfile", err)
	}
	// A DupHandle: take the message (it is whole: nothing is read).
	if _, _, err := c.readMessage(ctx, c.maxSize, nil, false); err != nil {
		return nil, err
	}
	self := windows.GetCurrentProcessId()
	peer := c.peerPID()
	for _, d := range ds {
		// Only from this process or the pipe's other end: a DupHandle
		// naming some third process would make this one take (and close
		// there) a handle of that process's. Over other connections the
		// peer is not known, and is trusted as CPython trusts it.
		if d.pid != self && peer != 0 && d.pid != peer {
			return nil, c.opError("recvfile", fmt.Errorf("a DupHandle from process %d, which is not the peer (%d)", d.pid, peer))
		}
	}
	files := make([]*os.File, 0, len(ds))
	for _, d := range ds {
		h, err := d.detach(self)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, c.opError("recvfile", err)
		}
		files = append(files, os.NewFile(uintptr(h), fmt.Sprintf("handle %#x", uint64(h))))
	}
	return files, nil
}

// dupHandles decodes msg as what SendFile(s) sends: one pickled
// DupHandle, or a list of them. Anything else is an error wrapping
// ErrNoFile.
func (c *Conn) dupHandles(msg []byte) ([]dupHandle, error) {
	var v any
	if err := c.unmarshal(msg, &v); err != nil {
		return nil, fmt.Errorf("%w: the message received is not a pickle (%w)", ErrNoFile, err)
	}
	items := []any{v}
	if l, ok := v.([]any); ok && len(l) > 0 {
		items = l
	}
	ds := make([]dupHandle, 0, len(items))
	for _, it := range items {
		d, err := parseDupHandle(it)
		if err != nil {
			return nil, fmt.Errorf("%w: the message received is %w", ErrNoFile, err)
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// detach returns the handle in this process, as DupHandle.detach does:
// the handle itself when it was made for this process, or else taken
// from its process, with the access the DupHandle names.
func (d dupHandle) detach(self uint32) (windows.Handle, error) {
	if d.pid == self {
		return windows.Handle(d.handle), nil
	}
	proc, err := windows.OpenProcess(windows.PROCESS_DUP_HANDLE, false, d.pid)
	if err != nil {
		return 0, fmt.Errorf("OpenProcess %d: %w", d.pid, err)
	}
	defer windows.CloseHandle(proc)
	var h windows.Handle
	if err := windows.DuplicateHandle(proc, windows.Handle(d.handle), windows.CurrentProcess(), &h, d.access, false, windows.DUPLICATE_CLOSE_SOURCE); err != nil {
		return 0, fmt.Errorf("DuplicateHandle from process %d: %w", d.pid, err)
	}
	return h, nil
}
