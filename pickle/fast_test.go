package pickle

import "testing"

// TestIsASCII checks isASCII, which reads short slices a word at a time,
// with one non-ASCII byte at every position of slices of every length up
// to 20.
func TestIsASCII(t *testing.T) {
	for n := 0; n <= 20; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a' + byte(i)
		}
		if !isASCII(b) {
			t.Errorf("isASCII(%q) = false", b)
		}
		for i := range b {
			c := b[i]
			b[i] = 0x80 | c
			if isASCII(b) {
				t.Errorf("isASCII(%q) = true", b)
			}
			b[i] = c
		}
	}
}
