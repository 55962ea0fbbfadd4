//go:build linux

package managers

import (
	"errors"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// uring makes several socket calls in one system call: a small io_uring
// whose requests all complete during the call (MSG_DONTWAIT: nothing is
// left for the kernel to do afterwards, and no buffer is used after the
// call returns). The event loop (eventLoop) peeks at the requests of
// all the connections an epoll_wait found ready in one call, and writes
// their replies and takes the requests out of the sockets in another.
//
// System calls are dear on some machines (1.8 µs for getppid on the
// virtual machine this was measured on), and one call for a reply and the
// take of its request keeps a client from being woken for nothing: with
// two calls, the reply's write wakes the client, the kernel often runs it
// at once on the server's processor in the server's place, the client
// does its next request and sleeps waiting for that reply, and then the
// server takes the old request out, which wakes the client again (there
// is room to write). Within one io_uring_enter the server does not go back
// to user mode, where it would be replaced.
type uring struct {
	fd   int
	mem  [3][]byte // mappings: submission ring, completion ring, entries
	sqes []uringSQE

	sqHead, sqTail *uint32
	sqMask         uint32
	sqArray        []uint32

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []uringCQE
}

// The kernel's structures (include/uapi/linux/io_uring.h).
type uringSQE struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32 // msg_flags for send and recv
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFdIn  int32
	addr3       uint64
	_           uint64
}

type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

type uringSQOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type uringCQOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  uringSQOffsets
	cqOff                                                                  uringCQOffsets
}

const (
	uringOpSend = 26 // IORING_OP_SEND
	uringOpRecv = 27 // IORING_OP_RECV

	uringSetupSubmitAll = 1 << 7 // IORING_SETUP_SUBMIT_ALL
	uringFeatSingleMmap = 1 << 0 // IORING_FEAT_SINGLE_MMAP

	uringOffSQRing = 0          // IORING_OFF_SQ_RING
	uringOffCQRing = 0x8000000  // IORING_OFF_CQ_RING
	uringOffSQEs   = 0x10000000 // IORING_OFF_SQES

	uringEntries = 128 // two calls for each of the 64 events an epoll_wait returns
)

// newURing sets up the ring, or returns nil where io_uring is missing
// or forbidden (old kernels, kernel.io_uring_disabled, seccomp filters):
// the loop then makes one system call for each.
func newURing() *uring {
	var p uringParams
	p.flags = uringSetupSubmitAll
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uringEntries, uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil
	}
	u := &uring{fd: int(fd)}
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(uringCQE{})))
	if p.features&uringFeatSingleMmap != 0 {
		sqSize = max(sqSize, cqSize)
	}
	mmap := func(i, off, size int) bool {
		m, err := unix.Mmap(u.fd, int64(off), size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		u.mem[i] = m
		return err == nil
	}
	ok := mmap(0, uringOffSQRing, sqSize)
	if ok && p.features&uringFeatSingleMmap != 0 {
		u.mem[1] = u.mem[0]
	} else if ok {
		ok = mmap(1, uringOffCQRing, cqSize)
	}
	ok = ok && mmap(2, uringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})))
	if !ok {
		u.close()
		return nil
	}
	sq, cq := u.mem[0], u.mem[1]
	u32 := func(m []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&m[off])) }
	u.sqHead, u.sqTail, u.sqMask = u32(sq, p.sqOff.head), u32(sq, p.sqOff.tail), *u32(sq, p.sqOff.ringMask)
	u.sqArray = unsafe.Slice(u32(sq, p.sqOff.array), p.sqEntries)
	u.cqHead, u.cqTail, u.cqMask = u32(cq, p.cqOff.head), u32(cq, p.cqOff.tail), *u32(cq, p.cqOff.ringMask)
	u.cqes = unsafe.Slice((*uringCQE)(unsafe.Pointer(&cq[p.cqOff.cqes])), p.cqEntries)
	u.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&u.mem[2][0])), p.sqEntries)
	return u
}

// close unmaps the ring and closes it.
func (u *uring) close() {
	for i, m := range u.mem {
		if m != nil && (i != 1 || &m[0] != &u.mem[0][0]) {
			unix.Munmap(m)
		}
	}
	u.mem = [3][]byte{}
	unix.Close(u.fd)
}

// errRingUnused: run did nothing (the caller makes the calls itself);
// errRingLost: the ring did not report every call, so what happened to
// the sockets is unknown. Either way the ring is not used again.
var (
	errRingUnused = errors.New("managers: io_uring not used")
	errRingLost   = errors.New("managers: io_uring requests lost")
)

// ringCall is one send or recv for run: buf is not empty; res is what the
// call returned, a count or -errno.
type ringCall struct {
	op    uint8 // uringOpSend or uringOpRecv
	fd    int
	buf   []byte
	flags uint32 // MSG_ flags besides MSG_DONTWAIT and MSG_NOSIGNAL
	res   int
}

// run makes the calls, in order, in one system call; at most
// len(u.sqes) of them.
func (u *uring) run(calls []ringCall) error {
	tail := *u.sqTail
	if atomic.LoadUint32(u.sqHead) != tail || len(calls) > len(u.sqes) {
		return errRingUnused
	}
	for i := range calls {
		c := &calls[i]
		idx := (tail + uint32(i)) & u.sqMask
		u.sqes[idx] = uringSQE{opcode: c.op, fd: int32(c.fd), addr: uint64(uintptr(unsafe.Pointer(&c.buf[0]))),
			len: uint32(len(c.buf)), opFlags: c.flags | unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL, userData: uint64(i)}
		u.sqArray[idx] = idx
	}
	n := uint32(len(calls))
	atomic.StoreUint32(u.sqTail, tail+n)
	r, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(u.fd), uintptr(n), 0, 0, 0, 0)
	runtime.KeepAlive(calls)
	if e != 0 && atomic.LoadUint32(u.sqHead) == tail {
		return errRingUnused
	}
	got := uint32(0)
	head := *u.cqHead
	for ctail := atomic.LoadUint32(u.cqTail); head != ctail; head++ {
		cqe := u.cqes[head&u.cqMask]
		if cqe.userData < uint64(len(calls)) {
			calls[cqe.userData].res = int(cqe.res)
			got++
		}
	}
	atomic.StoreUint32(u.cqHead, head)
	if e != 0 || uint32(r) != n || got != n {
		return errRingLost
	}
	return nil
}
