package mpconn

import (
	"syscall"
	"time"
)

// Spinning for a reply.
//
// Waking a thread parked in the kernel on another CPU costs tens of
// microseconds on virtual machines, more than a whole round trip takes
// otherwise. So when a Conn waits for a reply (it has sent a message since
// it last received) from a peer that has been answering within spinFor,
// it first polls the socket without blocking, for up to spinFor, before it
// parks in the runtime's poller. Between polls it yields the CPU
// (sched_yield), so that a peer that shares the CPU runs: without that,
// spinning made round trips several times slower on a loaded machine.
//
// A stream's receiver (which does not send) never spins, nor does a Conn
// whose peer answers slowly, nor a handshake (too few answers to judge):
// spinReplies fast answers in a row come first, and a spin that finds
// nothing ends the streak.
const (
	spinFor     = 20 * time.Microsecond
	spinReplies = 4
)

// noteSent records that a message went out, so that the next receive
// waits for a reply.
func (c *Conn) noteSent() {
	if !c.replyDue.Load() {
		c.replyDue.Store(true)
	}
}

// awaitReply is a blocking read after a send: it spins first when the
// peer has been answering fast, and keeps the streak.
func (c *Conn) awaitReply(p []byte) (int, error) {
	rd := &c.rd
	if rd.fast >= spinReplies {
		if k, err, ok := c.spinRead(p); ok {
			c.replyDue.Store(false)
			return k, err
		}
		rd.fast = 0
	}
	start := time.Now()
	k, err := c.t.Read(p)
	if k > 0 {
		c.replyDue.Store(false)
		if time.Since(start) < spinFor {
			rd.fast++
		} else {
			rd.fast = 0
		}
	}
	return k, err
}

// spinRead polls for up to spinFor; ok is false when nothing came.
func (c *Conn) spinRead(p []byte) (k int, err error, ok bool) {
	rd := &c.rd
	rd.nonblock = true
	defer func() { rd.nonblock = false }()
	start := time.Now()
	for {
		k, err := c.read(p)
		if err != ErrWouldBlock {
			return k, err, true
		}
		if time.Since(start) > spinFor {
			return 0, nil, false
		}
		syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
	}
}
