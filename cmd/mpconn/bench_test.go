package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
)

func TestBenchScheduleInterleaves(t *testing.T) {
	got := benchSchedule(2, 3, 3)
	if len(got) != 2*3*3 {
		t.Fatalf("%d slots, want 18", len(got))
	}
	// Within a case: A B C A B C A B C, one round after another.
	for k, s := range got {
		c, r, i := k/9, (k%9)/3, k%3
		if s != (benchSlot{c: c, r: r, i: i}) {
			t.Fatalf("slot %d is %+v, want case %d round %d impl %d", k, s, c, r, i)
		}
	}
	// Every case × round × impl exactly once.
	seen := map[benchSlot]bool{}
	for _, s := range got {
		if seen[s] {
			t.Fatalf("%+v twice", s)
		}
		seen[s] = true
	}
	if n := len(benchSchedule(0, 3, 3)); n != 0 {
		t.Errorf("no cases: %d slots", n)
	}
}

func TestMedian(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"one", []float64{7}, 7},
		{"odd unsorted", []float64{9, 1, 5}, 5},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"outlier", []float64{10, 11, 1000}, 11},
		{"nan ignored", []float64{nan, 3, 1}, 2},
		{"duplicates", []float64{2, 2, 9, 2}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			if got := median(in); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
			for i := range in {
				if !(in[i] == tc.in[i] || math.IsNaN(in[i]) && math.IsNaN(tc.in[i])) {
					t.Fatalf("median reordered its input: %v", in)
				}
			}
		})
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
	if got := median([]float64{nan}); !math.IsNaN(got) {
		t.Errorf("median(NaN) = %v, want NaN", got)
	}
	lo, hi := minMax([]float64{3, nan, 1, 8})
	if lo != 1 || hi != 8 {
		t.Errorf("minMax = %v, %v; want 1, 8", lo, hi)
	}
}

func TestBenchTiming(t *testing.T) {
	r, d, w := benchTiming(benchConfig{}, 6, 11)
	if r != 3 || d < 100*time.Millisecond || d > 300*time.Millisecond || w != d/4 {
		t.Errorf("defaults for 11 impls: %d rounds, %v, %v", r, d, w)
	}
	// Many interpreters shorten the runs, down to the floor.
	_, dMany, _ := benchTiming(benchConfig{}, 6, 40)
	if dMany != 100*time.Millisecond {
		t.Errorf("40 impls: %v per run, want the 100ms floor", dMany)
	}
	_, dFew, _ := benchTiming(benchConfig{}, 1, 2)
	if dFew != 300*time.Millisecond {
		t.Errorf("2 impls, 1 case: %v per run, want the 300ms cap", dFew)
	}
	r, d, w = benchTiming(benchConfig{quick: true}, 6, 11)
	if r != 1 || d != 20*time.Millisecond || w != 5*time.Millisecond {
		t.Errorf("quick: %d rounds, %v, %v", r, d, w)
	}
	r, d, w = benchTiming(benchConfig{rounds: 5, dur: time.Second, warm: time.Millisecond}, 6, 11)
	if r != 5 || d != time.Second || w != time.Millisecond {
		t.Errorf("explicit: %d rounds, %v, %v", r, d, w)
	}
}

func TestFitDuration(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		left     time.Duration
		runs     int
		overhead time.Duration
		want     time.Duration
	}{
		{100 * time.Second, 198, 120 * ms, 300 * ms}, // 505ms a run: capped
		{60 * time.Second, 198, 120 * ms, 150 * ms},  // (303-120)*4/5
		{60 * time.Second, 198, 250 * ms, 100 * ms},  // a slow machine: the floor
		{-time.Second, 10, 0, 100 * ms},              // over budget: the floor
		{time.Second, 0, 0, 300 * ms},                // nothing left to run
	} {
		if got := fitDuration(tc.left, tc.runs, tc.overhead); got != tc.want {
			t.Errorf("fitDuration(%v, %d, %v) = %v, want %v", tc.left, tc.runs, tc.overhead, got, tc.want)
		}
	}
}

