//go:build unix && !race && !(386 || arm || mips || mipsle)

package mpconn

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
)

// startHugePythonPeer starts testdata/interop/huge.py, TestHugeMessage's
// peer, on the newest CPython with b as its descriptor 3, if that CPython
// is 3.8 or later (ok false otherwise: b is left alone).
func startHugePythonPeer(t *testing.T, ctx context.Context, timeout time.Duration, b *Conn) (hugePeer, bool) {
	t.Helper()
	all := cpython.Find()
	if len(all) == 0 || !all[len(all)-1].AtLeast(3, 8) {
		return hugePeer{}, false
	}
	py := all[len(all)-1]
	f, err := b.File()
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(ctx)
	p := startInteropPeer(t, py.String()+" huge.py", py.Command(pctx, interopScript(t, "huge")), pcancel, []*os.File{f})
	p.timeout = timeout
	interopCloseAfterStart(b, f)
	return hugePeer{
		name: py.String(),
		line: p.line,
		wait: p.wait,
		stderr: func() string {
			return "; stderr:\n" + p.stderr.String()
		},
	}, true
}
