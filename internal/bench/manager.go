package bench

import (
	"context"
	_ "embed"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/managers"
)

// benchManagerPy runs manager_ops' Python clients (the driver, for every
// implementation) and CPython's SyncManager server (the peer of the
// CPython implementations).
//
//go:embed bench_manager.py
var benchManagerPy string

// benchManagerKey is the manager's authkey in manager_ops.
var benchManagerKey = []byte("mpconn-bench-key")

// benchManagerServe is manager_ops' Go peer: a managers.Server at addr,
// as mpconn manager serve runs it, until the bench stops it (SIGTERM).
func benchManagerServe(ctx context.Context, addr string) error {
	ctrl := os.NewFile(3, "ctrl")
	defer ctrl.Close()
	l, err := mpconn.Listen(addr, &mpconn.ListenOptions{AuthKey: benchManagerKey, Conn: &mpconn.ConnOptions{ReplySpin: -1}})
	if err != nil {
		return err
	}
	defer l.Close()
	srv := managers.NewServer(nil)
	defer srv.Close()
	if _, err := ctrl.Write([]byte("ready")); err != nil {
		return err
	}
	if err := srv.Serve(ctx, l); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// benchManagerArgs returns the arguments of bench_manager.py for role.
func benchManagerArgs(role string, dur, warm time.Duration, addr string) []string {
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }
	return []string{role, secs(dur), secs(warm), addr}
}
