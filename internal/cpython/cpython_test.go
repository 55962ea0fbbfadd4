package cpython

import (
	"strings"
	"testing"
	"time"
)

func TestEachRunsInstalledInterpreters(t *testing.T) {
	Each(t, func(t *testing.T, py Python) {
		out, err := py.Output(30*time.Second, "import sys; sys.stdout.write('%d.%d' % sys.version_info[:2])")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != py.Version {
			t.Fatalf("%s reports version %q", py.Path, got)
		}
	})
}
