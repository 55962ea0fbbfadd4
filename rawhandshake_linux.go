//go:build linux

package mpconn

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The handshake of a new connection, on Linux, before Go's network
// poller knows the socket.
//
// Authenticating costs four one-way trips, each of which wakes a process
// that sleeps. Waiting through the network poller makes each wake-up
// dearer: the thread that sleeps in epoll_wait wakes, hands the goroutine
// on, wakes another thread to spin, and the socket's registration for
// writability wakes the poller again whenever the peer reads. A socket
// that is not registered yet and is waited for with poll(2), a blocking
// system call, wakes just the thread that waits, as in CPython; that
// about halves the processor time a connection costs on both sides. The
// socket joins the poller once the handshake is over, as an *os.File
// (sockFile: two system calls, where net.FileConn takes about ten).
//
// A blocking wait holds a thread, so it is bounded: at most
// maxBlockingHandshakes handshakes wait that way at once in the whole
// process, each for at most handshakePatience in all. A handshake that
// finds no free slot, or runs out of patience (a slow or silent peer),
// hands its socket to the poller and goes on as any other: it then holds
// a goroutine, not a thread. Cancellation is seen between waits, so within
// handshakePatience while waiting blocked.

const (
	handshakePatience     = 5 * time.Millisecond
	maxBlockingHandshakes = 8
)

// blockingSlots bounds the handshakes waiting in blocking system calls.
var blockingSlots = make(chan struct{}, maxBlockingHandshakes)

// errMoveOn is what a receive returns, with nothing consumed, when the
// connection is not ready and the handshake should go on elsewhere
// (rawHandshake with moveOn set). serverAuth.run can then be called again.
var errMoveOn = errors.New("mpconn: handshake: go on in the background")

// rawHandshake is a handshakeConn over a non-blocking socket descriptor
// that the network poller does not know yet. It waits with poll(2) while
// it holds a blocking slot and has patience left; after that, or when it
// is done, it makes the descriptor a *Conn, keeping the bytes it read
// ahead, and carries on through it.
type rawHandshake struct {
	fd      int // -1 once handed over
	network string
	opts    *ConnOptions
	local   net.Addr // nil: ask the kernel at hand-over
	remote  net.Addr

	slot     bool      // holds a blockingSlots token
	patient  time.Time // end of the blocking waits
	deadline time.Time // end of the handshake; zero: none

	// After hand-over, the context of the Conn's calls: the caller's
	// with the deadline (a timer is made only then).
	hctx   context.Context
	cancel context.CancelFunc

	buf  [1024]byte // read-ahead: holds any handshake message whole
	r, w int
	eof  bool
	pfd  [1]unix.PollFd

	// Unix sockets: descriptors received (fdq, at stream offsets counted
	// in total, the bytes read so far), and recvmsg's control buffer.
	keepFDs bool
	total   int64
	fdq     []fdBatch
	oob     []byte

	// moveOn: a wait that would block past patience (or with no slot)
	// returns errMoveOn instead of handing over, and a write that would
	// block keeps its bytes in out; the Listener's accept loop sets it.
	moveOn bool
	out    []byte

	wrote bool // the last call sent: the reply cannot be here yet

	c *Conn // after hand-over
}

// newRawHandshake takes a connected non-blocking descriptor. Without a
// free blocking slot, its first wait hands over to the poller (or, with
// moveOn, moves on). The handshake ends at deadline (zero: no limit but
// the context's).
func newRawHandshake(fd int, network string, remote net.Addr, opts *ConnOptions, deadline time.Time) *rawHandshake {
	h := &rawHandshake{fd: fd, network: network, remote: remote, opts: opts, deadline: deadline}
	select {
	case blockingSlots <- struct{}{}:
		h.slot = true
		h.patient = time.Now().Add(handshakePatience)
	default:
	}
	return h
}

// ctx returns the context for the Conn's calls after hand-over.
func (h *rawHandshake) ctx(ctx context.Context) context.Context {
	if h.deadline.IsZero() {
		return ctx
	}
	if h.hctx == nil {
		h.hctx, h.cancel = context.WithDeadline(ctx, h.deadline)
	}
	return h.hctx
}

func (h *rawHandshake) releaseSlot() {
	if h.slot {
		h.slot = false
		<-blockingSlots
	}
}

// handOver makes the descriptor a *Conn, registered with the poller.
func (h *rawHandshake) handOver() error {
	h.releaseSlot()
	fd := h.fd
	h.fd = -1
	laddr := h.local
	if laddr == nil {
		// A TCP socket's own address; a Unix client's is unnamed.
		if sa, err := unix.Getsockname(fd); err == nil {
			laddr = sockaddrAddr(sa)
		}
		if laddr == nil {
			laddr = &net.UnixAddr{Net: "unix"}
		}
	}
	// Non-blocking, the descriptor joins the poller as it is.
	hf := handoff{
		fd: fd, network: h.network, laddr: laddr, raddr: h.remote,
		ahead: h.buf[h.r:h.w], eof: h.eof, pending: h.out,
	}
	if len(h.fdq) > 0 {
		// At their places relative to the bytes handed over (which lie
		// before the Conn's own reads); those of consumed bytes go.
		h.pruneFDs(h.total - int64(h.w-h.r))
		for i := range h.fdq {
			h.fdq[i].pos -= h.total
		}
		hf.files = h.fdq
		h.fdq = nil
	}
	h.c = hf.conn(h.opts)
	h.r, h.w, h.out = 0, 0, nil
	return nil
}

