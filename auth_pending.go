package mpconn

import (
	"context"
	"errors"
)

// Stand-ins until the handshake lands (auth.go).

var ErrAuthentication = errors.New("mpconn: authentication failed")

func authenticateServer(ctx context.Context, c handshakeConn, key []byte, digest string) error {
	return errors.ErrUnsupported
}

func authenticateClient(ctx context.Context, c handshakeConn, key []byte, digest string) error {
	return errors.ErrUnsupported
}

type handshakeConn interface {
	sendMsg(ctx context.Context, p []byte) error
	recvMsg(ctx context.Context, max int) ([]byte, error)
}
