package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
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

// benchConfig is bench's parsed command line.
type benchConfig struct {
	json     bool
	quick    bool
	rounds   int
	dur      time.Duration // 0: chosen from the number of runs
	warm     time.Duration // 0: a quarter of dur
	pythons  []string
	noPython bool
	cases    []string
}

// benchBudget is roughly how long a default bench may take; the per-run
// duration is picked to fit it, and fitted again as the runs show how
// fast the machine starts processes.
const benchBudget = 100 * time.Second

// benchRunOverhead is a first guess of the cost of starting and ending a
// run's two processes (on a quiet two-core machine).
const benchRunOverhead = 120 * time.Millisecond

func runBench(ctx context.Context, out output, args []string) int {
	if len(args) > 0 && args[0] == benchProcessArg {
		return runBenchProcess(ctx, out, args[1:])
	}
	fs := newFlagSet("bench", out)
	var cfg benchConfig
	fs.BoolVar(&cfg.json, "json", false, `print one JSON object per line, {"case", "impl", "value", "unit", "runs"}, instead of the table`)
	fs.BoolVar(&cfg.quick, "quick", false, "very short runs (numbers only roughly right; for tests)")
	fs.IntVar(&cfg.rounds, "rounds", 0, "run every case `N` times per implementation (default 3, 1 with --quick)")
	fs.DurationVar(&cfg.dur, "duration", 0, "measure for `D` per run (default: 100ms to 300ms, chosen to finish in about two minutes)")
	fs.DurationVar(&cfg.warm, "warmup", 0, "warm up for `D` before each run's measurement (default: a quarter of the duration)")
	fs.Func("python", "measure CPython `CMD` (repeatable; default: every CPython found)", func(s string) error {
		cfg.pythons = append(cfg.pythons, s)
		return nil
	})
	fs.BoolVar(&cfg.noPython, "no-python", false, "measure no CPython, only mpconn and raw Go")
	fs.Func("case", "run only case `NAME` (repeatable)", func(s string) error {
		if findBenchCase(s) == nil {
			return fmt.Errorf("unknown case %q; the cases are %s", s, benchCaseNames())
		}
		cfg.cases = append(cfg.cases, s)
		return nil
	})
	pos, status := parseFlags(fs, out, benchIntro, args)
	if status >= 0 {
		return status
	}
	if len(pos) > 0 {
		return usageError(fs, out, benchIntro, "unexpected arguments: %q", pos)
	}
	if cfg.rounds < 0 || cfg.dur < 0 || cfg.warm < 0 {
		return usageError(fs, out, benchIntro, "--rounds, --duration and --warmup cannot be negative")
	}
	if err := bench(ctx, out, cfg); err != nil {
		if ctx.Err() != nil {
			out.errorf("bench", "interrupted")
			return exitFail
		}
		out.errorf("bench", "%v", err)
		return exitFail
	}
	return exitOK
}

// benchRow is one case × implementation: the value of every run.
type benchRow struct {
	values []float64
	err    error
}

// benchReport is what a bench measured.
type benchReport struct {
	cases    []*benchCase
	impls    []*benchImpl
	rows     [][]benchRow // [case][impl]
	rounds   int
	dur      time.Duration // of the first round
	warm     time.Duration
	auto     bool          // the duration is fitted to benchBudget
	autoWarm bool          // the warm-up is a quarter of the duration
	durMin   time.Duration // the shortest and longest durations used
	durMax   time.Duration
	elapsed  time.Duration
}

