//go:build linux

package mpconn

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
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

// dialRaw connects with a socket the poller does not know, for the
// handshake of an authenticating Dial. It reports ok false, having done
// nothing that matters, when the address does not suit it (a TCP host
// name, which needs resolving) or the connection is not made at once (a
// Unix listener whose queue is full, an error): the caller then dials as
// usual, which waits, retries and reports errors as it always has.
//
// A TCP connect still in progress after handshakePatience is not
// abandoned: pending is then a connection whose connect the caller
// finishes through the poller, on the same socket. (Closing it and
// dialing again would leave the Listener, if the first connect completed
// in the meantime, a connection that goes away in the middle of its
// handshake: a failed accept, which ends many a CPython server.)
func dialRaw(network, addr string) (fd int, remote net.Addr, ok bool, pending *os.File) {
	var (
		family int
		sa     unix.Sockaddr
	)
	switch network {
	case "unix":
		if len(addr) == 0 || len(addr) > maxUnixPath {
			return -1, nil, false, nil
		}
		family, sa = unix.AF_UNIX, &unix.SockaddrUnix{Name: addr}
		remote = &net.UnixAddr{Name: addr, Net: "unix"}
	case "tcp":
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || ap.Addr().Zone() != "" {
			return -1, nil, false, nil
		}
		ip := ap.Addr().Unmap()
		if ip.Is4() {
			family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}
		} else {
			family, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
		}
		remote = net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, ap.Port()))
	default:
		return -1, nil, false, nil
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, nil, false, nil
	}
	err = unix.Connect(fd, sa)
	if err == unix.EINPROGRESS || err == unix.EINTR {
		// (An interrupted connect goes on in the background.)
		err = waitConnect(fd)
	}
	if network == "tcp" && err == errConnectPending {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) // as net.Dial does
		return -1, remote, false, os.NewFile(uintptr(fd), "dial")
	}
	if err != nil {
		unix.Close(fd)
		return -1, nil, false, nil
	}
	if network == "tcp" {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) // as net.Dial does
	}
	return fd, remote, true, nil
}

// pendingConnectHook, when set by a test, is called when an
// authenticating Dial goes on with a connect still in progress.
var pendingConnectHook func()

// errConnectPending reports a connect still in progress after
// handshakePatience.
var errConnectPending = errors.New("mpconn: connect in progress")

// finishConnect waits through the poller (f is a non-blocking descriptor,
// which os.NewFile registers there) for the connect in progress on f to
// end, or for ctx to end, and returns the connection. It closes f.
func finishConnect(ctx context.Context, f *os.File, remote net.Addr) (net.Conn, error) {
	defer f.Close() // net.FileConn keeps a duplicate
	fail := func(err error) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: remote, Err: err}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return fail(err)
	}
	// A deadline in the past interrupts the write.
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var soerr int
	werr := rc.Write(func(fd uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, err := unix.Poll(pfd, 0); err != nil || n == 0 {
			return false // not yet: wait for writability
		}
		soerr, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			soerr = int(err.(syscall.Errno))
		}
		return true
	})
	if ctx.Err() != nil {
		// As net.Dial reports a connect that ctx interrupted.
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fail(os.ErrDeadlineExceeded)
		}
		return fail(ctx.Err())
	}
	if werr != nil {
		return fail(werr)
	}
	if soerr != 0 {
		return fail(os.NewSyscallError("connect", syscall.Errno(soerr)))
	}
	nc, err := net.FileConn(f)
	if err != nil {
		return fail(err)
	}
	return nc, nil
}

