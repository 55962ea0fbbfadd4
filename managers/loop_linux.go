//go:build linux

package managers

import (
	"context"
	"encoding/binary"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mpconn/mpconn"
)

// The event loop: on Linux, a Server serves its method-call connections
// (those that sent accept_connection) from one goroutine that waits in
// epoll_wait, a blocking system call, reads each request with one read,
// runs the call (inline, under an inlineContext) and writes the reply
// with one write. On Unix sockets, where io_uring is allowed, the reads of
// all the connections one epoll_wait found ready are one system call, and
// their replies' writes another (uring). A Server on a machine with many
// processors runs several loops (loopCount), each serving its share of
// the connections.
//
// Serving each connection from a goroutine of its own, through the Go
// runtime's network poller, cost about three times the system calls and
// the wake-ups per request: the goroutine reads, finds nothing, parks; the
// runtime's poller thread wakes, hands the goroutine to a processor, and
// wakes another thread to look for work. With 4 clients on a 2-core machine
// that was most of the server's processor time. Here one thread sleeps in
// epoll_wait when there is nothing to do, and a busy server finds several
// requests ready at each wake-up.
//
// A call that would wait (Queue.get on an empty queue, Lock.acquire of a
// held lock, Barrier.wait, a Go-registered method) runs on a goroutine of
// its own while the loop stops watching its connection; the goroutine
// hands the reply back to the loop, which writes it and watches the
// connection again. A client that does not read its replies is not read
// from until they are written (the loop then waits for the socket to
// drain), so it cannot make the server hold more than one reply for it.

// loopKeyWake is the epoll key of the loop's eventfd; connections have
// keys from 1.
const loopKeyWake = 0

// loopBufSize is the first size of a connection's read buffer; it grows
// as a longer request arrives and shrinks back once it is served.
const (
	loopBufSize = 1 << 10
	loopBufKeep = 64 << 10
)

// loopYieldEvery: the Go runtime's sysmon preempts a goroutine that has
// not been rescheduled for 10ms, taking its processor if it is in a system
// call, and then polls every 20µs for a while: a loop that never parks
// (it waits in epoll_wait, a system call) would set that off about every
// 10ms. Yielding more often than that keeps sysmon asleep.
const loopYieldEvery = 2 * time.Millisecond

// loopURing: loops peek at requests, write replies and take requests
// out of Unix sockets through io_uring where it is allowed (uring); tests
// turn it off to try the path of one call each.
var loopURing = true

// eventLoop serves a Server's method-call connections.
type eventLoop struct {
	s      *Server
	epfd   int
	evfd   int
	inline inlineContext
	ring   *uring // nil: one call for each peek, write and take

	// For tests: the loop started with a ring, and dropped it after an
	// error.
	hadRing     bool
	ringDropped atomic.Bool

	mu      sync.Mutex
	stopped bool
	woken   bool        // evfd written and not yet drained
	adopted []*loopConn // new connections for the loop
	done    []*loopConn // connections whose handed-off call is over

	// Owned by the loop's goroutine.
	conns   map[uint32]*loopConn
	next    uint32
	events  []unix.EpollEvent
	peekq   []*loopConn // to peek after this batch of events (peekAll)
	takeq   []*loopConn // to take bytes from (takeAll)
	calls   []ringCall
	yielded time.Time // when the loop last called runtime.Gosched
}

// loopConn is one connection served by the loop.
type loopConn struct {
	fd     int
	key    uint32
	caller string
	buf    []byte // read buffer: unread bytes are buf[r:w]
	r, w   int
	need   int    // bytes the incomplete message at buf[r:] needs, with its header
	out    []byte // replies not yet written
	pend   []byte // peek: the reply written with the take (takeAll)
	take   int    // peek: the bytes to take out of the socket
	wbuf   []byte // the reply being framed, reused
	reply  []byte // the framed reply of a handed-off call
	busy   bool   // a goroutine runs one of its calls
	closed bool
	events uint32 // what epoll watches it for; 0: not registered
	unix   bool   // a Unix socket: requests are peeked (see readable)

	// peeked: buf[:w] was read with MSG_PEEK and is still in the socket;
	// consumed is how much of it has been served.
	peeked   bool
	consumed int
}