func bench(ctx context.Context, out output, cfg benchConfig) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	pys, err := cfg.findPythons()
	if err != nil {
		return err
	}
	rep := &benchReport{}
	if len(cfg.cases) == 0 {
		rep.cases = benchCases
	} else {
		for _, n := range cfg.cases {
			rep.cases = append(rep.cases, findBenchCase(n))
		}
	}
	rep.impls = benchImpls(pys)
	rep.rounds, rep.dur, rep.warm = benchTiming(cfg, len(rep.cases), len(rep.impls))
	rep.auto = cfg.dur == 0 && !cfg.quick
	rep.autoWarm = cfg.warm == 0
	rep.durMin, rep.durMax = rep.dur, rep.dur

	dir, err := os.MkdirTemp("", "mpconn-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r := &benchRunner{exe: exe, dir: dir, dur: rep.dur, warm: rep.warm}
	r.py, _ = newestPython(pys)

	start := time.Now()
	if err := benchMeasure(ctx, out.stderr, r, rep); err != nil {
		return err
	}
	rep.elapsed = time.Since(start)
	if cfg.json {
		if err := rep.writeJSON(out.stdout); err != nil {
			return err
		}
	} else {
		rep.writeTable(out.stdout)
	}
	var failed []string
	for ci, row := range rep.rows {
		for ii, cell := range row {
			if cell.err != nil {
				failed = append(failed, rep.cases[ci].name+" "+rep.impls[ii].label)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d runs failed: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// findPythons returns the interpreters to use.
func (cfg benchConfig) findPythons() ([]cpython.Python, error) {
	if cfg.noPython {
		if len(cfg.pythons) > 0 {
			return nil, errors.New("give --python or --no-python, not both")
		}
		return nil, nil
	}
	return pythons(cfg.pythons)
}

// benchImpls lists mpconn, raw Go, then every interpreter, oldest first,
// then the shared memory rows.
func benchImpls(pys []cpython.Python) []*benchImpl {
	impls := []*benchImpl{
		{name: "mpconn", label: "mpconn", goRun: "mpconn"},
		{
			name: "mpconn-many", label: "mpconn SendMany", goRun: "many",
			only: []string{"stream_bytes_64", "stream_object"}, variant: true,
		},
		// Raw Go has no manager server.
		{name: "raw", label: "raw Go", goRun: "raw", skip: []string{"manager_ops"}},
	}
	if len(pys) == 0 {
		// The manager case's clients are Python processes.
		impls[0].skip = []string{"manager_ops"}
	}
	if os.Getenv("MPCONN_BENCH_EXPERIMENTAL") == "1" {
		impls = append(impls,
			&benchImpl{name: "rawblock", label: "rawblock (exp.)", goRun: "rawblock",
				// (connect_auth has no blocking variant)
				only: []string{"rtt_bytes_64", "rtt_object", "stream_bytes_64", "stream_object", "bulk_1MiB"}})
	}
	// bulk_64MiB runs under one interpreter (64 MiB messages take CPython
	// a second or more each): 3.11 if given, else the newest, which also
	// gives the Go→CPython shared memory row if it has
	// multiprocessing.shared_memory (3.8+).
	var bulkPy *cpython.Python
	for i := range pys {
		if bulkPy == nil || pys[i].Version == "3.11" || bulkPy.Version != "3.11" && pys[i].AtLeast(bulkPy.Major, bulkPy.Minor) {
			bulkPy = &pys[i]
		}
	}
	seen := map[string]int{}
	for i, p := range pys {
		name := "cpython" + p.Version
		seen[name]++
		if k := seen[name]; k > 1 {
			name += fmt.Sprintf("#%d", k)
		}
		im := &benchImpl{name: name, label: "CPython " + p.Full, py: p}
		if &pys[i] != bulkPy {
			im.skip = []string{"bulk_64MiB"}
		}
		if !p.AtLeast(3, 3) {
			// The manager clients need multiprocessing.Barrier and
			// time.perf_counter (3.3+).
			im.skip = append(im.skip, "manager_ops")
		}
		impls = append(impls, im)
	}
	// The shared memory rows of bulk_64MiB come last: Go to Go, then Go to
	// CPython through a SharedMemory.
	impls = append(impls, &benchImpl{
		name: "mpconn-shared", label: "mpconn shared", goRun: "shared",
		only: []string{"bulk_64MiB"}, variant: true, column: "shared", note: sharedNote,
	}, &benchImpl{
		name: "mpconn-shared-inplace", label: "shared in place", goRun: "shared-inplace",
		only: []string{"bulk_64MiB"}, variant: true, column: "in place", note: sharedInPlaceNote,
	})
	if bulkPy != nil && bulkPy.AtLeast(3, 8) {
		impls = append(impls, &benchImpl{
			name: "go-cpython" + bulkPy.Version + "-shared", label: "Go→CPy" + bulkPy.Version + " shm",
			goRun: "shared-py", py: *bulkPy, pyPeer: true, only: []string{"bulk_64MiB"},
		})
	}
	return impls
}

// benchTiming returns the rounds, the measured duration and the warm-up of
// each run. By default the duration fits benchBudget: between 100ms and
// 300ms, whatever the number of interpreters.
func benchTiming(cfg benchConfig, cases, impls int) (rounds int, dur, warm time.Duration) {
	rounds, dur, warm = cfg.rounds, cfg.dur, cfg.warm
	if rounds == 0 {
		rounds = 3
		if cfg.quick {
			rounds = 1
		}
	}
	if dur == 0 {
		if cfg.quick {
			dur = 20 * time.Millisecond
		} else {
			dur = fitDuration(benchBudget, rounds*cases*impls, benchRunOverhead)
		}
	}
	if warm == 0 {
		warm = dur / 4
	}
	return rounds, dur, warm
}

// fitDuration returns the measured duration of each of runs runs that
// fits them in left, when each costs overhead beyond its duration and a
// warm-up of a quarter of it: between 100ms and 300ms.
func fitDuration(left time.Duration, runs int, overhead time.Duration) time.Duration {
	if runs <= 0 {
		return 300 * time.Millisecond
	}
	d := (left/time.Duration(runs) - overhead) * 4 / 5
	d = min(max(d, 100*time.Millisecond), 300*time.Millisecond)
	return d.Round(10 * time.Millisecond)
}

// benchMeasure runs the schedule, showing progress on w. With a default
// duration, it fits the duration again before each round of a case (never
// within one, so that every implementation of a round measures alike),
// from the time left and the overhead seen so far.

func benchMeasure(ctx context.Context, w io.Writer, r *benchRunner, rep *benchReport) error {
	rep.rows = make([][]benchRow, len(rep.cases))
	for ci := range rep.rows {
		rep.rows[ci] = make([]benchRow, len(rep.impls))
	}
	sched := benchSchedule(len(rep.cases), rep.rounds, len(rep.impls))
	p := newProgress(w)
	defer p.done()
	start := time.Now()
	var measured time.Duration // durations and warm-ups of the runs so far
	runs := 0
	for k, s := range sched {
		if err := ctx.Err(); err != nil {
			return err
		}
		if rep.auto && s.i == 0 && runs > 0 {
			spent := time.Since(start)
			overhead := max((spent-measured)/time.Duration(runs), 0)
			r.dur = fitDuration(benchBudget-spent, len(sched)-k, overhead)
			if rep.autoWarm {
				r.warm = r.dur / 4
			}
			rep.durMin, rep.durMax = min(rep.durMin, r.dur), max(rep.durMax, r.dur)
		}
		bc, im, row := rep.cases[s.c], rep.impls[s.i], &rep.rows[s.c][s.i]
		if row.err != nil || !im.runs(bc.name) {
			continue // it failed in an earlier round: it would again
		}
		p.show(fmt.Sprintf("bench: [%d/%d] %s, %s, round %d/%d", k+1, len(sched), bc.name, im.label, s.r+1, rep.rounds))
		res, err := r.run(ctx, bc, im)
		measured += r.dur + r.warm
		runs++
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			row.err = err
			p.log(fmt.Sprintf("bench: %s, %s: %v", bc.name, im.label, err))
			continue
		}
		row.values = append(row.values, bc.value(res.n, res.elapsed))
	}
	return nil
}

// progress shows one line that rewrites itself on a terminal, and one
// line per case and round elsewhere.
type progress struct {
	w    io.Writer
	tty  bool
	last string
	wide int
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) show(line string) {
	if p.tty {
		pad := max(p.wide-len(line), 0)
		fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
		p.wide = len(line)
		return
	}
	// Off a terminal: the line without the implementation, once.
	i := strings.Index(line, "] ")
	key := line
	if i >= 0 {
		key = line[i+2:]
		if a, b, ok := strings.Cut(key, ", "); ok {
			_, rnd, _ := strings.Cut(b, ", ")
			key = a + ", " + rnd
		}
	}
	if key != p.last {
		fmt.Fprintf(p.w, "bench: %s\n", key)
		p.last = key
	}
}

// log prints a line that stays.
func (p *progress) log(line string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.wide))
		p.wide = 0
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) done() {
	if p.tty && p.wide > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.wide))
	}
}

