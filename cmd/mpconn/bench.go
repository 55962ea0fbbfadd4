package main

import (
	"context"
	"fmt"

	"github.com/mpconn/mpconn/internal/bench"
)

var benchCommand = &command{
	name:    "bench",
	summary: "measure mpconn against raw Go sockets and CPython, side by side",
	run:     runBench,
}

const benchIntro = `usage: mpconn bench [flags]

Measures mpconn on this machine next to a raw Go baseline (the same frames
with plain socket reads and writes: one write per message, a read for the
header and one for the payload, no framing library) and next to CPython's
multiprocessing.connection under every CPython found (pyenv versions,
$MPCONN_PYTHONS, python2/python3 on $PATH), or those named with --python.

Every run uses two fresh processes, a driver that times the work and a peer
that answers, connected by a socketpair (a duplex Pipe): for mpconn and raw
Go both are this program, for CPython both are the interpreter. Runs are
interleaved (every implementation once per round, several rounds) and the
table shows the median of each implementation's runs, and the ratios
mpconn/raw and mpconn/CPython.

Cases:
  rtt_bytes_64     round trip of a 64-byte message (µs)
  rtt_object       round trip of a small dict, pickled (µs)
  stream_bytes_64  one-way stream of 64-byte messages (messages/s)
  stream_object    one-way stream of the small dict (messages/s)
  bulk_1MiB        one-way 1 MiB messages (GB/s, 10^9 bytes/s)
  bulk_64MiB       one-way 64 MiB messages (GB/s), also through shared
                   memory: "mpconn shared" (package shm, memfd blocks from
                   a pool passed over the Conn, read in place; the sender
                   copies a prepared payload in), "shared in place" (the
                   same, the sender writing each payload in the block) and
                   "Go→CPython shm" (a SharedMemory block Go fills and a
                   CPython 3.8+ peer reads in place); of the CPythons, only
                   3.11 (if measured, else the newest) runs it
  connect_auth     authenticated connect + handshake + close (per second);
                   the raw Go baseline connects and closes with no handshake
  manager_ops      dict and Queue operations per second of 4 Python client
                   processes (multiprocessing.managers) on a manager
                   server: mpconn's Go server (mpconn manager serve), with
                   clients of the newest CPython found, vs each CPython's
                   SyncManager server with its own clients (3.3+: Python 2
                   has no multiprocessing.Barrier); raw Go has none

With --json, a row that could not be measured has "value": null, "runs": 0
and a "note" saying why. A progress line goes to standard error.

The stream cases also measure "mpconn SendMany": the same messages sent 64
at a time with SendBytesMany or SendMany, which gather their frames into
few system calls; its column variant/X gives its ratios.

Environment: MPCONN_BENCH_EXPERIMENTAL=1 adds an experiment, not a
baseline: rawblock (raw frames with blocking system calls, bypassing Go's
network poller). MPCONN_BENCH_CPUPROFILE=DIR writes a CPU profile of every
Go process into DIR.
`

// runBench is mpconn bench: the flags make a bench.Config. With
// bench.ProcessArg, the program is one of a run's processes (or the
// tour's Go child).
func runBench(ctx context.Context, out output, args []string) int {
	if len(args) > 0 && args[0] == bench.ProcessArg {
		if len(args) > 1 && args[1] == "tour-child" {
			return runTourChild(ctx, out)
		}
		return bench.RunProcess(ctx, out.stdout, out.stderr, args[1:])
	}
	fs := newFlagSet("bench", out)
	var cfg bench.Config
	fs.BoolVar(&cfg.JSON, "json", false, `print one JSON object per line, {"case", "impl", "value", "unit", "runs"}, instead of the table`)
	fs.BoolVar(&cfg.Quick, "quick", false, "very short runs (numbers only roughly right; for tests)")
	fs.IntVar(&cfg.Rounds, "rounds", 0, "run every case `N` times per implementation (default 3, 1 with --quick)")
	fs.DurationVar(&cfg.Dur, "duration", 0, "measure for `D` per run (default: 100ms to 300ms, chosen to finish in about two minutes)")
	fs.DurationVar(&cfg.Warm, "warmup", 0, "warm up for `D` before each run's measurement (default: a quarter of the duration)")
	fs.Func("python", "measure CPython `CMD` (repeatable; default: every CPython found)", func(s string) error {
		cfg.Pythons = append(cfg.Pythons, s)
		return nil
	})
	fs.BoolVar(&cfg.NoPython, "no-python", false, "measure no CPython, only mpconn and raw Go")
	fs.Func("case", "run only case `NAME` (repeatable)", func(s string) error {
		if !bench.HasCase(s) {
			return fmt.Errorf("unknown case %q; the cases are %s", s, bench.CaseNames())
		}
		cfg.Cases = append(cfg.Cases, s)
		return nil
	})
	pos, status := parseFlags(fs, out, benchIntro, args)
	if status >= 0 {
		return status
	}
	if len(pos) > 0 {
		return usageError(fs, out, benchIntro, "unexpected arguments: %q", pos)
	}
	if cfg.Rounds < 0 || cfg.Dur < 0 || cfg.Warm < 0 {
		return usageError(fs, out, benchIntro, "--rounds, --duration and --warmup cannot be negative")
	}
	if err := bench.Run(ctx, out.stdout, out.stderr, cfg); err != nil {
		if ctx.Err() != nil {
			out.errorf("bench", "interrupted")
			return exitFail
		}
		out.errorf("bench", "%v", err)
		return exitFail
	}
	return exitOK
}
