package bench

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
	"github.com/mpconn/mpconn/internal/platform"
)

// benchPeerPy is the CPython driver and peer.
//
//go:embed bench_peer.py
var benchPeerPy string

// A benchImpl is one implementation bench measures.
type benchImpl struct {
	name  string // in JSON: mpconn, raw, cpython3.11
	label string // in the table
	goRun string // "mpconn", "many" or "raw" for the Go implementations
	py    cpython.Python
	// only lists the cases the implementation runs; nil means all.
	only []string
	// skip lists cases it does not run.
	skip []string
	// variant: another way of using mpconn, shown with its own ratios.
	variant bool
	// column names the variant's ratio column and verdicts when the case
	// has more than one variant ("variant" if empty).
	column string
	// note replaces the table's note on the variant.
	note string
	// pyPeer: a Go driver with a CPython peer (py).
	pyPeer bool
}

func (im *benchImpl) isGo() bool { return im.goRun != "" }

// columnName is the name of the variant's ratio column.
func (im *benchImpl) columnName() string {
	if im.column == "" {
		return "variant"
	}
	return im.column
}

// runs reports whether im takes part in the case called name.
func (im *benchImpl) runs(name string) bool {
	return (im.only == nil || slices.Contains(im.only, name)) && !slices.Contains(im.skip, name)
}

// benchRunner starts the processes of each run.
type benchRunner struct {
	exe       string // this program, for the Go processes
	dir       string // private directory for connect_auth's sockets
	dur, warm time.Duration
	seq       int
	py        cpython.Python // runs the Python clients of the manager case
}

// benchResult is what one run measured.
type benchResult struct {
	n       int64
	elapsed time.Duration
}

// run measures case bc with implementation im once, in a driver and a
// peer process connected by a fresh socketpair.
func (r *benchRunner) run(ctx context.Context, bc *benchCase, im *benchImpl) (benchResult, error) {
	r.seq++
	var addr string
	if bc.name == "connect_auth" || bc.manager {
		addr = filepath.Join(r.dir, fmt.Sprintf("s%d", r.seq))
		defer os.Remove(addr)
	}
	fds, err := platform.BlockingSocketpair()
	if err != nil {
		return benchResult{}, err
	}
	driverEnd := os.NewFile(uintptr(fds[0]), "driver-end")
	peerEnd := os.NewFile(uintptr(fds[1]), "peer-end")
	defer driverEnd.Close()
	defer peerEnd.Close()

	// Everything is bounded: a broken peer fails the run, it never hangs
	// bench. The bound is for hung processes only, far above what a run
	// takes even on a machine loaded many times over (where one 64 MiB
	// message through CPython can take seconds): a slow machine gives
	// slow numbers, not failed runs.
	rctx, cancel := context.WithTimeout(ctx, 2*(r.dur+r.warm)+5*time.Minute)
	defer cancel()
	var peerErr, driverErr, driverOut bytes.Buffer
	peer := r.command(rctx, bc, im, "peer", addr)
	peer.ExtraFiles = []*os.File{peerEnd}
	peer.Stderr = &peerErr
	driver := r.command(rctx, bc, im, "driver", addr)
	driver.ExtraFiles = []*os.File{driverEnd}
	driver.Stdout = &driverOut
	driver.Stderr = &driverErr
	if err := peer.Start(); err != nil {
		return benchResult{}, err
	}
	peerDone := make(chan error, 1)
	go func() { peerDone <- peer.Wait() }()
	if err := driver.Start(); err != nil {
		peer.Process.Kill()
		<-peerDone
		return benchResult{}, err
	}
	// The children hold their ends now; closing ours lets each see EOF
	// when the other exits.
	driverEnd.Close()
	peerEnd.Close()
	derr := driver.Wait()

	// The peer ends at EOF, except connect_auth's listener, which is
	// stopped (SIGTERM, so that a Go peer can write its profile).
	wait := 5 * time.Second
	if addr != "" {
		peer.Process.Signal(syscall.SIGTERM)
		wait = 2 * time.Second
	}
	var perr error
	select {
	case perr = <-peerDone:
	case <-time.After(wait):
		peer.Process.Kill()
		perr = <-peerDone
		if perr == nil {
			perr = errors.New("the peer did not exit")
		}
	}
	if addr != "" {
		perr = nil // killed on purpose
	}
	if derr != nil {
		return benchResult{}, fmt.Errorf("driver: %v: %s%s", derr, lastLine(driverErr.String()), peerNote(peerErr.String()))
	}
	if perr != nil {
		return benchResult{}, fmt.Errorf("peer: %v: %s", perr, lastLine(peerErr.String()))
	}
	return parseBenchResult(driverOut.String())
}

func peerNote(s string) string {
	if l := lastLine(s); l != "" {
		return " (peer: " + l + ")"
	}
	return ""
}

// lastLine returns the last non-empty line of s (a traceback's message).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// parseBenchResult reads the driver's "result COUNT NANOS" line.
func parseBenchResult(out string) (benchResult, error) {
	f := strings.Fields(out)
	if len(f) != 3 || f[0] != "result" {
		return benchResult{}, fmt.Errorf("driver printed %q, want \"result COUNT NANOS\"", out)
	}
	n, err1 := strconv.ParseInt(f[1], 10, 64)
	ns, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || n <= 0 || ns <= 0 {
		return benchResult{}, fmt.Errorf("driver printed %q, want positive numbers", out)
	}
	return benchResult{n: n, elapsed: time.Duration(ns)}, nil
}

// command returns the driver or peer process of im.
func (r *benchRunner) command(ctx context.Context, bc *benchCase, im *benchImpl, role, addr string) *exec.Cmd {
	name := bc.name
	if bc.manager && (role == "driver" || !im.isGo()) {
		py := im.py
		if im.isGo() && !(im.pyPeer && role == "peer") {
			py = r.py
		}
		return py.Command(ctx, benchManagerPy, benchManagerArgs(role, r.dur, r.warm, addr)...)
	}
	if im.isGo() && !(im.pyPeer && role == "peer") {
		args := []string{"bench", ProcessArg, role, im.goRun, name, r.dur.String(), r.warm.String()}
		if addr != "" {
			args = append(args, addr)
		}
		cmd := exec.CommandContext(ctx, r.exe, args...)
		cmd.WaitDelay = 5 * time.Second
		return cmd
	}
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }
	if im.pyPeer {
		role = "shmpeer"
	}
	args := []string{role, name, secs(r.dur), secs(r.warm)}
	if addr != "" {
		args = append(args, addr)
	}
	return im.py.Command(ctx, benchPeerPy, args...)
}
