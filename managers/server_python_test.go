package managers

import (
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
)

// TestServerPythonSmoke runs every SyncManager typeid from each CPython
// (2.7 included) against the Go server.
func TestServerPythonSmoke(t *testing.T) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		_, addr := startServer(t, nil)
		runPython(t, py, "smoke_client.py", addr)
	})
}

// TestServerPythonWorkload runs multi-process workloads (producers and
// consumers, a dict counter under a Lock, a Barrier and an Event, all
// passed to child processes) through the Go server, on the oldest and the
// newest CPython 3 found; spawn on the newest (children reconnect with the
// pickled tokens and the inherited authkey).
func TestServerPythonWorkload(t *testing.T) {
	var pys []cpython.Python
	for _, py := range cpython.Find() {
		if py.AtLeast(3, 6) {
			pys = append(pys, py)
		}
	}
	if len(pys) == 0 {
		t.Skip("no CPython 3 installed: skipped")
	}
	runs := []struct {
		py    cpython.Python
		start string
	}{{pys[0], "fork"}, {pys[len(pys)-1], "fork"}, {pys[len(pys)-1], "spawn"}}
	for _, r := range runs {
		t.Run(r.py.String()+"-"+r.start, func(t *testing.T) {
			_, addr := startServer(t, nil)
			runPython(t, r.py, "workload.py", addr, r.start)
		})
	}
}

// TestServerPythonNestedProxies stores proxies inside shared objects
// (CPython 3.9+ supports it; nested managed lists and dicts are in its
// documentation).
func TestServerPythonNestedProxies(t *testing.T) {
	py, ok := cpython.Get("3.12")
	if !ok {
		t.Skip("CPython 3.12 is not installed: skipped")
	}
	_, addr := startServer(t, nil)
	runPython(t, py, "nested.py", addr)
}
