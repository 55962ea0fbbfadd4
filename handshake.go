package mpconn

import "context"

// The Conn side of the authentication handshake (handshakeConn).

func (c *Conn) sendMsg(ctx context.Context, p []byte) error { return c.SendBytes(ctx, p) }

func (c *Conn) recvMsg(ctx context.Context, max int) ([]byte, error) {
	return c.RecvBytesMax(ctx, max)
}

// sendMsgs sends the messages with one write (SendBytesMany): the same
// bytes as sending them one by one, in one system call and so one wake-up
// of the peer. Over TLS they are sent one by one.
func (c *Conn) sendMsgs(ctx context.Context, msgs ...[]byte) error {
	_, err := c.SendBytesMany(ctx, msgs...)
	return err
}

// msgBuffered reports whether a whole message already sits in the Conn's
// read-ahead buffer, so that receiving it will not wait. It reads nothing
// from the transport.
func (c *Conn) msgBuffered() bool {
	select {
	case c.rlock <- struct{}{}:
	default:
		return false // a receive is in progress
	}
	defer func() { <-c.rlock }()
	return c.rd.Buffered()
}

var (
	_ handshakeConn = (*Conn)(nil)
	_ msgBatcher    = (*Conn)(nil)
	_ msgPeeker     = (*Conn)(nil)
)