func TestParseBenchResult(t *testing.T) {
	got, err := parseBenchResult("result 12 3000\n")
	if err != nil || got != (benchResult{n: 12, elapsed: 3000}) {
		t.Errorf("got %+v, %v", got, err)
	}
	for _, bad := range []string{"", "result 12", "result 0 5", "result 5 -1", "result x 5", "hello 1 2", "result 1 2 3"} {
		if _, err := parseBenchResult(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// testDeadline returns a context that ends shortly before the test
// binary's -timeout, so that a subprocess still running then is killed
// and reported by the test instead of by the timeout's panic.
func testDeadline(t *testing.T) (context.Context, context.CancelFunc) {
	if d, ok := t.Deadline(); ok {
		return context.WithDeadline(context.Background(), d.Add(-30*time.Second))
	}
	return context.WithCancel(context.Background())
}

// testPython returns one CPython for the end-to-end tests: 3.11 (the
// issue's reference) if installed, else the newest.
func testPython(t *testing.T) cpython.Python {
	t.Helper()
	if py, ok := cpython.Get("3.11"); ok {
		return py
	}
	py, ok := newestPython(cpython.Find())
	if !ok {
		t.Skip("no CPython installed on this machine: the CPython side cannot be measured")
	}
	return py
}

// TestBenchQuickJSON runs bench --quick --json end to end with mpconn, raw
// Go and one CPython, over two rounds.
func TestBenchQuickJSON(t *testing.T) {
	py := testPython(t)
	// The whole bench takes 16 s on an idle machine and many times that
	// on a loaded one: it is bounded by the test binary's -timeout only.
	ctx, cancel := testDeadline(t)
	defer cancel()
	cmd := exec.CommandContext(ctx, mpconnBin, "bench", "--quick", "--json", "--rounds", "2", "--python", py.Path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "bench: rtt_bytes_64, round 1/2") {
		t.Errorf("no progress line on stderr:\n%s", stderr.String())
	}
	impls := []string{"mpconn", "raw", "cpython" + py.Version}
	got := map[[2]string]benchJSON{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var fields map[string]any
		if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"case", "impl", "value", "unit", "runs"} {
			if _, ok := fields[k]; !ok {
				t.Errorf("line %q has no %q", sc.Text(), k)
			}
		}
		var line benchJSON
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		key := [2]string{line.Case, line.Impl}
		if _, dup := got[key]; dup {
			t.Errorf("%v twice", key)
		}
		got[key] = line
	}
	// The SendMany variant runs in the stream cases only; the shared
	// memory rows (Go to Go, and Go to this CPython) in bulk_64MiB only.
	variantCases := []string{"stream_bytes_64", "stream_object"}
	sharedImpls := []string{"mpconn-shared", "mpconn-shared-inplace"}
	if py.AtLeast(3, 8) {
		sharedImpls = append(sharedImpls, "go-cpython"+py.Version+"-shared")
	}
	if want := len(benchCases)*len(impls) + len(variantCases) + len(sharedImpls) - 1; len(got) != want {
		t.Errorf("%d lines, want %d (every case × impl, the variant's cases and the shared rows, less raw's manager case)", len(got), want)
	}
	for _, bc := range benchCases {
		impls := impls
		if slices.Contains(variantCases, bc.name) {
			impls = append(impls, "mpconn-many")
		}
		if bc.manager {
			impls = slices.DeleteFunc(slices.Clone(impls), func(s string) bool { return s == "raw" })
			if _, ok := got[[2]string{bc.name, "raw"}]; ok {
				t.Errorf("%s: raw Go ran it", bc.name)
			}
		}
		if bc.name == "bulk_64MiB" {
			impls = append(impls, sharedImpls...)
		}
		for _, im := range impls {
			line, ok := got[[2]string{bc.name, im}]
			if !ok {
				t.Errorf("%s %s: missing", bc.name, im)
				continue
			}
			if line.Unit != bc.unit {
				t.Errorf("%s %s: unit %q, want %q", bc.name, im, line.Unit, bc.unit)
			}
			if line.Value == nil {
				t.Errorf("%s %s: no value (%s)", bc.name, im, line.Note)
				continue
			}
			if v := *line.Value; !(v > 0) || math.IsInf(v, 0) {
				t.Errorf("%s %s: value %v, want positive and finite", bc.name, im, v)
			}
			if line.Runs != 2 {
				t.Errorf("%s %s: %d runs, want 2", bc.name, im, line.Runs)
			}
		}
	}
}

// TestBenchTable checks the table of a quick run without CPython, and
// that a case can be chosen.
func TestBenchTable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mpconnBin, "bench", "--quick", "--no-python", "--case", "rtt_bytes_64", "--case", "connect_auth")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"rtt_bytes_64: round trip", "connect_auth: connect", "  mpconn ", "  raw Go ", "NO handshake", "bench took"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the table:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"stream_bytes_64", "CPython", "n/a"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("%q in the table:\n%s", unwanted, out)
		}
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--case", "nope"},
		{"bench", "extra"},
		{"bench", "--rounds", "-1"},
		{"bench", "--no-python", "--python", "python3"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), output{stdout: &stdout, stderr: &stderr}, args)
		if code == exitOK {
			t.Errorf("%q: exit 0, want a failure", args)
		}
		if stderr.Len() == 0 {
			t.Errorf("%q: nothing on stderr", args)
		}
	}
}

func TestSpeedWord(t *testing.T) {
	for _, tc := range []struct {
		q     float64
		lower bool
		want  string
	}{
		{0.5, true, "mpconn 2.0x faster"},
		{2, true, "mpconn 2.0x slower"},
		{3, false, "mpconn 3.0x faster"},
		{0.25, false, "mpconn 4.0x slower"},
		{1.01, false, "about the same"},
	} {
		if got := speedWord(tc.q, tc.lower); got != tc.want {
			t.Errorf("speedWord(%v, %v) = %q, want %q", tc.q, tc.lower, got, tc.want)
		}
	}
}

