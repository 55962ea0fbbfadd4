package pickle

import (
	"strings"
	"testing"
)

// TestLongListSizing decodes long lists (whose array is sized from the
// input, see listCap, and trimmed when the guess was too large) followed
// by more or less data, and checks the values.
func TestLongListSizing(t *testing.T) {
	for _, n := range []int{63, 64, 999, 1000, 1001, 2500, 10000} {
		for _, tail := range []int{0, 10, 100000} {
			l := make([]any, n)
			for i := range l {
				l[i] = int64(i * 7)
				if i%5 == 0 {
					// Lists in the list are fixed up when the
					// pickle ends.
					l[i] = []any{int64(i), "x"}
				}
			}
			// Two lists, so that the first is followed by more items.
			v := Tuple{l, strings.Repeat("x", tail), append([]any(nil), l[:n/2]...)}
			data, err := Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var got any
			if err := Unmarshal(data, &got); err != nil {
				t.Fatalf("n=%d tail=%d: %v", n, tail, err)
			}
			if !Equal(got, v) {
				t.Fatalf("n=%d tail=%d: decoded value differs", n, tail)
			}
		}
	}
}
