package mpconn

// msgTrySender is a transport that carries each message whole and can
// send one without waiting: a named pipe on Windows (npipe.Stream),
// which has no descriptor for a non-blocking write.
type msgTrySender interface {
	// TrySendMsg sends p as one message if it can at once.
	TrySendMsg(p []byte) (sent bool, err error)
	// TryWrite writes framed bytes, as Write, but stops, with a nil
	// error, at the first message it cannot send at once.
	TryWrite(p []byte) (int, error)
}

// msgTrySender returns c's transport as a msgTrySender, or nil.
func (c *Conn) msgTrySender() msgTrySender {
	if c.raw != nil {
		return nil
	}
	ts, _ := c.t.(msgTrySender)
	return ts
}

// trySendMsg is TrySendBytes over a msgTrySender, with the write lock
// held. A message is sent whole or not at all: ErrWouldBlock means p was
// not sent. The rest of an interrupted send goes first; while it cannot,
// p is not sent.
func (c *Conn) trySendMsg(ts msgTrySender, p []byte) error {
	w := &c.wr
	if w.Pending != nil {
		n, err := ts.TryWrite(w.Pending)
		w.Pending = w.Pending[n:]
		if err != nil {
			return c.opError("send", err)
		}
		if len(w.Pending) > 0 {
			return c.opError("send", ErrWouldBlock)
		}
		w.pendingSent()
	}
	sent, err := ts.TrySendMsg(p)
	if err != nil {
		return c.opError("send", err)
	}
	if !sent {
		return c.opError("send", ErrWouldBlock)
	}
	return nil
}