// loopCount is how many event loops a Server runs: one per two
// processors the Go runtime uses (one on a 2-core machine, where a second
// loop would only add wake-ups), at most 8.
func loopCount() int {
	return min(max(runtime.GOMAXPROCS(0)/2, 1), 8)
}

// startLoop makes one of the Server's event loops, or returns nil when it
// cannot.
func (s *Server) startLoop() *eventLoop {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		s.logf("managers: no event loop: epoll_create1: %v", err)
		return nil
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		s.logf("managers: no event loop: eventfd: %v", err)
		return nil
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: loopKeyWake}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		s.logf("managers: no event loop: epoll_ctl: %v", err)
		return nil
	}
	l := &eventLoop{
		s: s, epfd: epfd, evfd: evfd, inline: inlineContext{s.ctx},
		conns: map[uint32]*loopConn{}, events: make([]unix.EpollEvent, 64),
	}
	if loopURing {
		l.ring = newURing()
		l.hadRing = l.ring != nil
	}
	s.wg.Add(1)
	go l.run()
	return l
}

// adopt hands a connection that has just accepted accept_connection to
// the event loop, which serves it from then on with a copy of its
// descriptor. It reports false when the loop cannot take it (no loop, the
// server is closing, bytes already buffered in conn): the caller then
// serves it as before.
func (s *Server) adopt(conn *mpconn.Conn, caller string) bool {
	s.loopOnce.Do(func() {
		for range loopCount() {
			if l := s.startLoop(); l != nil {
				s.loops = append(s.loops, l)
			}
		}
	})
	if len(s.loops) == 0 || conn.Buffered() != 0 {
		return false
	}
	// Under s.mu, so that Close cannot close conn (and its descriptor
	// number be reused) between Fd and the copy.
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return false
	}
	// Connections go to the loops in turn.
	l := s.loops[s.nconn%uint64(len(s.loops))]
	fd, err := conn.Fd()
	nfd := -1
	if err == nil {
		nfd, err = unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	}
	s.mu.Unlock()
	if err != nil {
		return false
	}
	c := &loopConn{fd: nfd, caller: caller}
	if sa, err := unix.Getsockname(nfd); err == nil {
		_, c.unix = sa.(*unix.SockaddrUnix)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		unix.Close(nfd)
		return false
	}
	l.adopted = append(l.adopted, c)
	l.wakeLocked()
	return true
}

// wakeLocked makes the loop's epoll_wait return, with l.mu held.
func (l *eventLoop) wakeLocked() {
	if l.stopped || l.woken {
		return
	}
	l.woken = true
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], 1)
	unix.Write(l.evfd, b[:])
}

func (l *eventLoop) wake() {
	l.mu.Lock()
	l.wakeLocked()
	l.mu.Unlock()
}

// run is the loop's goroutine.
func (l *eventLoop) run() {
	defer l.s.wg.Done()
	stop := context.AfterFunc(l.s.ctx, l.wake)
	defer stop()
	for {
		n, err := unix.EpollWait(l.epfd, l.events, -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			l.s.logf("managers: event loop: epoll_wait: %v", err)
			l.stop()
			return
		}
		if now := time.Now(); now.Sub(l.yielded) > loopYieldEvery {
			// Let the scheduler see the goroutine change, so that
			// sysmon does not take it for one that runs too long.
			runtime.Gosched()
			l.yielded = now
		}
		for _, ev := range l.events[:n] {
			key := uint32(ev.Fd)
			if key == loopKeyWake {
				if !l.wakeUp() {
					l.stop()
					return
				}
				continue
			}
			c := l.conns[key]
			if c == nil || c.busy || c.closed {
				continue // closed, or handed off, earlier in this batch
			}
			if c.events&unix.EPOLLOUT != 0 {
				l.flush(c)
			} else {
				l.readable(c)
			}
		}
		if len(l.peekq) > 0 {
			l.peekAll()
		}
	}
}

