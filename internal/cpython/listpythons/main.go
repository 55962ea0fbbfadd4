// Command listpythons prints the CPython interpreters the interop tests
// will use, and the wanted versions that are missing (their tests are
// skipped), so that a test run says so up front.
package main

import (
	"fmt"

	"github.com/mpconn/mpconn/internal/cpython"
)

func main() {
	fmt.Println("CPython peers for the interop tests:")
	for _, v := range cpython.Wanted {
		if py, ok := cpython.Get(v); ok {
			fmt.Printf("  %-5s %s (%s)\n", v, py.Full, py.Path)
		} else if pyo, err := cpython.Pyodide(); err == nil && pyo.Version == v {
			fmt.Printf("  %-5s %s under Pyodide (%s): pickle and handshake tests only; the others are skipped\n", v, pyo.Full, pyo.Runner)
		} else {
			fmt.Printf("  %-5s not installed: its interop subtests are skipped\n", v)
		}
	}
	if _, err := cpython.Pyodide(); err != nil {
		fmt.Printf("  Pyodide: %v\n", err)
	}
}
