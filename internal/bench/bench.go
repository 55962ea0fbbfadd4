package bench

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

// Config is what a bench measures, and how (mpconn bench's flags).
type Config struct {
	JSON     bool          // one JSON object per line instead of the table
	Quick    bool          // very short runs
	Rounds   int           // runs per case and implementation; 0: 3 (1 with Quick)
	Dur      time.Duration // measured time of a run; 0: chosen from the number of runs
	Warm     time.Duration // warm-up of a run; 0: a quarter of Dur
	Pythons  []string      // the CPython commands; none: every CPython found
	NoPython bool          // measure no CPython
	Cases    []string      // the cases to run; none: all
}

// benchBudget is roughly how long a default bench may take; the per-run
// duration is picked to fit it, and fitted again as the runs show how
// fast the machine starts processes.
const benchBudget = 100 * time.Second

// benchRunOverhead is a first guess of the cost of starting and ending a
// run's two processes (on a quiet two-core machine).
const benchRunOverhead = 120 * time.Millisecond

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

// Run measures what cfg says and writes the table (or the JSON lines) to
// stdout, progress to stderr. Its processes are this program's bench
// subcommand (ProcessArg) and the CPython interpreters.
func Run(ctx context.Context, stdout, stderr io.Writer, cfg Config) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	pys, err := cfg.FindPythons()
	if err != nil {
		return err
	}
	rep := &benchReport{}
	if len(cfg.Cases) == 0 {
		rep.cases = benchCases
	} else {
		for _, n := range cfg.Cases {
			rep.cases = append(rep.cases, findBenchCase(n))
		}
	}
	rep.impls = benchImpls(pys)
	rep.rounds, rep.dur, rep.warm = benchTiming(cfg, len(rep.cases), len(rep.impls))
	rep.auto = cfg.Dur == 0 && !cfg.Quick
	rep.autoWarm = cfg.Warm == 0
	rep.durMin, rep.durMax = rep.dur, rep.dur

	dir, err := os.MkdirTemp("", "mpconn-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r := &benchRunner{exe: exe, dir: dir, dur: rep.dur, warm: rep.warm}
	r.py, _ = NewestPython(pys)

	start := time.Now()
	if err := benchMeasure(ctx, stderr, r, rep); err != nil {
		return err
	}
	rep.elapsed = time.Since(start)
	if cfg.JSON {
		if err := rep.writeJSON(stdout); err != nil {
			return err
		}
	} else {
		rep.writeTable(stdout)
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

// FindPythons returns the interpreters cfg asks for.
func (cfg Config) FindPythons() ([]cpython.Python, error) {
	if cfg.NoPython {
		if len(cfg.Pythons) > 0 {
			return nil, errors.New("give --python or --no-python, not both")
		}
		return nil, nil
	}
	return pythons(cfg.Pythons)
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
func benchTiming(cfg Config, cases, impls int) (rounds int, dur, warm time.Duration) {
	rounds, dur, warm = cfg.Rounds, cfg.Dur, cfg.Warm
	if rounds == 0 {
		rounds = 3
		if cfg.Quick {
			rounds = 1
		}
	}
	if dur == 0 {
		if cfg.Quick {
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

// JSONLine is one line of --json.
type JSONLine struct {
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
			line := JSONLine{Case: bc.name, Impl: im.name, Unit: bc.unit, Runs: len(row.values), Note: row.noteText()}
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
