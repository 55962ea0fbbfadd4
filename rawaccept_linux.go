package mpconn

import (
	"context"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// rawAccept is a Listener's raw accepting state on Linux, with an AuthKey
// and no TLS: a duplicate of the listening socket, to accept connections
// that the network poller does not know yet, and authenticate them with
// blocking system calls (rawHandshake).
type rawAccept struct {
	acceptFile *os.File // nil: the Listener accepts through net.Listener
	acceptRC   syscall.RawConn
	hotBusy    atomic.Bool  // an Accept serves clients itself (acceptHot)
	hotUntil   atomic.Int64 // until then (UnixNano), the accept loop stands aside
	wakeFD     int          // eventfd that wakes the accept loop (serveRawLoop)
	watching   atomic.Bool  // the accept loop waits for clients
}

// rawAccepting reports whether the Listener accepts raw.
func (r *rawAccept) rawAccepting() bool { return r.acceptFile != nil }

// closeAcceptFile closes the duplicate of the listening socket.
func (r *rawAccept) closeAcceptFile() { r.acceptFile.Close() }

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