// finish returns the connection, handing it over if need be.
func (h *rawHandshake) finish() (*Conn, error) {
	if h.c == nil {
		if err := h.handOver(); err != nil {
			return nil, err
		}
	}
	return h.c, nil
}

// done releases what the handshake holds but the connection.
func (h *rawHandshake) done() {
	h.releaseSlot()
	if h.cancel != nil {
		h.cancel()
	}
}

// close closes the connection after a failed handshake.
func (h *rawHandshake) close() {
	h.done()
	h.pruneFDs(h.total + 1)
	if h.c != nil {
		h.c.Close()
	} else if h.fd >= 0 {
		unix.Close(h.fd)
		h.fd = -1
	}
}

// wait waits until the descriptor is ready for events, or hands it over
// (h.c is then set) once patience runs out.
func (h *rawHandshake) wait(ctx context.Context, events int16) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := time.Now()
		left := h.patient.Sub(now)
		if d, ok := ctx.Deadline(); ok && d.Sub(now) < left {
			left = d.Sub(now)
		}
		if !h.deadline.IsZero() && h.deadline.Sub(now) < left {
			left = h.deadline.Sub(now)
		}
		if h.moveOn && (!h.slot || left <= 0 || len(h.out) > 0) {
			return errMoveOn
		}
		if !h.slot || left <= 0 {
			// The poller path reports a passed deadline properly.
			return h.handOver()
		}
		h.pfd[0] = unix.PollFd{Fd: int32(h.fd), Events: events}
		n, err := unix.Poll(h.pfd[:], int((left+time.Millisecond-1)/time.Millisecond))
		switch {
		case err == unix.EINTR:
		case err != nil:
			return os.NewSyscallError("poll", err)
		case n > 0:
			return nil
		}
	}
}

func (h *rawHandshake) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: h.network, Addr: h.remote, Err: err}
}

func (h *rawHandshake) sendMsg(ctx context.Context, p []byte) error {
	return h.sendMsgs(ctx, p)
}

func (h *rawHandshake) sendMsgs(ctx context.Context, msgs ...[]byte) error {
	if h.c != nil {
		return h.c.sendMsgs(h.ctx(ctx), msgs...)
	}
	var b []byte
	for _, p := range msgs {
		if len(p) > handshakeMaxLen {
			return errors.New("mpconn: handshake message too long")
		}
		var hdr [longHeaderLen]byte
		n := putHeader(hdr[:], int64(len(p)))
		b = append(append(b, hdr[:n]...), p...)
	}
	if len(h.out) > 0 {
		h.out = append(h.out, b...)
		return nil
	}
	h.wrote = true
	for len(b) > 0 {
		n, err := unix.Write(h.fd, b)
		switch {
		case err == unix.EINTR:
		case err == unix.EAGAIN && h.moveOn:
			h.out = append([]byte(nil), b...)
			return nil
		case err == unix.EAGAIN:
			// A wait that hands over hands the rest over as pending
			// output: the Conn writes it first, as an interrupted send's.
			h.out = b
			err := h.wait(ctx, unix.POLLOUT)
			handed := h.c != nil
			h.out = nil
			if err != nil {
				return err
			}
			if handed {
				return h.c.sendMsgs(h.ctx(ctx))
			}
		case err != nil:
			return h.opError("send", os.NewSyscallError("write", err))
		default:
			b = b[n:]
		}
	}
	return nil
}

func (h *rawHandshake) recvMsg(ctx context.Context, max int) ([]byte, error) {
	for h.c == nil {
		n, hlen, err := parseHeader(h.buf[h.r:h.w])
		if err != nil {
			return nil, err
		}
		if hlen > 0 {
			if n > int64(max) {
				return nil, &MessageTooLongError{Len: n, Max: int64(max)}
			}
			if int64(h.w-h.r-hlen) >= n {
				p := append([]byte(nil), h.buf[h.r+hlen:h.r+hlen+int(n)]...)
				h.r += hlen + int(n)
				if len(h.fdq) > 0 {
					h.pruneFDs(h.total - int64(h.w-h.r))
				}
				return p, nil
			}
		}
		if h.eof {
			if h.r == h.w {
				return nil, io.EOF
			}
			return nil, io.ErrUnexpectedEOF
		}
		if h.r > 0 {
			h.w = copy(h.buf[:], h.buf[h.r:h.w])
			h.r = 0
		}
		if h.w == len(h.buf) {
			// Cannot happen: a message of at most max bytes fits.
			return nil, &MessageTooLongError{Len: n, Max: int64(max)}
		}
		if h.wrote {
			// Right after a send, the reply is not here yet: wait
			// first (a read would only say EAGAIN).
			h.wrote = false
			if err := h.wait(ctx, unix.POLLIN); err != nil {
				return nil, err
			}
			if h.c != nil {
				break
			}
		}
		k, err := h.read(h.buf[h.w:])
		switch {
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			if err := h.wait(ctx, unix.POLLIN); err != nil {
				return nil, err
			}
		case err == unix.ECONNRESET && h.network != "tcp":
			// As Conn.isEOF: a local peer that leaves data unread resets.
			h.eof = true
		case err != nil:
			return nil, h.opError("recv", os.NewSyscallError("read", err))
		case k == 0:
			h.eof = true
		default:
			h.w += k
		}
	}
	return h.c.recvMsg(h.ctx(ctx), max)
}

