package mpconn

import "context"

// The Conn side of the authentication handshake (auth.go).

func (c *Conn) sendMsg(ctx context.Context, p []byte) error { return c.SendBytes(ctx, p) }

func (c *Conn) recvMsg(ctx context.Context, max int) ([]byte, error) {
	return c.RecvBytesMax(ctx, max)
}

var _ handshakeConn = (*Conn)(nil)
