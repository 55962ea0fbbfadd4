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

func TestVersionsEnv(t *testing.T) {
	t.Setenv(VersionsEnv, "3.8, 3.13")
	for v, want := range map[string]bool{"3.8": true, "3.13": true, "3.9": false, "2.7": false, "3.1": false} {
		why := unselected(v)
		if (why == "") != want {
			t.Errorf("%s=%q: unselected(%q) = %q", VersionsEnv, "3.8, 3.13", v, why)
		}
		if why != "" && !strings.Contains(why, "not selected by "+VersionsEnv+"=3.8, 3.13") {
			t.Errorf("unselected(%q) = %q: does not say why", v, why)
		}
	}
	t.Setenv(VersionsEnv, "newest")
	all := Find()
	for i, py := range all {
		if got := unselected(py.Version) == ""; got != (i == len(all)-1) {
			t.Errorf("%s=newest: %s selected: %v, want %v", VersionsEnv, py, got, !got)
		}
	}
	t.Setenv(VersionsEnv, "")
	for _, v := range Wanted {
		if why := unselected(v); why != "" {
			t.Errorf("%s unset: unselected(%q) = %q", VersionsEnv, v, why)
		}
	}
}
