//go:build unix

package mpconn

// Which received descriptors a Unix socket Conn keeps for RecvFiles. Only
// descriptors the application can still claim are kept: those that came
// with a byte where a message could begin. Any other (inside a message,
// or behind a byte the receive has consumed) is closed at once, as the
// kernel closes them for a CPython receiver that reads the byte with
// read(); what is left is closed with the Conn. ConnOptions.RefuseFiles
// closes them all.

// maxQueuedFDs bounds the descriptors a Conn keeps for RecvFiles. It
// keeps only those that came with a byte where a message could begin (the
// application may claim them there), and only until it reads past that
// byte; a read stops at the byte that carries descriptors, so a batch or
// two wait at most, and past the bound the oldest are closed.
const maxQueuedFDs = 2 * maxSendFDs

// afterRead keeps the batch that came with the read just made if the
// application can claim it, that is if its byte is where a message could
// begin, and closes it otherwise; it also closes the kept batches the
// receive has gone past. It runs with the Conn's read lock held.
func (u *unixTransport) afterRead(c *Conn, inBody bool) {
	if !u.hasFresh && u.batches.Load() == 0 {
		return
	}
	rd := &c.rd
	// Stream offset of the next unconsumed byte, and of the first byte a
	// message could begin at.
	next := u.total - int64(rd.W-rd.R)
	boundary := next
	if rd.MsgLen >= 0 && !inBody {
		boundary += rd.MsgLen - rd.Have
	} else if inBody {
		boundary = u.total // the read went into the message: nothing before its end
	}
	keep := false
	if u.hasFresh {
		b := u.fresh
		u.fresh, u.hasFresh = fdBatch{}, false
		if !inBody && b.pos >= next && b.pos < u.total {
			keep = rd.claimableAt(rd.R + int(b.pos-next))
		}
		if keep {
			u.mu.Lock()
			if u.closed {
				keep = false
			} else {
				u.queue = append(u.queue, b)
				u.queued += len(b.fds)
				u.batches.Store(int32(len(u.queue)))
			}
			u.mu.Unlock()
		}
		if !keep {
			closeFDs(b.fds)
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	// Batches before the boundary can no longer be claimed.
	i := 0
	for i < len(u.queue) && u.queue[i].pos < boundary {
		u.queued -= len(u.queue[i].fds)
		closeFDs(u.queue[i].fds)
		i++
	}
	u.queue = u.queue[i:]
	for len(u.queue) > 1 && u.queued > maxQueuedFDs {
		u.queued -= len(u.queue[0].fds)
		closeFDs(u.queue[0].fds)
		u.queue = u.queue[1:]
	}
	if len(u.queue) == 0 {
		u.queue = nil
	}
	u.batches.Store(int32(len(u.queue)))
}

// passed closes the kept batches of bytes before the next unconsumed one.
func (u *unixTransport) passed(c *Conn) {
	if u.batches.Load() == 0 {
		return
	}
	next := u.total - int64(c.rd.W-c.rd.R)
	u.mu.Lock()
	for len(u.queue) > 0 && u.queue[0].pos < next {
		u.queued -= len(u.queue[0].fds)
		closeFDs(u.queue[0].fds)
		u.queue = u.queue[1:]
	}
	u.batches.Store(int32(len(u.queue)))
	u.mu.Unlock()
}

// adopt judges batches received before the Conn existed (by the raw
// handshake), whose stream offsets count from the first byte it handed
// over, as afterRead judges a fresh one.
func (u *unixTransport) adopt(c *Conn, bs []fdBatch) {
	rd := &c.rd
	next := u.total - int64(rd.W-rd.R)
	for _, b := range bs {
		if b.pos >= next && b.pos < u.total && rd.MsgLen < 0 && rd.claimableAt(rd.R+int(b.pos-next)) && !u.refuse {
			u.mu.Lock()
			u.queue = append(u.queue, b)
			u.queued += len(b.fds)
			u.batches.Store(int32(len(u.queue)))
			u.mu.Unlock()
		} else {
			closeFDs(b.fds)
		}
	}
}

// take returns the batch that came with the byte at stream offset pos, if
// any, and closes the batches of bytes before it, which no one can claim
// any more.
func (u *unixTransport) take(pos int64) (fdBatch, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for len(u.queue) > 0 && u.queue[0].pos < pos {
		u.queued -= len(u.queue[0].fds)
		closeFDs(u.queue[0].fds)
		u.queue = u.queue[1:]
	}
	if len(u.queue) > 0 && u.queue[0].pos == pos {
		b := u.queue[0]
		u.queued -= len(b.fds)
		u.queue = u.queue[1:]
		u.batches.Store(int32(len(u.queue)))
		return b, true
	}
	u.batches.Store(int32(len(u.queue)))
	return fdBatch{}, false
}

// claimableAt reports whether the stream byte at buffer index p (past
// rd.R) is where a message could begin, so that RecvFile could take the
// descriptors that came with it: walking the frames in the buffer from the
// end of the message being received (or from rd.R between messages) lands
// on p. The walk stops at p, and every frame it crosses was read in the
// read that brought p (reads are made only when the message being
// received is incomplete), so its cost is linear in the bytes read.
func (rd *readState) claimableAt(p int) bool {
	q := int64(rd.R)
	if rd.MsgLen >= 0 {
		q += rd.MsgLen - rd.Have
	}
	for q < int64(p) {
		n, hlen, err := parseHeader(rd.Buf[q:p])
		if err != nil || hlen == 0 {
			return false // p lies inside a header
		}
		q += int64(hlen) + n
	}
	return q == int64(p)
}