// wakeUp takes the connections adopted and given back since the last
// wake-up. It returns false when the server is closing.
func (l *eventLoop) wakeUp() bool {
	var b [8]byte
	unix.Read(l.evfd, b[:])
	l.mu.Lock()
	l.woken = false
	adopted, done := l.adopted, l.done
	l.adopted, l.done = nil, nil
	closing := l.s.ctx.Err() != nil
	if closing {
		// Put them back for stop to close.
		l.adopted, l.done = adopted, done
	}
	l.mu.Unlock()
	if closing {
		return false
	}
	for _, c := range adopted {
		for {
			l.next++
			if l.next != loopKeyWake && l.conns[l.next] == nil {
				break
			}
		}
		c.key = l.next
		l.conns[c.key] = c
		l.watch(c)
	}
	for _, c := range done {
		c.busy = false
		reply := c.reply
		c.reply = nil
		if reply == nil {
			l.closeConn(c)
			continue
		}
		l.write(c, reply)
		l.process(c)
	}
	return true
}

// stop closes the loop and every connection no goroutine holds; those
// that one holds are closed by it (finish).
func (l *eventLoop) stop() {
	l.mu.Lock()
	l.stopped = true
	adopted, done := l.adopted, l.done
	l.adopted, l.done = nil, nil
	l.mu.Unlock()
	for _, c := range adopted {
		unix.Close(c.fd)
		<-l.s.slots
	}
	for _, c := range done {
		c.busy = false
	}
	for _, c := range l.conns {
		if !c.busy {
			l.closeConn(c)
		}
	}
	unix.Close(l.evfd)
	unix.Close(l.epfd)
	if l.ring != nil {
		l.ring.close()
		l.ring = nil
	}
}

// closeConn closes a connection of the loop and gives its slot back.
func (l *eventLoop) closeConn(c *loopConn) {
	if c.closed {
		return
	}
	c.closed = true
	unix.Close(c.fd) // (which takes it out of the epoll set)
	delete(l.conns, c.key)
	<-l.s.slots
}

// watch registers c with epoll for what it waits for: its replies to
// drain, or requests.
func (l *eventLoop) watch(c *loopConn) {
	want := uint32(unix.EPOLLIN)
	if len(c.out) > 0 {
		want = unix.EPOLLOUT
	}
	if c.events == want {
		return
	}
	op := unix.EPOLL_CTL_MOD
	if c.events == 0 {
		op = unix.EPOLL_CTL_ADD
	}
	ev := unix.EpollEvent{Events: want, Fd: int32(c.key)}
	if err := unix.EpollCtl(l.epfd, op, c.fd, &ev); err != nil {
		l.s.logf("managers: event loop: epoll_ctl: %v", err)
		l.closeConn(c)
		return
	}
	c.events = want
}

// unwatch takes c out of the epoll set while a goroutine runs its call.
func (l *eventLoop) unwatch(c *loopConn) {
	if c.events != 0 {
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
		c.events = 0
	}
}

