// Command testreport reads `go test -json` on standard input and prints a
// readable account of the run as it goes: each failing test with its output
// (at once, not at the end), each slow top-level test with its duration,
// the skipped tests grouped by reason, a progress line naming the running
// packages and tests when nothing has been printed for a while, and go
// test's own "ok" / "FAIL" line for each package. Its last line is
//
//	PHASE: N passed, N failed, N skipped (P packages, 1m02s)
//
// It exits 1 if any test, package or build failed, 0 otherwise. Lines on
// standard input that are not JSON are copied through unchanged.
//
// scripts/test runs every `go test` phase through it.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// event is one line of `go test -json` (cmd/test2json's TestEvent).
type event struct {
	Time        time.Time
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string
	FailedBuild string
}

func main() {
	phase := flag.String("phase", "tests", "the phase name printed in the summary line")
	slow := flag.Duration("slow", 10*time.Second, "report top-level tests that take at least this long")
	every := flag.Duration("every", 30*time.Second, "print a progress line after this long without output")
	counts := flag.String("counts", "", "write \"PASSED FAILED SKIPPED\" to `FILE` at the end")
	flag.Parse()

	r := newReport(os.Stdout, *phase, *slow)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.heartbeat(*every, stop)
	}()
	err := r.read(os.Stdin)
	close(stop)
	wg.Wait()
	if err != nil {
		fmt.Fprintf(os.Stdout, "testreport: reading go test output: %v\n", err)
		os.Exit(1)
	}
	ok := r.finish()
	if *counts != "" {
		c := fmt.Sprintf("%d %d %d\n", r.passed, r.failed, r.skipped)
		if err := os.WriteFile(*counts, []byte(c), 0o644); err != nil {
			fmt.Fprintf(os.Stdout, "testreport: %v\n", err)
			ok = false
		}
	}
	if !ok {
		os.Exit(1)
	}
}

// report is the state of one run. Its methods are safe for concurrent use.
type report struct {
	mu       sync.Mutex
	w        io.Writer
	phase    string
	slow     time.Duration
	start    time.Time
	lastOut  time.Time
	pkgs     map[string]*pkgState
	order    []string // packages in the order they started
	passed   int
	failed   int
	skipped  int
	badPkgs  int // packages that failed, including build failures
	donePkgs int
	builds   map[string][]string // build output by import path

	skips     map[string][]string // skipped tests by reason
	skipOrder []string            // reasons in the order first seen
}

type pkgState struct {
	start    time.Time
	running  map[string]time.Time // test name -> when it started running
	output   map[string][]string  // test name -> its output lines so far
	pkgOut   []string             // package-level output lines
	done     bool
	failures []string // failed top-level tests
}

func newReport(w io.Writer, phase string, slow time.Duration) *report {
	now := time.Now()
	return &report{
		w: w, phase: phase, slow: slow, start: now, lastOut: now,
		pkgs:   map[string]*pkgState{},
		builds: map[string][]string{},
		skips:  map[string][]string{},
	}
}

func (r *report) printf(format string, args ...any) {
	fmt.Fprintf(r.w, format, args...)
	r.lastOut = time.Now()
}

func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			r.mu.Lock()
			r.printf("%s\n", line)
			r.mu.Unlock()
			continue
		}
		r.handle(e)
	}
	return sc.Err()
}

func (r *report) pkg(name string) *pkgState {
	p := r.pkgs[name]
	if p == nil {
		p = &pkgState{
			start:   time.Now(),
			running: map[string]time.Time{},
			output:  map[string][]string{},
		}
		r.pkgs[name] = p
		r.order = append(r.order, name)
	}
	return p
}

func (r *report) handle(e event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e.Action {
	case "build-output":
		r.builds[e.ImportPath] = append(r.builds[e.ImportPath], e.Output)
		return
	case "build-fail":
		r.printf("%s", strings.Join(r.builds[e.ImportPath], ""))
		delete(r.builds, e.ImportPath)
		return
	}
	if e.Package == "" {
		return
	}
	p := r.pkg(e.Package)
	if e.Test == "" {
		r.handlePackage(e, p)
		return
	}
	switch e.Action {
	case "run":
		p.running[e.Test] = time.Now()
	case "output":
		p.output[e.Test] = append(p.output[e.Test], e.Output)
	case "pass":
		r.passed++
		if !strings.Contains(e.Test, "/") && e.Elapsed >= r.slow.Seconds() {
			r.printf("  slow  %-8s %s %s\n", seconds(e.Elapsed), short(e.Package), e.Test)
		}
		r.forget(p, e.Test)
	case "skip":
		r.skipped++
		reason := skipReason(p.output[e.Test])
		if r.skips[reason] == nil {
			r.skipOrder = append(r.skipOrder, reason)
		}
		r.skips[reason] = append(r.skips[reason], short(e.Package)+" "+e.Test)
		r.forget(p, e.Test)
	case "fail":
		r.failed++
		if !strings.Contains(e.Test, "/") {
			p.failures = append(p.failures, e.Test)
		}
		r.printf("--- FAIL: %s %s (%s)\n", short(e.Package), e.Test, seconds(e.Elapsed))
		for _, l := range p.output[e.Test] {
			if isNoise(l) || strings.HasPrefix(strings.TrimSpace(l), "--- FAIL: "+e.Test+" ") {
				continue
			}
			r.printf("    %s", l)
			if !strings.HasSuffix(l, "\n") {
				r.printf("\n")
			}
		}
		r.forget(p, e.Test)
	}
}

