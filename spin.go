package mpconn

import (
	"runtime"
	"time"

	"github.com/mpconn/mpconn/internal/platform"
)

// Spinning for a reply.
//
// Waking a thread parked in the kernel on another CPU costs tens of
// microseconds on virtual machines, more than a whole round trip takes
// otherwise. So when a Conn waits for a reply (it has sent a message since
// it last received) from a peer that answered its last message quickly,
// it first polls the socket without blocking, for up to
// ConnOptions.ReplySpin (default defaultReplySpin), before it parks in the
// runtime's poller. Between polls it yields the CPU to other processes
// (sched_yield on Linux; elsewhere only the Go scheduler yields), so that a peer sharing the CPU runs: without that,
// spinning made round trips several times slower on a loaded machine
// (with GOMAXPROCS=1 it lets other goroutines run too).
//
// A stream's receiver (which does not send) never spins, nor does a Conn
// whose peer answers slowly: a spin that finds nothing stops spinning
// until an answer comes within fastReply of parking again.
const (
	defaultReplySpin = 20 * time.Microsecond
	// fastReply: an answer that came this soon after the receive parked
	// would have been caught by spinning (parking and waking cost most of
	// it).
	fastReplyFactor = 4
)

// noteSent records that a message went out, so that the next receive
// waits for a reply.
func (c *Conn) noteSent() {
	if c.spin > 0 && !c.replyDue.Load() {
		c.replyDue.Store(true)
	}
}

// awaitReply is a blocking read after a send: it spins first when the
// peer answered fast last time.
func (c *Conn) awaitReply(p []byte) (int, error) {
	rd := &c.rd
	if rd.fast {
		if k, err, ok := c.spinRead(p); ok {
			c.replyDue.Store(false)
			return k, err
		}
		rd.fast = false
	}
	start := time.Now()
	k, err := c.t.Read(p)
	if k > 0 {
		c.replyDue.Store(false)
		rd.fast = time.Since(start) < fastReplyFactor*c.spin
	}
	return k, err
}

// spinRead polls for up to c.spin; ok is false when nothing came.
func (c *Conn) spinRead(p []byte) (k int, err error, ok bool) {
	rd := &c.rd
	rd.Nonblock = true
	defer func() { rd.Nonblock = false }()
	// With one P, the peer may be a goroutine waiting for it.
	solo := runtime.GOMAXPROCS(0) == 1
	start := time.Now()
	for {
		k, err := c.read(p)
		if err != ErrWouldBlock {
			return k, err, true
		}
		if time.Since(start) > c.spin {
			return 0, nil, false
		}
		if solo {
			runtime.Gosched()
		}
		platform.Yield()
	}
}
