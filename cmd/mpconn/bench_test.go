package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/bench"
	"github.com/mpconn/mpconn/internal/cpython"
)

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
	py, ok := bench.NewestPython(cpython.Find())
	if !ok {
		t.Skip("no CPython installed on this machine: the CPython side cannot be measured")
	}
	return py
}

// TestBenchQuickJSON runs bench --quick --json end to end with mpconn, raw
// Go and one CPython, every case, one round (TestBenchTable runs two
// rounds of two cases; internal/bench tests the medians of several).
func TestBenchQuickJSON(t *testing.T) {
	py := testPython(t)
	// The whole bench takes 16 s on an idle machine and many times that
	// on a loaded one: it is bounded by the test binary's -timeout only.
	ctx, cancel := testDeadline(t)
	defer cancel()
	cmd := exec.CommandContext(ctx, mpconnBin, "bench", "--quick", "--json", "--rounds", "1", "--python", py.Path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "bench: rtt_bytes_64, round 1/1") {
		t.Errorf("no progress line on stderr:\n%s", stderr.String())
	}
	impls := []string{"mpconn", "raw", "cpython" + py.Version}
	got := map[[2]string]bench.JSONLine{}
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
		var line bench.JSONLine
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
	if want := len(bench.Cases())*len(impls) + len(variantCases) + len(sharedImpls) - 1; len(got) != want {
		t.Errorf("%d lines, want %d (every case × impl, the variant's cases and the shared rows, less raw's manager case)", len(got), want)
	}
	for _, bc := range bench.Cases() {
		impls := impls
		if slices.Contains(variantCases, bc.Name) {
			impls = append(impls, "mpconn-many")
		}
		if bc.Manager {
			impls = slices.DeleteFunc(slices.Clone(impls), func(s string) bool { return s == "raw" })
			if _, ok := got[[2]string{bc.Name, "raw"}]; ok {
				t.Errorf("%s: raw Go ran it", bc.Name)
			}
		}
		if bc.Name == "bulk_64MiB" {
			impls = append(impls, sharedImpls...)
		}
		for _, im := range impls {
			line, ok := got[[2]string{bc.Name, im}]
			if !ok {
				t.Errorf("%s %s: missing", bc.Name, im)
				continue
			}
			if line.Unit != bc.Unit {
				t.Errorf("%s %s: unit %q, want %q", bc.Name, im, line.Unit, bc.Unit)
			}
			if line.Value == nil {
				t.Errorf("%s %s: no value (%s)", bc.Name, im, line.Note)
				continue
			}
			if v := *line.Value; !(v > 0) || math.IsInf(v, 0) {
				t.Errorf("%s %s: value %v, want positive and finite", bc.Name, im, v)
			}
			if line.Runs != 1 {
				t.Errorf("%s %s: %d runs, want 1", bc.Name, im, line.Runs)
			}
		}
	}
}

// TestBenchTable checks the table of a quick run without CPython, that a
// case can be chosen, and that every run of two rounds is counted.
func TestBenchTable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mpconnBin, "bench", "--quick", "--rounds", "2", "--no-python", "--case", "rtt_bytes_64", "--case", "connect_auth")
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
	// Two cases × two implementations, each with the values of two runs.
	if n := strings.Count(out, "  2 ("); n != 4 {
		t.Errorf("%d rows of 2 runs, want 4:\n%s", n, out)
	}
	if !strings.Contains(stderr.String(), "bench: connect_auth, round 2/2") {
		t.Errorf("no progress line for the second round on stderr:\n%s", stderr.String())
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