func (r *report) forget(p *pkgState, test string) {
	delete(p.running, test)
	delete(p.output, test)
}

func (r *report) handlePackage(e event, p *pkgState) {
	switch e.Action {
	case "start":
		p.start = time.Now()
	case "output":
		p.pkgOut = append(p.pkgOut, e.Output)
	case "pass", "skip", "fail":
		p.done = true
		r.donePkgs++
		if e.Action == "fail" {
			r.badPkgs++
			// Everything the package printed outside its tests: a leak
			// report from TestMain, a panic, a timeout's goroutine dump.
			for _, l := range p.pkgOut {
				if l == "PASS\n" || l == "FAIL\n" || strings.HasPrefix(l, "FAIL\t") {
					continue
				}
				r.printf("    %s", l)
			}
			// Tests still running when the binary died (a timeout or
			// a crash) never get an event of their own: name them and
			// show what they printed.
			for _, name := range sortedKeys(p.running) {
				r.printf("--- unfinished: %s %s (running %s when the package ended)\n",
					short(e.Package), name, time.Since(p.running[name]).Round(time.Second))
				for _, l := range p.output[name] {
					if !isNoise(l) {
						r.printf("    %s", l)
					}
				}
			}
		}
		// go test's own summary line for the package, as without -json.
		for _, l := range p.pkgOut {
			if strings.HasPrefix(l, "ok  ") || strings.HasPrefix(l, "FAIL\t") || strings.HasPrefix(l, "?   ") {
				r.printf("%s", l)
			}
		}
		if e.Action == "fail" && len(p.failures) > 0 {
			r.printf("      failed: %s\n", strings.Join(p.failures, " "))
		}
		p.running = nil
		p.output = nil
		p.pkgOut = nil
	}
}

// heartbeat prints what is running whenever nothing has been printed for
// every, until stop is closed.
func (r *report) heartbeat(every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		r.mu.Lock()
		if time.Since(r.lastOut) >= every {
			r.printf("  ... %s: %s\n", time.Since(r.start).Round(time.Second), r.runningLocked())
		}
		r.mu.Unlock()
	}
}

// runningLocked describes the running packages and their longest-running
// top-level tests.
func (r *report) runningLocked() string {
	var parts []string
	now := time.Now()
	for _, name := range r.order {
		p := r.pkgs[name]
		if p.done {
			continue
		}
		var tests []string
		for t := range p.running {
			if !strings.Contains(t, "/") {
				tests = append(tests, t)
			}
		}
		sort.Slice(tests, func(i, j int) bool { return p.running[tests[i]].Before(p.running[tests[j]]) })
		desc := short(name)
		if len(tests) > 0 {
			var ts []string
			for i, t := range tests {
				if i == 3 {
					ts = append(ts, fmt.Sprintf("+%d more", len(tests)-3))
					break
				}
				ts = append(ts, fmt.Sprintf("%s %s", t, now.Sub(p.running[t]).Round(time.Second)))
			}
			desc += " (" + strings.Join(ts, ", ") + ")"
		}
		parts = append(parts, desc)
	}
	if len(parts) == 0 {
		return "building"
	}
	return "running " + strings.Join(parts, "; ")
}

// finish prints the summary line and reports whether everything passed.
func (r *report) finish() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Build failures with no build-fail event (older toolchains) still
	// count: their output is printed here.
	for _, path := range sortedKeys(r.builds) {
		r.printf("%s", strings.Join(r.builds[path], ""))
	}
	for _, name := range r.order {
		if p := r.pkgs[name]; !p.done {
			// The stream ended before the package did: go test was killed.
			r.badPkgs++
			r.printf("FAIL\t%s\t(no result: the run ended first)\n", name)
		}
	}
	for _, reason := range r.skipOrder {
		tests := r.skips[reason]
		list := strings.Join(tests[:min(len(tests), 3)], ", ")
		if len(tests) > 3 {
			list += fmt.Sprintf(", and %d more", len(tests)-3)
		}
		r.printf("  skipped %d: %s (%s)\n", len(tests), reason, list)
	}
	ok := r.failed == 0 && r.badPkgs == 0
	r.printf("%s: %d passed, %d failed, %d skipped (%d packages, %s)\n",
		r.phase, r.passed, r.failed, r.skipped, len(r.order), time.Since(r.start).Round(time.Second))
	return ok
}

// isNoise reports whether l is one of the framing lines go test prints for
// every test, which say nothing a failure report needs.
func isNoise(l string) bool {
	return strings.HasPrefix(l, "=== RUN") || strings.HasPrefix(l, "=== PAUSE") ||
		strings.HasPrefix(l, "=== CONT") || strings.HasPrefix(l, "=== NAME")
}

// skipReason returns the message a skipped test gave, on one line,
// without the file:line prefix, so that equal reasons group together.
func skipReason(lines []string) string {
	var msg []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || isNoise(l) || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		msg = append(msg, fileLine.ReplaceAllString(t, ""))
	}
	if len(msg) == 0 {
		return "(no reason given)"
	}
	s := strings.Join(msg, " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// fileLine matches the "name_test.go:12: " prefix of t.Log output.
var fileLine = regexp.MustCompile(`^[\w.-]+\.go:\d+: `)

// short drops the module path from a package name.
func short(pkg string) string {
	const mod = "github.com/mpconn/mpconn"
	if pkg == mod {
		return "mpconn"
	}
	return strings.TrimPrefix(pkg, mod+"/")
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