// waitConnect waits up to handshakePatience for a connect in progress;
// errConnectPending means it is still in progress.
func waitConnect(fd int) error {
	end := time.Now().Add(handshakePatience)
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		left := time.Until(end)
		if left <= 0 {
			return errConnectPending
		}
		n, err := unix.Poll(pfd, int((left+time.Millisecond-1)/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n > 0 {
			soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if err != nil {
				return err
			}
			if soerr != 0 {
				return syscall.Errno(soerr)
			}
			return nil
		}
	}
}

// dialAuthFast is Dial's authenticated handshake on a socket the poller
// does not know yet; ok false means it did not apply (see dialRaw) and
// nothing was done.
func dialAuthFast(ctx context.Context, network, addr string, o *DialOptions) (c *Conn, ok bool, err error) {
	if len(blockingSlots) == cap(blockingSlots) {
		return nil, false, nil // no thread to spare: the usual way
	}
	fd, remote, ok, pending := dialRaw(network, addr)
	if pending != nil {
		// The connect takes longer than the fast path waits: finish it
		// through the poller, and authenticate the usual way.
		if pendingConnectHook != nil {
			pendingConnectHook()
		}
		nc, err := finishConnect(ctx, pending, remote)
		if err != nil {
			return nil, true, err
		}
		c, err := dialHandshake(ctx, nc, network, addr, o)
		return c, true, err
	}
	if !ok {
		return nil, false, nil
	}
	var deadline time.Time
	if o.HandshakeTimeout >= 0 {
		deadline = time.Now().Add(cmp.Or(o.HandshakeTimeout, defaultDialHandshakeTimeout))
	}
	h := newRawHandshake(fd, network, remote, o.Conn, deadline)
	h.wrote = true // the challenge comes in reply to the connect
	if network == "unix" {
		h.local = &net.UnixAddr{Net: "unix"} // unnamed
	}
	if err := authenticateClient(ctx, h, o.AuthKey, o.AuthDigest); err != nil {
		h.close()
		return nil, true, &net.OpError{Op: "dial", Net: network, Addr: remote, Err: err}
	}
	c, err = h.finish()
	if err != nil {
		h.close()
		return nil, true, &net.OpError{Op: "dial", Net: network, Addr: remote, Err: err}
	}
	h.done()
	yieldSometimes()
	return c, true, nil
}

// initRawAccept prepares raw accepting, when the Listener authenticates
// without TLS on a Unix or TCP socket: a duplicate of the listening
// descriptor as an *os.File, whose raw reads (unlike a listener's) wait
// through the poller. On any failure the Listener accepts as usual.
func (l *Listener) initRawAccept() {
	if l.opts.AuthKey == nil || l.opts.TLSConfig != nil || (l.network != "unix" && l.network != "tcp") {
		return
	}
	sc, ok := l.nl.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	dfd := -1
	rc.Control(func(fd uintptr) {
		dfd, _ = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	})
	if dfd < 0 {
		return
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(dfd)
		return
	}
	l.acceptFile = os.NewFile(uintptr(dfd), "listener")
	if l.acceptRC, err = l.acceptFile.SyscallConn(); err != nil {
		l.acceptFile.Close()
		l.acceptFile = nil
		unix.Close(efd)
		return
	}
	l.wakeFD = efd
}

// acceptSoon accepts a connection that arrives within handshakePatience,
// waiting with poll(2), a blocking system call, as the handshake does: a
// Listener that has just served a client likely gets another soon, and
// this spares waking through the poller. ok is false when none came (or
// the Listener is closing); the accept loop then waits through the
// poller. Close waits for this to return (the descriptor is held).
func (l *Listener) acceptSoon(ctx context.Context) (fd int, remote net.Addr, ok bool) {
	fd = -1
	l.acceptRC.Control(func(lfd uintptr) {
		end := time.Now().Add(handshakePatience)
		pfd := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
		for l.ctx.Err() == nil && ctx.Err() == nil {
			var err error
			var got bool
			fd, remote, err, got = l.accept4(int(lfd))
			if got {
				if err != nil {
					fd = -1 // the accept loop meets and reports it
				}
				return
			}
			left := time.Until(end)
			if left <= 0 {
				return
			}
			unix.Poll(pfd, int((left+time.Millisecond-1)/time.Millisecond))
		}
	})
	return fd, remote, fd >= 0
}

// serveRaw serves an accepted descriptor in the accept loop and delivers
// the outcome to Accept (see handshakeHere). It reports whether the loop
// should go on.
func (l *Listener) serveRaw(fd int, remote net.Addr) bool {
	a, finished, ok := l.handshakeHere(fd, remote)
	if ok && finished && (a.c != nil || a.err != nil) {
		l.deliverNow(a)
	}
	return ok
}

// handshakeHere runs the handshake of an accepted descriptor in the
// calling goroutine (the accept loop, or Accept itself), as long as the
// client keeps up: that spares the hand-offs between goroutines. When a
// receive would wait longer than handshakePatience, or no blocking slot
// is free, the handshake goes on in a goroutine of its own, which
// delivers it to Accept; so do all handshakes while any such goroutine
// is busy (a backlog of slow clients), so that slow clients cost the
// caller one patience each only when they come one at a time. finished
// reports the first case, with the outcome in a (empty if the Listener
// is closing); ok is false when the Listener is closing.
func (l *Listener) handshakeHere(fd int, remote net.Addr) (a accepted, finished, ok bool) {
	var deadline time.Time
	if l.opts.HandshakeTimeout > 0 {
		deadline = time.Now().Add(l.opts.HandshakeTimeout)
	}
	h := newRawHandshake(fd, l.network, remote, l.opts.Conn, deadline)
	if l.network == "unix" {
		h.local = l.nl.Addr()
	}
	s := &serverAuth{key: l.opts.AuthKey, digest: l.opts.AuthDigest}
	err := errMoveOn
	if h.slot && len(l.slots) == 0 {
		h.moveOn = true
		err = s.run(l.ctx, h)
	}
	if !errors.Is(err, errMoveOn) {
		return l.outcome(h, err), true, true
	}
	select {
	case l.slots <- struct{}{}:
	case <-l.ctx.Done():
		h.close()
		return accepted{}, false, false
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer func() { <-l.slots }()
		ctx := l.ctx
		h.moveOn = false
		// Through the poller from here on: the client is slow, or others
		// are.
		unsent := len(h.out) > 0
		err := h.handOver() // the unsent output goes with it
		if err == nil && unsent {
			err = h.c.sendMsgs(h.ctx(ctx))
		}
		if err == nil {
			err = s.run(ctx, h)
		}
		if a := l.outcome(h, err); a.c != nil || a.err != nil {
			l.deliver(a)
		}
	}()
	return accepted{}, false, true
}

// acceptHot is Accept's own way to a connection when it would wait: as
// long as clients come within handshakePatience of one another, the
// goroutine that calls Accept accepts and authenticates them itself
// (acceptSoon, handshakeHere), and the accept loop stands aside, so that
// the connection needs no hand-off between goroutines. One Accept at a
// time does this, and only while no handshake runs in a goroutine; ok
// false means it found nothing in time (or the queue has something): the
// caller then waits for the queue, fed by the accept loop.
func (l *Listener) acceptHot(ctx context.Context) (a accepted, ok bool) {
	// Not while handshakes run in goroutines: their outcomes come
	// through the queue, which Accept must not leave waiting.
	if len(l.slots) > 0 || !l.hotBusy.CompareAndSwap(false, true) {
		return accepted{}, false
	}
	// Close waits for this, as for the accept loop.
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		l.hotBusy.Store(false)
		return accepted{}, false
	}
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()
	if l.watching.Load() {
		l.wake() // stand aside
	}
	defer func() {
		if ok {
			// Likely back soon: the accept loop goes on standing aside.
			l.hotUntil.Store(time.Now().Add(standAside).UnixNano())
			l.hotBusy.Store(false)
			return
		}
		l.hotUntil.Store(0)
		l.hotBusy.Store(false)
		l.wake() // the accept loop takes over now
	}()
	for !l.queue.ready() && len(l.slots) == 0 {
		fd, remote, got := l.acceptSoon(ctx)
		if !got {
			return accepted{}, false
		}
		a, finished, ok := l.handshakeHere(fd, remote)
		if !ok {
			return accepted{}, false
		}
		if finished && (a.c != nil || a.err != nil) {
			yieldSometimes()
			return a, true
		}
	}
	return accepted{}, false
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

// standAside is how long the accept loop leaves the listening socket to
// an Accept that has just served a client itself (acceptHot), for the
// next Accept call to find it. A longer time spares the runtime work (the
// loop waits in a system call, whose P the runtime's monitor takes back,
// after which it polls every 20 µs for a while), but a client that comes
// while no Accept is called may wait that long for its challenge.
const standAside = 20 * time.Millisecond

// serveRawLoop is the accept loop of a raw-accepting Listener. It waits
// for clients with poll(2), a blocking system call, on the listening
// socket and an eventfd, not through the runtime's poller: so it holds a
// thread (one per such Listener, as CPython's accept does), but an
// arriving client wakes this thread alone. While an Accept serves clients
// itself (acceptHot), and for standAside after, it watches only the
// eventfd.
func (l *Listener) serveRawLoop() {
	var delay time.Duration
	for l.ctx.Err() == nil {
		var (
			fd     = -1
			remote net.Addr
			err    error
		)
		l.acceptRC.Control(func(lfd uintptr) { fd, remote, err = l.watch(int(lfd)) })
		if l.ctx.Err() != nil {
			if fd >= 0 {
				unix.Close(fd)
			}
			return
		}
		if err != nil {
			// Out of descriptors or similar: wait and retry.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-l.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		if fd >= 0 && !l.serveRaw(fd, remote) {
			return
		}
	}
}

// watch waits for a client on the listening descriptor lfd and accepts
// it; fd is -1 when it returns without one (woken, or after standing
// aside for an Accept that serves clients itself).
func (l *Listener) watch(lfd int) (fd int, remote net.Addr, err error) {
	var pfd [2]unix.PollFd
	pfd[0] = unix.PollFd{Fd: int32(l.wakeFD), Events: unix.POLLIN}
	if d := time.Duration(l.hotUntil.Load() - time.Now().UnixNano()); d > 0 || l.hotBusy.Load() {
		d = min(max(d, 0), standAside)
		if d < time.Millisecond {
			d = time.Millisecond
		}
		unix.Poll(pfd[:1], int(d/time.Millisecond))
		l.drainWake()
		return -1, nil, nil
	}
	if fd, remote, err, ok := l.accept4(lfd); ok {
		return fd, remote, err
	}
	l.watching.Store(true)
	if !l.hotBusy.Load() && l.ctx.Err() == nil {
		pfd[1] = unix.PollFd{Fd: int32(lfd), Events: unix.POLLIN}
		unix.Poll(pfd[:], -1)
	}
	l.watching.Store(false)
	l.drainWake()
	if l.ctx.Err() != nil || l.hotBusy.Load() {
		return -1, nil, nil
	}
	fd, remote, err, _ = l.accept4(lfd)
	return fd, remote, err
}

// accept4 accepts a connection on lfd without waiting; ok is false when
// there is none.
func (l *Listener) accept4(lfd int) (fd int, remote net.Addr, err error, ok bool) {
	for {
		nfd, sa, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch err {
		case nil:
			if l.network == "tcp" {
				unix.SetsockoptInt(nfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
			}
			return nfd, sockaddrAddr(sa), nil, true
		case unix.EINTR, unix.ECONNABORTED:
			continue
		case unix.EAGAIN:
			return -1, nil, nil, false
		}
		return -1, nil, os.NewSyscallError("accept4", err), true
	}
}

// wake wakes the accept loop out of watch. (The accept loop and
// acceptHot, its callers, are done before Close closes the eventfd.)
func (l *Listener) wake() {
	var one = [8]byte{1}
	unix.Write(l.wakeFD, one[:])
}

func (l *Listener) drainWake() {
	var b [8]byte
	unix.Read(l.wakeFD, b[:])
}

// closeRaw wakes the accept loop for Close (before the listening
// descriptor is closed), and releases the eventfd once the loop is over.
func (l *Listener) closeRaw(loopDone bool) {
	if l.acceptFile == nil {
		return
	}
	if !loopDone {
		l.wake()
		return
	}
	unix.Close(l.wakeFD)
}

// outcome finishes a handshake: the connection, or the error for Accept;
// nothing when the Listener is closing.
func (l *Listener) outcome(h *rawHandshake, err error) accepted {
	var a accepted
	if err == nil {
		a.c, err = h.finish()
	}
	if err != nil {
		h.close()
		if l.ctx.Err() != nil {
			return accepted{}
		}
		return accepted{err: &HandshakeError{Remote: h.remote, Err: err}}
	}
	h.done()
	return a
}

// deliverNow delivers to Accept from the accept loop, which must not
// block: with the queue full, a goroutine waits to deliver.
func (l *Listener) deliverNow(a accepted) {
	if l.queue.tryPush(a) {
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.deliver(a)
	}()
}