// readable reads what has arrived on c and serves the requests it
// completes.
//
// On a Unix socket, a request is first read with MSG_PEEK, and taken out
// of the socket (read again) only once its reply is written. Taking bytes
// out of a Unix socket wakes whoever sleeps on the sender's end (to say
// there is room to write): that is the client, waiting for its reply, and
// it would wake for nothing and preempt the server. Once the reply is
// written the client is awake already.
func (l *eventLoop) readable(c *loopConn) {
	if c.r == c.w {
		c.r, c.w = 0, 0
		if len(c.buf) > loopBufKeep {
			c.buf = nil // a long request is over: let its buffer go
		}
	}
	if c.buf == nil {
		c.buf = make([]byte, loopBufSize)
	}
	if c.unix && c.w == 0 {
		if l.ring != nil {
			l.peekq = append(l.peekq, c) // peekAll, after the batch
		} else {
			l.peek(c)
		}
		return
	}
	if c.w == len(c.buf) {
		if c.r > 0 {
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		} else {
			// Full of an incomplete request: grow, at most doubling,
			// so that memory follows the bytes that arrived.
			nb := make([]byte, min(max(c.need, len(c.buf)+1), 2*len(c.buf)))
			c.w = copy(nb, c.buf[:c.w])
			c.buf = nb
		}
	}
	n, err := unix.Read(c.fd, c.buf[c.w:])
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	if err != nil || n == 0 {
		l.closeConn(c)
		return
	}
	c.w += n
	l.process(c)
}

// peek serves the whole requests waiting in c's socket, reading them with
// MSG_PEEK, then takes their bytes out of the socket. When no request is
// whole yet it reads the bytes normally, and the rest of that request is
// read as it arrives, as on other sockets. This is the path of a loop
// without a ring; with one, peekAll and takeAll do the same for every
// connection of a batch of events with two system calls in all.
func (l *eventLoop) peek(c *loopConn) {
	n, err := recvPeek(c.fd, c.buf)
	if !l.peeked(c, n, err) {
		return
	}
	sent := 0
	if len(c.pend) > 0 {
		var ok bool
		if sent, ok = l.writeNow(c, c.pend); !ok {
			return
		}
	}
	l.took(c, sent, 0)
}

// peeked serves the whole requests among the n bytes peeked from c (err:
// the peek's error), keeping the last reply in c.pend. It reports whether
// bytes are to be taken out of the socket (c.take of them).
func (l *eventLoop) peeked(c *loopConn, n int, err error) bool {
	if err == unix.EAGAIN || err == unix.EINTR {
		return false
	}
	if err != nil || n == 0 {
		l.closeConn(c)
		return false
	}
	c.w, c.peeked, c.consumed = n, true, 0
	l.process(c)
	c.peeked = false
	if c.closed {
		return false
	}
	c.take = c.consumed
	if c.take == 0 {
		// Nothing whole: take the bytes (a long request).
		c.take = c.w
	} else {
		// What was served is taken out; the rest is still in the
		// socket, and read again.
		c.r, c.w = 0, 0
	}
	return true
}

// took finishes a take: sent bytes of c.pend were written (or -errno),
// and took bytes of c.take were taken out (or -errno); it takes the rest
// and serves what is left of a long request.
func (l *eventLoop) took(c *loopConn, sent, took int) {
	if sent == -int(unix.EAGAIN) || sent == -int(unix.EINTR) {
		sent = 0
	}
	if took == -int(unix.EAGAIN) || took == -int(unix.EINTR) {
		took = 0 // read below
	}
	if sent < 0 || took < 0 {
		l.closeConn(c)
		return
	}
	if sent < len(c.pend) {
		c.out = append(c.out[:0], c.pend[sent:]...)
		l.watch(c)
	}
	c.pend = c.pend[:0]
	for k := c.take - took; k > 0 && !c.closed; {
		m, err := unix.Read(c.fd, c.buf[:k])
		if err == unix.EINTR {
			continue
		}
		if err != nil || m == 0 {
			l.closeConn(c)
			return
		}
		k -= m
	}
	if c.w > 0 && !c.closed {
		l.process(c)
	}
}

