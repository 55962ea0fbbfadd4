package cpython

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// PyodideDirEnv names the variable that overrides the directory holding
// Pyodide's package.json, run.mjs and node_modules.
const PyodideDirEnv = "MPCONN_PYODIDE"

// PyodideInstall is the command that installs Pyodide for the tests.
const PyodideInstall = "bash scripts/pyodide-install"

var (
	pyodideOnce sync.Once
	pyodidePy   Python
	pyodideErr  error
)

// Pyodide returns the CPython that Pyodide runs under Node.js: a version
// this machine may have no native interpreter of (Pyodide 314.0.8 is
// CPython 3.14.2). It is installed by [PyodideInstall] (npm, from the
// package.json and lock in internal/cpython/testdata/pyodide), and needs
// Node.js 18 or later. The error says what is missing.
func Pyodide() (Python, error) {
	pyodideOnce.Do(func() { pyodidePy, pyodideErr = findPyodide() })
	return pyodidePy, pyodideErr
}

func pyodideDir() string {
	if d := os.Getenv(PyodideDirEnv); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	return filepath.Join(filepath.Dir(file), "testdata", "pyodide")
}

func findPyodide() (Python, error) {
	dir := pyodideDir()
	runner := filepath.Join(dir, "run.mjs")
	if _, err := os.Stat(runner); err != nil {
		return Python{}, fmt.Errorf("pyodide: no runner: %w", err)
	}
	lock, err := os.ReadFile(filepath.Join(dir, "node_modules", "pyodide", "pyodide-lock.json"))
	if err != nil {
		return Python{}, fmt.Errorf("pyodide is not installed (run %s): %w", PyodideInstall, err)
	}
	var info struct {
		Info struct {
			Python string `json:"python"`
		} `json:"info"`
	}
	if err := json.Unmarshal(lock, &info); err != nil {
		return Python{}, fmt.Errorf("pyodide: reading pyodide-lock.json: %w", err)
	}
	full := info.Info.Python
	parts := strings.Split(full, ".")
	if len(parts) != 3 {
		return Python{}, fmt.Errorf("pyodide: odd Python version %q in pyodide-lock.json", full)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return Python{}, fmt.Errorf("pyodide: odd Python version %q in pyodide-lock.json", full)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return Python{}, fmt.Errorf("pyodide needs Node.js, which is not installed: %w", err)
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return Python{}, fmt.Errorf("pyodide: %s --version: %w", node, err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	nodeMajor, _ := strconv.Atoi(strings.Split(v, ".")[0])
	if nodeMajor < 18 {
		return Python{}, fmt.Errorf("pyodide needs Node.js 18 or later; %s is %s", node, v)
	}
	return Python{
		Version: parts[0] + "." + parts[1], Full: full, Major: major, Minor: minor,
		Path: node, Pyodide: true, Runner: runner,
	}, nil
}

// EachWithPyodide is [Each] for tests whose Python side needs only
// standard input and output and files (or FIFOs through Node, as
// testdata/py/auth_peer.py does): a wanted version with no native
// interpreter is run under [Pyodide] when Pyodide has that version, in a
// subtest named "pyX.Y-pyodide". Where Pyodide cannot run, the subtest is
// skipped with the reason (Node.js or the package missing, and how to
// install it).
func EachWithPyodide(t *testing.T, fn func(t *testing.T, py Python)) {
	t.Helper()
	pyo, perr := Pyodide()
	any := false
	for _, v := range Wanted {
		if why := unselected(v); why != "" {
			t.Run("py"+v, func(t *testing.T) { t.Skip(why) })
			continue
		}
		if py, ok := Get(v); ok {
			any = true
			t.Run("py"+v, func(t *testing.T) { fn(t, py) })
			continue
		}
		switch {
		case perr == nil && pyo.Version == v:
			any = true
			t.Run("py"+v+"-pyodide", func(t *testing.T) { fn(t, pyo) })
		case perr != nil && v == pyodideVersion:
			t.Run("py"+v+"-pyodide", func(t *testing.T) {
				t.Skipf("CPython %s is not installed natively, and %v: skipped", v, perr)
			})
		default:
			t.Run("py"+v, func(t *testing.T) {
				t.Skipf("CPython %s is not installed on this machine: skipped", v)
			})
		}
	}
	if !any && os.Getenv("MPCONN_ALLOW_NO_PYTHON") != "1" {
		t.Fatal("no CPython interpreter found (set MPCONN_PYTHONS or install pyenv versions; MPCONN_ALLOW_NO_PYTHON=1 to allow)")
	}
}

// pyodideVersion is the Python version of the Pyodide package that
// testdata/pyodide/package.json pins.
const pyodideVersion = "3.14"