// read makes one read. For the last message of a Listener's handshake
// (keepFDs), on a Unix socket, it is a recvmsg that keeps the descriptors
// coming along (SendFile, CPython's send_handle), which the client may
// send right behind that message: they go to the Conn at hand-over, with
// their place in the stream. Descriptors that came with handshake bytes
// are closed. (Before that, and on the client's side, nothing but
// handshake messages can come: a plain read, whose descriptors the kernel
// discards, is enough.)
func (h *rawHandshake) read(p []byte) (int, error) {
	if h.network != "unix" || !h.keepFDs {
		return unix.Read(h.fd, p)
	}
	if h.oob == nil {
		h.oob = make([]byte, oobSize)
	}
	var iov unix.Iovec
	iov.Base = &p[0]
	iov.SetLen(len(p))
	msg := unix.Msghdr{Iov: &iov, Control: &h.oob[0]}
	msg.SetIovlen(1)
	msg.SetControllen(len(h.oob))
	r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(h.fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_CMSG_CLOEXEC)
	if e != 0 {
		return 0, e
	}
	n, oobn, flags := int(r), int(msg.Controllen), int(msg.Flags)
	if oobn > 0 || flags&unix.MSG_CTRUNC != 0 {
		var fds []int
		if msgs, err := unix.ParseSocketControlMessage(h.oob[:oobn]); err == nil {
			for i := range msgs {
				if msgs[i].Header.Level == unix.SOL_SOCKET && msgs[i].Header.Type == unix.SCM_RIGHTS {
					got, _ := unix.ParseUnixRights(&msgs[i])
					fds = append(fds, got...)
				}
			}
		}
		if n == 0 {
			closeFDs(fds)
		} else if len(fds) > 0 || flags&unix.MSG_CTRUNC != 0 {
			// Only the batch of the last read can lie past the handshake's
			// last message; earlier ones are inside it.
			h.pruneFDs(h.total + int64(n))
			h.fdq = append(h.fdq, fdBatch{pos: h.total + int64(n) - 1, fds: fds, truncated: flags&unix.MSG_CTRUNC != 0})
		}
	}
	h.total += int64(n)
	return n, nil
}

// pruneFDs closes the descriptors that came with bytes the handshake has
// consumed (stream offsets before consumed).
func (h *rawHandshake) pruneFDs(consumed int64) {
	for len(h.fdq) > 0 && h.fdq[0].pos < consumed {
		closeFDs(h.fdq[0].fds)
		h.fdq = h.fdq[1:]
	}
}

// finalRead tells that the next receive is the last of the handshake,
// after which the peer may send anything.
func (h *rawHandshake) finalRead() { h.keepFDs = true }

func (h *rawHandshake) msgBuffered() bool {
	if h.c != nil {
		return h.c.msgBuffered()
	}
	n, hlen, err := parseHeader(h.buf[h.r:h.w])
	return err == nil && hlen > 0 && int64(h.w-h.r-hlen) >= n
}

var (
	_ handshakeConn = (*rawHandshake)(nil)
	_ msgBatcher    = (*rawHandshake)(nil)
	_ msgPeeker     = (*rawHandshake)(nil)
)

// sockaddrAddr converts a peer address from accept4 or connect.
func sockaddrAddr(sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *unix.SockaddrInet6:
		ip := make(net.IP, net.IPv6len)
		copy(ip, a.Addr[:])
		var zone string
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				zone = ifi.Name
			}
		}
		return &net.TCPAddr{IP: ip, Port: a.Port, Zone: zone}
	}
	return nil
}

// lastYield is when yieldSometimes last yielded (UnixNano).
var lastYield atomic.Int64

// yieldSometimes yields to the scheduler every few milliseconds. A
// goroutine that authenticates one connection after another in blocking
// system calls never parks; after 10 ms the runtime's monitor thread
// preempts it, takes its P back, and goes back to polling every 20 µs. A
// yield counts as a new scheduling and spares that.
func yieldSometimes() {
	now := time.Now().UnixNano()
	if last := lastYield.Load(); now-last > int64(5*time.Millisecond) && lastYield.CompareAndSwap(last, now) {
		runtime.Gosched()
	}
}