// peekAll peeks at the connections of l.peekq in one system call and
// serves what they sent; takeAll then writes the replies and takes the
// requests out.
func (l *eventLoop) peekAll() {
	q := l.peekq
	calls := l.calls[:0]
	for _, c := range q {
		calls = append(calls, ringCall{op: uringOpRecv, fd: c.fd, buf: c.buf, flags: unix.MSG_PEEK})
	}
	l.calls = calls
	err := l.ring.run(calls)
	if err != nil {
		// A peek takes nothing: peek again, one call each.
		l.dropRing(err)
		for _, c := range q {
			l.peek(c)
		}
		clear(q)
		l.peekq = q[:0]
		return
	}
	for i, c := range q {
		n, err := calls[i].res, error(nil)
		if n < 0 {
			n, err = 0, unix.Errno(-n)
		}
		if l.peeked(c, n, err) {
			l.takeq = append(l.takeq, c)
		}
	}
	clear(calls)
	clear(q)
	l.peekq = q[:0]
	if len(l.takeq) > 0 {
		l.takeAll()
	}
}

// takeAll writes the replies kept in c.pend and takes the served requests
// out, for every connection of l.takeq, in one system call: a client woken
// by its reply cannot run on the server's processor before its request
// is taken out (see uring).
func (l *eventLoop) takeAll() {
	q := l.takeq
	calls := l.calls[:0]
	for _, c := range q {
		if len(c.pend) > 0 {
			calls = append(calls, ringCall{op: uringOpSend, fd: c.fd, buf: c.pend})
		}
		calls = append(calls, ringCall{op: uringOpRecv, fd: c.fd, buf: c.buf[:c.take]})
	}
	l.calls = calls
	err := l.ring.run(calls)
	if err != nil {
		l.dropRing(err)
	}
	i := 0
	for _, c := range q {
		sent, took := 0, 0
		switch {
		case err == errRingLost:
			// Which of its calls were made is unknown.
			l.closeConn(c)
			continue
		case err != nil:
			if len(c.pend) > 0 {
				var ok bool
				if sent, ok = l.writeNow(c, c.pend); !ok {
					continue
				}
			}
		default:
			if len(c.pend) > 0 {
				sent = calls[i].res
				i++
			}
			took = calls[i].res
			i++
		}
		l.took(c, sent, took)
	}
	clear(calls)
	clear(q)
	l.takeq = q[:0]
}

// dropRing stops using the loop's ring after an error.
func (l *eventLoop) dropRing(err error) {
	l.s.logf("managers: event loop: %v", err)
	l.ring.close()
	l.ring = nil
	l.ringDropped.Store(true)
}

// recvPeek reads what is in a socket without taking it out.
func recvPeek(fd int, p []byte) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_PEEK, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// process serves the whole requests buffered for c, in order, until one
// is handed off or a reply cannot be written at once; then it sets what
// epoll watches c for.
func (l *eventLoop) process(c *loopConn) {
	for !c.closed && !c.busy && len(c.out) == 0 {
		r, consumed := c.r, c.consumed
		msg, ok := l.nextMessage(c)
		if !ok {
			break
		}
		if len(c.pend) > 0 {
			// The reply kept for the take is not the last: write it
			// now.
			l.writeOut(c, c.pend)
			c.pend = c.pend[:0]
			if c.closed {
				break
			}
			if len(c.out) > 0 {
				c.r, c.consumed = r, consumed // served once c.out drains
				break
			}
		}
		l.serve(c, msg)
	}
	switch {
	case c.closed:
	case c.busy:
		l.unwatch(c)
	default:
		l.watch(c)
	}
}

// nextMessage takes the next whole request out of c's buffer. It closes
// c on a malformed or oversized header.
func (l *eventLoop) nextMessage(c *loopConn) ([]byte, bool) {
	b := c.buf[c.r:c.w]
	if len(b) < 4 {
		c.need = 12
		return nil, false
	}
	var n uint64
	hlen := 4
	switch v := int32(binary.BigEndian.Uint32(b)); {
	case v >= 0:
		n = uint64(v)
	case v == -1:
		if len(b) < 12 {
			c.need = 12
			return nil, false
		}
		n, hlen = binary.BigEndian.Uint64(b[4:]), 12
	default:
		l.closeConn(c)
		return nil, false
	}
	if n > uint64(l.s.opts.MaxMessageSize) {
		l.s.logf("managers: a request of %d bytes is longer than MaxMessageSize (%d): closing its connection", n, l.s.opts.MaxMessageSize)
		l.closeConn(c)
		return nil, false
	}
	if uint64(len(b)-hlen) < n {
		c.need = hlen + int(n)
		return nil, false
	}
	c.r += hlen + int(n)
	if c.peeked {
		c.consumed = c.r
	}
	return b[hlen : hlen+int(n)], true
}

