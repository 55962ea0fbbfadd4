package npipe

import (
	"strings"
	"testing"
)

func TestIsAddress(t *testing.T) {
	for addr, want := range map[string]bool{
		`\\.\pipe\demo`:         true,
		`\\server\pipe\demo`:    true,
		`\\`:                    true,
		`\pipe\demo`:            false,
		`/tmp/sock`:             false,
		`localhost:5000`:        false,
		``:                      false,
		"\x00abstract":          false,
		`C:\Users\me\pipe\sock`: false,
	} {
		if got := IsAddress(addr); got != want {
			t.Errorf("IsAddress(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestUniqueName(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		n := UniqueName(42)
		if !strings.HasPrefix(n, `\\.\pipe\mpconn-42-`) || !IsAddress(n) {
			t.Fatalf("UniqueName(42) = %q", n)
		}
		// mpconn-PID-COUNTER-16 hex digits
		parts := strings.Split(strings.TrimPrefix(n, Prefix), "-")
		if len(parts) != 4 || len(parts[3]) != 16 {
			t.Fatalf("UniqueName(42) = %q: want mpconn-PID-N-RANDOM", n)
		}
		if seen[n] {
			t.Fatalf("UniqueName repeated %q", n)
		}
		seen[n] = true
	}
}
