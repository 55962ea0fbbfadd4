//go:build !linux

package mpconn

import "context"

// Raw accepting is Linux's: elsewhere a Listener never accepts raw
// (rawAccepting is false) and every handshake goes through the network
// poller, so the accept loop and Close never call the raw methods below.

// rawAccept is empty: there is no raw accepting state.
type rawAccept struct{}

func (*rawAccept) rawAccepting() bool { return false }

func (*rawAccept) closeAcceptFile() {}

func (l *Listener) initRawAccept() {}

func (l *Listener) acceptHot(context.Context) (accepted, bool) { return accepted{}, false }

func (l *Listener) serveRawLoop() {}

func (l *Listener) closeRaw(bool) {}