// serve runs one request: at once when it cannot wait, else on a
// goroutine.
func (l *eventLoop) serve(c *loopConn, msg []byte) {
	s := l.s
	proto := s.replyProto(msg)
	p, kind, res := s.prepare(msg, c.caller)
	if p != nil {
		if _, ok := p.e.obj.(inlineSafe); ok {
			kind, res = s.exec(l.inline, p)
		}
		if kind == "" {
			l.handOff(c, p, proto)
			return
		}
	}
	frame, err := frameReply(c.wbuf[:0], s, proto, kind, res)
	if err != nil {
		l.closeConn(c)
		return
	}
	if cap(frame) <= loopBufKeep {
		c.wbuf = frame
	}
	l.write(c, frame)
}

// handOff runs a call that may wait on a goroutine of its own; the loop
// stops watching c until it is over.
func (l *eventLoop) handOff(c *loopConn, p *methodCall, proto int) {
	s := l.s
	c.busy = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		kind, res := s.exec(s.ctx, p)
		frame, err := frameReply(nil, s, proto, kind, res)
		if err != nil {
			frame = nil
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.stopped {
			unix.Close(c.fd)
			<-s.slots
			return
		}
		c.reply = frame
		l.done = append(l.done, c)
		l.wakeLocked()
	}()
}

// frameReply appends a framed reply (header and pickle) to dst.
func frameReply(dst []byte, s *Server, proto int, kind string, res any) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst, err := s.appendReply(dst, proto, kind, res)
	if err != nil {
		return nil, err
	}
	n := len(dst) - start - 4
	if n > math.MaxInt32 {
		long := make([]byte, 12, 12+n)
		binary.BigEndian.PutUint32(long, 0xffffffff)
		binary.BigEndian.PutUint64(long[4:], uint64(n))
		return append(long, dst[start+4:]...), nil
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(n))
	return dst, nil
}

// write writes frame to c, keeping what the socket does not take now.
// While peek serves what it peeked, the reply is kept in c.pend, to be
// written with the take (takeAll).
func (l *eventLoop) write(c *loopConn, frame []byte) {
	if len(c.out) > 0 {
		c.out = append(c.out, frame...)
		return
	}
	if c.peeked && len(c.pend) == 0 && len(frame) <= loopBufKeep {
		c.pend = append(c.pend, frame...)
		return
	}
	l.writeOut(c, frame)
}

// writeOut writes frame to c, which has no pending output, keeping what
// the socket does not take now.
func (l *eventLoop) writeOut(c *loopConn, frame []byte) {
	n, ok := l.writeNow(c, frame)
	if ok && n < len(frame) {
		c.out = append(c.out[:0], frame[n:]...)
	}
}

// writeNow writes as much of p as the socket takes; ok is false when c
// was closed on an error.
func (l *eventLoop) writeNow(c *loopConn, p []byte) (int, bool) {
	done := 0
	for done < len(p) {
		n, err := unix.Write(c.fd, p[done:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return done, true
		case err != nil:
			l.closeConn(c)
			return done, false
		}
		done += n
	}
	return done, true
}

// flush writes c's pending replies once the socket takes them, then
// serves what c sent meanwhile.
func (l *eventLoop) flush(c *loopConn) {
	n, ok := l.writeNow(c, c.out)
	if !ok {
		return
	}
	rest := copy(c.out, c.out[n:])
	c.out = c.out[:rest]
	if rest == 0 && cap(c.out) > loopBufKeep {
		c.out = nil
	}
	l.process(c)
}