// benchJSON is one line of --json.
type benchJSON struct {
	Case  string   `json:"case"`
	Impl  string   `json:"impl"`
	Value *float64 `json:"value"` // null when there is no measurement
	Unit  string   `json:"unit"`
	Runs  int      `json:"runs"`
	Note  string   `json:"note,omitempty"`
}

func (rep *benchReport) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	for ci, bc := range rep.cases {
		for ii, im := range rep.impls {
			if !im.runs(bc.name) {
				continue
			}
			row := rep.rows[ci][ii]
			line := benchJSON{Case: bc.name, Impl: im.name, Unit: bc.unit, Runs: len(row.values), Note: row.noteText()}
			if m := median(row.values); !math.IsNaN(m) {
				line.Value = &m
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
	}
	return nil
}

// noteText says why a row has no value.
func (row benchRow) noteText() string {
	switch {
	case row.err != nil:
		return "failed: " + row.err.Error()
	case len(row.values) == 0:
		return "not run"
	}
	return ""
}

func (rep *benchReport) writeTable(w io.Writer) {
	if rep.durMin == rep.durMax {
		fmt.Fprintf(w, "mpconn bench: %d round(s), interleaved; each run measures %v after a %v warm-up; median of the runs.\n",
			rep.rounds, rep.dur, rep.warm)
	} else {
		fmt.Fprintf(w, "mpconn bench: %d round(s), interleaved; each run measures %v to %v (fitted to a %v budget) after a warm-up; median of the runs.\n",
			rep.rounds, rep.durMin, rep.durMax, benchBudget)
	}
	fmt.Fprintf(w, "Every implementation runs as two processes (driver + peer) over a socketpair.\n")
	fmt.Fprintf(w, "mpconn/X is mpconn's value over X's: below 1 is better for times (µs), above 1 for rates.\n")
	for ci, bc := range rep.cases {
		better := "higher is better"
		if bc.lower {
			better = "lower is better"
		}
		fmt.Fprintf(w, "\n%s: %s\n", bc.name, bc.title)
		ref := median(rep.rows[ci][0].values)
		// Each variant of mpconn in this case gets a column of its own
		// ratios.
		var vis []int
		for ii, im := range rep.impls {
			if im.variant && im.runs(bc.name) {
				vis = append(vis, ii)
			}
		}
		header := fmt.Sprintf("  %-16s %12s  %-22s %9s", "implementation", bc.unit, "runs (min to max)", "mpconn/X")
		for _, vi := range vis {
			header += fmt.Sprintf(" %11s", rep.impls[vi].columnName()+"/X")
		}
		printRow(w, "%s  %s", header, "("+better+")")
		for ii, im := range rep.impls {
			if !im.runs(bc.name) {
				continue
			}
			row := rep.rows[ci][ii]
			m := median(row.values)
			if math.IsNaN(m) {
				fmt.Fprintf(w, "  %-16s %12s  %s\n", im.label, "n/a", row.noteText())
				continue
			}
			lo, hi := minMax(row.values)
			spread := fmt.Sprintf("%d (%s to %s)", len(row.values), formatValue(lo), formatValue(hi))
			ratio, verdict := "", ""
			if ii > 0 && !im.variant && !math.IsNaN(ref) {
				q := ref / m
				ratio = fmt.Sprintf("%.2f", q)
				verdict = speedWord(q, bc.lower)
			}
			line := fmt.Sprintf("  %-16s %12s  %-22s %9s", im.label, formatValue(m), spread, ratio)
			for _, vi := range vis {
				vref := median(rep.rows[ci][vi].values)
				vratio := ""
				if !im.variant && !math.IsNaN(vref) {
					q := vref / m
					vratio = fmt.Sprintf("%.2f", q)
					if verdict != "" {
						verdict += "; "
					}
					verdict += rep.impls[vi].columnName() + " " + strings.TrimPrefix(speedWord(q, bc.lower), "mpconn ")
				}
				line += fmt.Sprintf(" %11s", vratio)
			}
			printRow(w, "%s  %s", line, verdict)
		}
		for _, vi := range vis {
			note := rep.impls[vi].note
			if note == "" {
				note = variantNote
			}
			fmt.Fprintf(w, "  (%s: %s)\n", rep.impls[vi].columnName(), note)
		}
		if bc.rawNote != "" {
			fmt.Fprintf(w, "  (%s)\n", bc.rawNote)
		}
	}
	fmt.Fprintf(w, "\nbench took %.0fs.\n", rep.elapsed.Seconds())
}

// printRow prints a row of the table, without trailing blanks.
func printRow(w io.Writer, format string, args ...any) {
	fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf(format, args...), " "))
}

// variantNote says what the mpconn SendMany rows measure.
const variantNote = "mpconn SendMany sends the same messages with SendBytesMany/SendMany, 64 per call, gathered into few system calls; the others send one message per call"

// sharedNote says what the mpconn shared row measures.
const sharedNote = "passes each payload in a shared memfd block from a reusable pool (package shm): the sender copies the prepared payload (another 64 MiB buffer) into the block once, the receiver reads it in place; no copy through the kernel"

// sharedInPlaceNote says what the shared in place row measures.
const sharedInPlaceNote = "the same path with a producer that generates each payload in the block: it writes the 64 MiB in 1 MiB pieces from a piece it keeps in cache, stamped with the message number, and reads no source buffer from memory"

// speedWord says how much faster or slower mpconn is for ratio q =
// mpconn/X.
func speedWord(q float64, lower bool) string {
	if lower {
		q = 1 / q
	}
	switch {
	case q >= 1.05:
		return fmt.Sprintf("mpconn %.1fx faster", q)
	case q <= 1/1.05:
		return fmt.Sprintf("mpconn %.1fx slower", 1/q)
	}
	return "about the same"
}

// formatValue prints v with three or four significant digits.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}
