package mpconn

import "errors"

// errMoveOn is what a receive returns, with nothing consumed, when the
// connection is not ready and the handshake should go on elsewhere
// (rawHandshake with moveOn set). serverAuth.run can then be called again.
var errMoveOn = errors.New("mpconn: handshake: go on in the background")
