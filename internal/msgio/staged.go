package msgio

// Staged returns the next message when it is whole in the Reader (staged
// by a ReadMessage with stage set, or read ahead), without consuming it:
// the next ReadMessage returns it. ok is false when no whole message is
// there. The slice is the Reader's own: it is valid until the next read
// and must not be modified.
//
// This is how a receiver looks at a message before deciding to take it
// (mpconn's RecvFile on Windows leaves a message that is not a file).
func (r *Reader) Staged() (msg []byte, ok bool) {
	if r.Dead != nil {
		return nil, false
	}
	n := r.MsgLen
	if n < 0 {
		h, hlen, err := r.hdr.Parse(r.Buf[r.R:r.W])
		if err != nil || hlen == 0 {
			return nil, false
		}
		if int64(r.W-r.R-hlen) < h {
			return nil, false
		}
		return r.Buf[r.R+hlen : r.R+hlen+int(h)], true
	}
	if r.Msg != nil {
		if int64(len(r.Msg)) < n {
			return nil, false
		}
		return r.Msg[:n], true
	}
	if int64(r.W-r.R) < n {
		return nil, false
	}
	return r.Buf[r.R : r.R+int(n)], true
}
