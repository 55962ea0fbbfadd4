//go:build !linux

package managers

import "github.com/mpconn/mpconn"

// eventLoop is Linux's epoll event loop, and only a placeholder here: each
// connection is served by a goroutine of its own.
//
//lint:ignore U1000 the Server's field of this type is used on Linux only
type eventLoop struct{}

// adopt reports that there is no event loop to take conn.
func (s *Server) adopt(conn *mpconn.Conn, caller string) bool { return false }