// TestBenchReportOutput checks the JSON lines and the table of a report
// with a measured row, a failed one and one to compare.
func TestBenchReportOutput(t *testing.T) {
	rep := &benchReport{
		cases: []*benchCase{findBenchCase("stream_bytes_64")},
		impls: benchImpls(nil),
		rows: [][]benchRow{{
			{values: []float64{300, 100, 200}},
			{values: []float64{1000, 1000}},
			{err: errors.New("boom")},
		}},
		rounds: 3, dur: 300 * time.Millisecond, warm: 75 * time.Millisecond,
		durMin: 300 * time.Millisecond, durMax: 300 * time.Millisecond,
	}
	var js bytes.Buffer
	if err := rep.writeJSON(&js); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d JSON lines, want 3:\n%s", len(lines), js.String())
	}
	var ok, variant, failed map[string]any
	for i, m := range []*map[string]any{&ok, &variant, &failed} {
		if err := json.Unmarshal([]byte(lines[i]), m); err != nil {
			t.Fatal(err)
		}
	}
	if want := map[string]any{"case": "stream_bytes_64", "impl": "mpconn-many", "value": 1000.0, "unit": "msg/s", "runs": 2.0}; !reflect.DeepEqual(variant, want) {
		t.Errorf("variant row: %v, want %v", variant, want)
	}
	want := map[string]any{"case": "stream_bytes_64", "impl": "mpconn", "value": 200.0, "unit": "msg/s", "runs": 3.0}
	if !reflect.DeepEqual(ok, want) {
		t.Errorf("measured row: %v, want %v", ok, want)
	}
	want = map[string]any{"case": "stream_bytes_64", "impl": "raw", "value": nil, "unit": "msg/s", "runs": 0.0, "note": "failed: boom"}
	if !reflect.DeepEqual(failed, want) {
		t.Errorf("failed row: %v, want %v", failed, want)
	}

	var tab bytes.Buffer
	rep.writeTable(&tab)
	out := tab.String()
	for _, want := range []string{
		"each run measures 300ms after a 75ms warm-up",
		"  mpconn                  200.0  3 (100.0 to 300.0)",
		"  mpconn SendMany        1000.0  2 (1000.0 to 1000.0)\n",
		"  mpconn                  200.0  3 (100.0 to 300.0)                      5.00  variant 5.0x faster\n",
		"  raw Go                    n/a  failed: boom",
		"variant/X",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the table:\n%s", want, out)
		}
	}
}

// TestBenchImplsBulk64: bulk_64MiB runs under CPython 3.11 only (else the
// newest), which also gives the Go→CPython shared memory row (3.8+).
func TestBenchImplsBulk64(t *testing.T) {
	py := func(minor int) cpython.Python {
		return cpython.Python{Version: fmt.Sprintf("3.%d", minor), Full: fmt.Sprintf("3.%d.0", minor), Major: 3, Minor: minor}
	}
	for _, tc := range []struct {
		pys  []cpython.Python
		want string // the interpreter running bulk_64MiB, "" for none
	}{
		{[]cpython.Python{{Version: "2.7", Major: 2, Minor: 7}, py(9), py(11), py(12)}, "3.11"},
		{[]cpython.Python{py(8), py(12), py(10)}, "3.12"},
		{[]cpython.Python{py(7)}, "3.7"},
		{nil, ""},
	} {
		var running []string
		shared := ""
		for _, im := range benchImpls(tc.pys) {
			if !im.runs("bulk_64MiB") {
				continue
			}
			switch {
			case im.pyPeer:
				shared = im.py.Version
			case !im.isGo():
				running = append(running, im.py.Version)
			}
		}
		want := []string{tc.want}
		if tc.want == "" {
			want = nil
		}
		wantShared := tc.want
		if tc.want == "3.7" {
			wantShared = "" // no multiprocessing.shared_memory
		}
		if !reflect.DeepEqual(running, want) || shared != wantShared {
			t.Errorf("%v: bulk_64MiB under %v, shared row %q; want %q", tc.pys, running, shared, tc.want)
		}
	}
}

// TestBenchImplsManagerPython2: manager_ops' clients need Python 3, so a
// Python 2 interpreter measures the other cases but not that one (it used
// to fail the whole bench, and so the tour, where 2.7 is installed).
func TestBenchImplsManagerPython2(t *testing.T) {
	pys := []cpython.Python{{Version: "2.7", Full: "2.7.18", Major: 2, Minor: 7}, {Version: "3.12", Full: "3.12.1", Major: 3, Minor: 12}}
	var managed, other []string
	for _, im := range benchImpls(pys) {
		if im.isGo() || im.pyPeer {
			continue
		}
		if im.runs("manager_ops") {
			managed = append(managed, im.py.Version)
		}
		if im.runs("rtt_bytes_64") {
			other = append(other, im.py.Version)
		}
	}
	if !reflect.DeepEqual(managed, []string{"3.12"}) || !reflect.DeepEqual(other, []string{"2.7", "3.12"}) {
		t.Errorf("manager_ops under %v, rtt_bytes_64 under %v; want [3.12] and [2.7 3.12]", managed, other)
	}
}
