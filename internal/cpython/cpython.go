// Package cpython finds the CPython interpreters installed on this machine
// so that tests can use them as conformance peers.
//
// Interpreters are looked up, in order, in $MPCONN_PYTHONS (a list of
// interpreter paths separated by the OS list separator), in pyenv's
// versions directory ($PYENV_ROOT or ~/.pyenv), and as python2/python3 on
// $PATH. The first interpreter found for each major.minor version wins.
package cpython

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Wanted lists the versions the project promises to interoperate with.
// A test run over [Each] reports every one of them: run, or skipped with
// a message saying it is not installed.
var Wanted = []string{"2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"}

// Python is one interpreter.
type Python struct {
	Version string // major.minor, e.g. "3.12"
	Full    string // full version, e.g. "3.12.1"
	Major   int
	Minor   int
	Path    string // absolute path of the executable (node, for Pyodide)

	// Pyodide: CPython compiled to WebAssembly, run by Node.js with the
	// script Runner (see [Pyodide]). It has standard input and output and
	// the host's files, but no sockets, no subprocesses and no inherited
	// descriptors.
	Pyodide bool
	Runner  string // Pyodide only: the path of run.mjs
}

func (p Python) String() string {
	if p.Pyodide {
		return "python" + p.Full + " (pyodide)"
	}
	return "python" + p.Full
}

// AtLeast reports whether p is version major.minor or later.
func (p Python) AtLeast(major, minor int) bool {
	return p.Major > major || (p.Major == major && p.Minor >= minor)
}

// Command returns a command that runs script (Python source) with args.
// The interpreter runs unbuffered (-u) and ignores user site packages (-s).
func (p Python) Command(ctx context.Context, script string, args ...string) *exec.Cmd {
	a := append([]string{"-u", "-s", "-c", script}, args...)
	if p.Pyodide {
		a = append([]string{p.Runner, "-c", script}, args...)
	}
	cmd := exec.CommandContext(ctx, p.Path, a...)
	cmd.Env = append(os.Environ(), "PYTHONHASHSEED=0", "PYTHONDONTWRITEBYTECODE=1")
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Output runs script with args, with a timeout, and returns its standard
// output. Standard error is included in the returned error.
func (p Python) Output(timeout time.Duration, script string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := p.Command(ctx, script, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %w; stderr:\n%s", p, err, stderr.String())
	}
	return out, nil
}

var (
	findOnce sync.Once
	found    []Python
)

// Find returns the interpreters found, one per major.minor version, sorted
// from oldest to newest.
func Find() []Python {
	findOnce.Do(func() { found = find() })
	return found
}

// Get returns the interpreter for version ("3.12"), if installed.
func Get(version string) (Python, bool) {
	for _, p := range Find() {
		if p.Version == version {
			return p, true
		}
	}
	return Python{}, false
}

// Each runs fn in a subtest named after each version in [Wanted]. A
// version that is not installed gets a subtest that is skipped with a
// message saying so, so a missing interpreter is always visible in the test
// output and never passes silently. If none is installed, t fails unless
// MPCONN_ALLOW_NO_PYTHON=1 is set.
func Each(t *testing.T, fn func(t *testing.T, py Python)) {
	t.Helper()
	any := false
	for _, v := range Wanted {
		if why := unselected(v); why != "" {
			t.Run("py"+v, func(t *testing.T) { t.Skip(why) })
			continue
		}
		py, ok := Get(v)
		if !ok {
			t.Run("py"+v, func(t *testing.T) {
				if v == pyodideVersion {
					t.Skipf("CPython %s is not installed natively: skipped (this test needs what Pyodide's %s lacks: sockets, subprocesses or inherited descriptors)", v, v)
				}
				t.Skipf("CPython %s is not installed on this machine: skipped", v)
			})
			continue
		}
		any = true
		t.Run("py"+v, func(t *testing.T) { fn(t, py) })
	}
	if !any && os.Getenv("MPCONN_ALLOW_NO_PYTHON") != "1" {
		t.Fatal("no CPython interpreter found (set MPCONN_PYTHONS or install pyenv versions; MPCONN_ALLOW_NO_PYTHON=1 to allow)")
	}
}

// VersionsEnv, when set, narrows [Each] and [EachWithPyodide] to some
// versions: a comma-separated list of them ("3.8,3.13"), or "newest" for
// the newest interpreter installed natively. The other versions' subtests
// are skipped, saying so. scripts/test sets it where each interpreter
// start costs seconds (the arm32 phase, under emulation); unset, every
// installed version runs.
const VersionsEnv = "MPCONN_PYTHON_VERSIONS"

// unselected returns why [VersionsEnv] leaves version v out, or "".
func unselected(v string) string {
	env := strings.TrimSpace(os.Getenv(VersionsEnv))
	if env == "" {
		return ""
	}
	for _, s := range strings.Split(env, ",") {
		switch s = strings.TrimSpace(s); {
		case s == v:
			return ""
		case s == "newest":
			if all := Find(); len(all) > 0 && all[len(all)-1].Version == v {
				return ""
			}
		}
	}
	return fmt.Sprintf("CPython %s is not selected by %s=%s (unset, every installed version runs)", v, VersionsEnv, env)
}

func find() []Python {
	var candidates []string
	if env := os.Getenv("MPCONN_PYTHONS"); env != "" {
		candidates = append(candidates, filepath.SplitList(env)...)
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		if home, err := os.UserHomeDir(); err == nil {
			root = filepath.Join(home, ".pyenv")
		}
	}
	if root != "" {
		if dirs, err := os.ReadDir(filepath.Join(root, "versions")); err == nil {
			for _, d := range dirs {
				for _, exe := range []string{"python3", "python2", "python"} {
					p := filepath.Join(root, "versions", d.Name(), "bin", exe)
					if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
						candidates = append(candidates, p)
						break
					}
				}
			}
		}
	}
	for _, exe := range []string{"python3", "python2"} {
		if p, err := exec.LookPath(exe); err == nil {
			candidates = append(candidates, p)
		}
	}
	seen := map[string]bool{}
	var out []Python
	for _, c := range candidates {
		py, err := probe(c)
		if err != nil || seen[py.Version] {
			continue
		}
		seen[py.Version] = true
		out = append(out, py)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Major != out[j].Major {
			return out[i].Major < out[j].Major
		}
		return out[i].Minor < out[j].Minor
	})
	return out
}

func probe(path string) (Python, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-c",
		"import sys; print('%d.%d.%d' % sys.version_info[:3])").Output()
	if err != nil {
		return Python{}, err
	}
	full := strings.TrimSpace(string(out))
	parts := strings.Split(full, ".")
	if len(parts) != 3 {
		return Python{}, fmt.Errorf("cpython: odd version %q from %s", full, path)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return Python{}, fmt.Errorf("cpython: odd version %q from %s", full, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return Python{Version: parts[0] + "." + parts[1], Full: full, Major: major, Minor: minor, Path: abs}, nil
}
