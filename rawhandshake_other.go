//go:build !linux

package mpconn

import (
	"context"
	"net"
)

// Elsewhere than on Linux, every handshake goes through the network
// poller (see rawhandshake_linux.go).

func dialAuthFast(context.Context, string, string, *DialOptions) (*Conn, bool, error) {
	return nil, false, nil
}

func (l *Listener) initRawAccept() {}

func (l *Listener) acceptSoon(context.Context) (int, net.Addr, bool) { panic("unreachable") }

func (l *Listener) acceptHot(context.Context) (accepted, bool) { return accepted{}, false }

func (l *Listener) serveRawLoop() { panic("unreachable") }

func (l *Listener) closeRaw(bool) {}
