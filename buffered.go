package mpconn

// Buffered returns how many bytes of the stream the Conn has read from its
// transport but not yet returned in a message: bytes read ahead, and a
// message whose receive was interrupted part way (its header counts too).
// Zero means the next byte the transport gives is the start of the next
// message, so another reader may take over the descriptor ([Conn.Fd])
// without losing the stream's framing. A receive in progress is waited
// for.
func (c *Conn) Buffered() int {
	c.rlock <- struct{}{}
	defer func() { <-c.rlock }()
	rd := &c.rd
	n := rd.W - rd.R + len(rd.Msg)
	if rd.MsgLen >= 0 {
		n += shortHeaderLen
	}
	return n
}
