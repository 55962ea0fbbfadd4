package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
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
	r, d, w := benchTiming(Config{}, 6, 11)
	if r != 3 || d < 100*time.Millisecond || d > 300*time.Millisecond || w != d/4 {
		t.Errorf("defaults for 11 impls: %d rounds, %v, %v", r, d, w)
	}
	// Many interpreters shorten the runs, down to the floor.
	_, dMany, _ := benchTiming(Config{}, 6, 40)
	if dMany != 100*time.Millisecond {
		t.Errorf("40 impls: %v per run, want the 100ms floor", dMany)
	}
	_, dFew, _ := benchTiming(Config{}, 1, 2)
	if dFew != 300*time.Millisecond {
		t.Errorf("2 impls, 1 case: %v per run, want the 300ms cap", dFew)
	}
	r, d, w = benchTiming(Config{Quick: true}, 6, 11)
	if r != 1 || d != 20*time.Millisecond || w != 5*time.Millisecond {
		t.Errorf("quick: %d rounds, %v, %v", r, d, w)
	}
	r, d, w = benchTiming(Config{Rounds: 5, Dur: time.Second, Warm: time.Millisecond}, 6, 11)
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

// TestBenchReportEveryCase renders the table and the JSON of a report with
// every case and every kind of implementation (Go, its variant, raw Go,
// three interpreters, the shared memory rows), as a full bench with
// CPython makes them: each case lists the implementations that run it,
// with a value and a ratio, and nothing else. (The tour and the bench
// tests of cmd/mpconn run real benches: all cases in JSON, two as a
// table.)
func TestBenchReportEveryCase(t *testing.T) {
	pys := []cpython.Python{
		{Version: "2.7", Full: "2.7.18", Major: 2, Minor: 7},
		{Version: "3.11", Full: "3.11.7", Major: 3, Minor: 11},
		{Version: "3.13", Full: "3.13.0", Major: 3, Minor: 13},
	}
	rep := &benchReport{
		cases:  benchCases,
		impls:  benchImpls(pys),
		rounds: 2, dur: 20 * time.Millisecond, warm: 5 * time.Millisecond,
		durMin: 20 * time.Millisecond, durMax: 20 * time.Millisecond,
	}
	rep.rows = make([][]benchRow, len(rep.cases))
	running := 0
	for ci, bc := range rep.cases {
		rep.rows[ci] = make([]benchRow, len(rep.impls))
		for ii, im := range rep.impls {
			if im.runs(bc.name) {
				rep.rows[ci][ii].values = []float64{float64(10 + ii), float64(20 + ii)}
				running++
			}
		}
	}
	var js bytes.Buffer
	if err := rep.writeJSON(&js); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	if len(lines) != running {
		t.Errorf("%d JSON lines, want %d (one per case × implementation that runs it)", len(lines), running)
	}
	for _, l := range lines {
		var line JSONLine
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if line.Value == nil || line.Runs != 2 || line.Note != "" {
			t.Errorf("line %q: want a value of 2 runs and no note", l)
		}
	}

	var tab bytes.Buffer
	rep.writeTable(&tab)
	out := tab.String()
	if strings.Contains(out, "n/a") || strings.Contains(out, "NaN") {
		t.Errorf("a row without a value:\n%s", out)
	}
	sections := strings.Split(out, "\n\n")
	for ci, bc := range rep.cases {
		var sec string
		for _, s := range sections {
			if strings.HasPrefix(s, bc.name+": "+bc.title+"\n") {
				sec = s
			}
		}
		if sec == "" {
			t.Errorf("no section for %s in the table:\n%s", bc.name, out)
			continue
		}
		rows := 0
		for ii, im := range rep.impls {
			if !im.runs(bc.name) {
				continue
			}
			rows++
			v := formatValue(median(rep.rows[ci][ii].values))
			if !strings.Contains(sec, fmt.Sprintf("\n  %-16s %12s  2 (", im.label, v)) {
				t.Errorf("%s: no row for %s with value %s:\n%s", bc.name, im.label, v, sec)
			}
		}
		if got := strings.Count(sec, "  2 ("); got != rows {
			t.Errorf("%s: %d rows, want %d:\n%s", bc.name, got, rows, sec)
		}
	}
	if !strings.Contains(out, "\nbench took ") {
		t.Errorf("no closing line:\n%s", out)
	}
}
