package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
)

// probePython runs the interpreter named by cmd (a path, or a name looked
// up in $PATH) to learn its version.
func probePython(cmd string) (cpython.Python, error) {
	path, err := exec.LookPath(cmd)
	if err != nil {
		return cpython.Python{}, err
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-c",
		"import sys; print('%d.%d.%d' % sys.version_info[:3])").Output()
	if err != nil {
		return cpython.Python{}, fmt.Errorf("%s: %w", cmd, err)
	}
	full := strings.TrimSpace(string(out))
	parts := strings.Split(full, ".")
	if len(parts) != 3 {
		return cpython.Python{}, fmt.Errorf("%s: odd version %q", cmd, full)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return cpython.Python{}, fmt.Errorf("%s: odd version %q", cmd, full)
	}
	return cpython.Python{
		Version: parts[0] + "." + parts[1], Full: full,
		Major: major, Minor: minor, Path: path,
	}, nil
}

// pythons returns the interpreters named by cmds, or every one found when
// cmds is empty.
func pythons(cmds []string) ([]cpython.Python, error) {
	if len(cmds) == 0 {
		return cpython.Find(), nil
	}
	var ps []cpython.Python
	for _, c := range cmds {
		p, err := probePython(c)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// NewestPython returns the newest interpreter of ps.
func NewestPython(ps []cpython.Python) (cpython.Python, bool) {
	if len(ps) == 0 {
		return cpython.Python{}, false
	}
	best := ps[0]
	for _, p := range ps[1:] {
		if p.AtLeast(best.Major, best.Minor) {
			best = p
		}
	}
	return best, true
}
