package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// stream encodes events as go test -json would write them.
func stream(t *testing.T, events ...event) string {
	t.Helper()
	var b strings.Builder
	for _, e := range events {
		j, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

const pkgA = "github.com/mpconn/mpconn"
const pkgB = "github.com/mpconn/mpconn/pickle"

func runReport(t *testing.T, input string) (string, bool) {
	t.Helper()
	var out bytes.Buffer
	r := newReport(&out, "race", 10*time.Second)
	if err := r.read(strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	ok := r.finish()
	return out.String(), ok
}

func TestReportPassingRun(t *testing.T) {
	in := stream(t,
		event{Action: "start", Package: pkgA},
		event{Action: "run", Package: pkgA, Test: "TestFast"},
		event{Action: "output", Package: pkgA, Test: "TestFast", Output: "=== RUN   TestFast\n"},
		event{Action: "output", Package: pkgA, Test: "TestFast", Output: "--- PASS: TestFast (0.00s)\n"},
		event{Action: "pass", Package: pkgA, Test: "TestFast", Elapsed: 0.01},
		event{Action: "run", Package: pkgA, Test: "TestSlow"},
		event{Action: "pass", Package: pkgA, Test: "TestSlow", Elapsed: 12.5},
		event{Action: "run", Package: pkgA, Test: "TestPy/py3.14"},
		event{Action: "output", Package: pkgA, Test: "TestPy/py3.14", Output: "    cpython.go:104: CPython 3.14 is not installed\n"},
		event{Action: "output", Package: pkgA, Test: "TestPy/py3.14", Output: "--- SKIP: TestPy/py3.14 (0.00s)\n"},
		event{Action: "skip", Package: pkgA, Test: "TestPy/py3.14"},
		event{Action: "output", Package: pkgA, Output: "PASS\n"},
		event{Action: "output", Package: pkgA, Output: "ok  \tgithub.com/mpconn/mpconn\t13.1s\n"},
		event{Action: "pass", Package: pkgA, Elapsed: 13.1},
	)
	out, ok := runReport(t, in)
	if !ok {
		t.Errorf("a passing run reported failure:\n%s", out)
	}
	for _, want := range []string{
		"  slow  12.5s    mpconn TestSlow\n",
		"ok  \tgithub.com/mpconn/mpconn\t13.1s\n",
		"  skipped 1: CPython 3.14 is not installed (mpconn TestPy/py3.14)\n",
		"race: 2 passed, 0 failed, 1 skipped (1 packages, ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "TestFast") {
		t.Errorf("a fast passing test was reported:\n%s", out)
	}
	if !strings.HasPrefix(lastLine(out), "race: ") {
		t.Errorf("last line %q is not the summary", lastLine(out))
	}
}

func TestReportFailures(t *testing.T) {
	in := stream(t,
		event{Action: "start", Package: pkgA},
		event{Action: "run", Package: pkgA, Test: "TestBad"},
		event{Action: "output", Package: pkgA, Test: "TestBad", Output: "=== RUN   TestBad\n"},
		event{Action: "output", Package: pkgA, Test: "TestBad", Output: "    x_test.go:9: want 1, got 2\n"},
		event{Action: "output", Package: pkgA, Test: "TestBad", Output: "--- FAIL: TestBad (0.10s)\n"},
		event{Action: "fail", Package: pkgA, Test: "TestBad", Elapsed: 0.1},
		event{Action: "output", Package: pkgA, Output: "FAIL\n"},
		event{Action: "output", Package: pkgA, Output: "FAIL\tgithub.com/mpconn/mpconn\t1.0s\n"},
		event{Action: "fail", Package: pkgA, Elapsed: 1},
		// A package whose binary died in a test: a timeout's panic.
		event{Action: "start", Package: pkgB},
		event{Action: "run", Package: pkgB, Test: "TestHang"},
		event{Action: "output", Package: pkgB, Test: "TestHang", Output: "    y_test.go:3: waiting\n"},
		event{Action: "output", Package: pkgB, Output: "panic: test timed out after 1m0s\n"},
		event{Action: "output", Package: pkgB, Output: "FAIL\tgithub.com/mpconn/mpconn/pickle\t60.0s\n"},
		event{Action: "fail", Package: pkgB, Elapsed: 60},
	)
	out, ok := runReport(t, in)
	if ok {
		t.Errorf("a failing run reported success:\n%s", out)
	}
	for _, want := range []string{
		"--- FAIL: mpconn TestBad (100ms)\n",
		"x_test.go:9: want 1, got 2\n",
		"FAIL\tgithub.com/mpconn/mpconn\t1.0s\n",
		"      failed: TestBad\n",
		"panic: test timed out after 1m0s\n",
		"--- unfinished: pickle TestHang",
		"y_test.go:3: waiting\n",
		"FAIL\tgithub.com/mpconn/mpconn/pickle\t60.0s\n",
		"race: 0 passed, 1 failed, 0 skipped (2 packages, ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "=== RUN") {
		t.Errorf("framing lines in the report:\n%s", out)
	}
}

func TestReportBuildFailureAndCutRun(t *testing.T) {
	in := stream(t,
		event{Action: "build-output", ImportPath: pkgA + " [" + pkgA + ".test]", Output: "./x.go:1:1: syntax error\n"},
		event{Action: "build-fail", ImportPath: pkgA + " [" + pkgA + ".test]"},
		event{Action: "start", Package: pkgA},
		event{Action: "output", Package: pkgA, Output: "FAIL\tgithub.com/mpconn/mpconn [build failed]\n"},
		event{Action: "fail", Package: pkgA, FailedBuild: pkgA + " [" + pkgA + ".test]"},
		// A package that never finished: go test was killed.
		event{Action: "start", Package: pkgB},
		event{Action: "run", Package: pkgB, Test: "TestX"},
	) + "not json\n"
	out, ok := runReport(t, in)
	if ok {
		t.Errorf("a failing run reported success:\n%s", out)
	}
	for _, want := range []string{
		"./x.go:1:1: syntax error\n",
		"FAIL\tgithub.com/mpconn/mpconn [build failed]\n",
		"not json\n",
		"FAIL\tgithub.com/mpconn/mpconn/pickle\t(no result: the run ended first)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestReportRunning(t *testing.T) {
	var out bytes.Buffer
	r := newReport(&out, "race", 10*time.Second)
	if got := r.runningLocked(); got != "building" {
		t.Errorf("before any package: %q", got)
	}
	r.read(strings.NewReader(stream(t,
		event{Action: "start", Package: pkgA},
		event{Action: "run", Package: pkgA, Test: "TestLong"},
		event{Action: "run", Package: pkgA, Test: "TestLong/sub"},
	)))
	got := r.runningLocked()
	if !strings.HasPrefix(got, "running mpconn (TestLong ") || strings.Contains(got, "sub") {
		t.Errorf("running: %q", got)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return lines[len(lines)-1]
}
