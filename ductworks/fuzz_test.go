package ductworks

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mpconn/mpconn"
)

// byteConn is a net.Conn that reads from a fixed input and discards
// writes.
type byteConn struct{ r *bytes.Reader }

func (c byteConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c byteConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c byteConn) Close() error                     { return nil }
func (c byteConn) LocalAddr() net.Addr              { return nil }
func (c byteConn) RemoteAddr() net.Addr             { return nil }
func (c byteConn) SetDeadline(time.Time) error      { return nil }
func (c byteConn) SetReadDeadline(time.Time) error  { return nil }
func (c byteConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzRecv reads frames from arbitrary input: the frames returned,
// framed again, must rebuild the input up to where reading stopped, and
// reading must stop with one of the documented errors.
func FuzzRecv(f *testing.F) {
	f.Add([]byte{0x54, 0, 0, 0, 4, '"', 'h', 'i', '"'})
	f.Add([]byte{0x54, 0, 0, 0, 0, 0x54, 0, 0, 0, 1, 'x', 0x54, 0})
	f.Add([]byte{0x54, 0xff, 0xff, 0xff, 0xff, 1, 2, 3})
	f.Add([]byte{0x00, 1, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		c := NewConn(byteConn{bytes.NewReader(in)}, &Options{MaxMessageSize: 1 << 16})
		ctx := context.Background()
		var rebuilt []byte
		for {
			p, err := c.RecvBytes(ctx)
			if err != nil {
				var pe *mpconn.ProtocolError
				var tl *mpconn.MessageTooLongError
				switch {
				case err == io.EOF:
					if !bytes.Equal(rebuilt, in) {
						t.Fatalf("EOF after %d of %d bytes", len(rebuilt), len(in))
					}
				case err == io.ErrUnexpectedEOF, errors.As(err, &pe), errors.As(err, &tl):
				default:
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if len(p) > 1<<16 {
				t.Fatalf("%d-byte payload over the limit", len(p))
			}
			var h [HeaderLen]byte
			putHeader(h[:], len(p))
			rebuilt = append(append(rebuilt, h[:]...), p...)
			if !bytes.HasPrefix(in, rebuilt) {
				t.Fatal("frames do not rebuild the input")
			}
		}
	})
}
