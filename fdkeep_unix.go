//go:build unix

package mpconn

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
