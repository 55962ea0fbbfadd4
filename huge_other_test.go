//go:build !unix && !race && !(386 || arm || mips || mipsle)

package mpconn

import (
	"context"
	"testing"
	"time"
)

// startHugePythonPeer: the CPython peer gets its end as descriptor 3,
// which needs a Unix system; TestHugeMessage uses a Go peer here.
func startHugePythonPeer(*testing.T, context.Context, time.Duration, *Conn) (hugePeer, bool) {
	return hugePeer{}, false
}
