package shm

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// sampleValues has every kind of item, with strs and bytes around the
// slot sizes.
func sampleValues() []any {
	return []any{
		int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64),
		1.5, math.Inf(-1), true, false, nil,
		"", "a", "abcdefg", "abcdefgh", "ü€😀", []byte{}, []byte{0, 1}, bytes.Repeat([]byte("x"), 8),
	}
}

func encodeT(t *testing.T, layout Layout, vals ...any) []byte {
	t.Helper()
	size, err := ListSize(layout, vals...)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, size)
	n, err := EncodeList(p, layout, vals...)
	if err != nil || n != size {
		t.Fatalf("EncodeList: %d, %v; size %d", n, err, size)
	}
	return p
}

func TestListRoundTrip(t *testing.T) {
	for _, layout := range []Layout{Layout39, Layout38} {
		t.Run(layout.String(), func(t *testing.T) {
			vals := sampleValues()
			p := encodeT(t, layout, vals...)
			l, err := ParseList(p)
			if err != nil {
				t.Fatal(err)
			}
			if l.Len() != len(vals) || l.Layout() != layout {
				t.Fatalf("len %d layout %v", l.Len(), l.Layout())
			}
			got, err := l.Values()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, vals) {
				t.Fatalf("got %#v\nwant %#v", got, vals)
			}
			f, err := l.Format()
			if err != nil {
				t.Fatal(err)
			}
			if want := "qqqqdd" + fmtBool + fmtBool + fmtNone + "8s8s8s16s16s8s8s16s"; f != want {
				t.Fatalf("format %q, want %q", f, want)
			}
		})
	}
}

func TestListSizes(t *testing.T) {
	// Sizes CPython gives (3.9+: 8 + 8(N+1) + slots + 9N; 3.8: 8N less).
	cases := []struct {
		vals     []any
		l39, l38 int
	}{
		{nil, 16, 8},
		{[]any{int64(1)}, 8 + 16 + 8 + 9, 8 + 8 + 8 + 9},
		{[]any{"abcdefgh", nil}, 8 + 24 + 24 + 18, 8 + 16 + 24 + 18},
		// 7 code points, 14 UTF-8 bytes: CPython would cut it to 8; the
		// slot grows to hold it.
		{[]any{"ééééééé"}, 8 + 16 + 16 + 9, 8 + 8 + 16 + 9},
	}
	for _, c := range cases {
		for _, lc := range []struct {
			layout Layout
			want   int
		}{{Layout39, c.l39}, {Layout38, c.l38}} {
			got, err := ListSize(lc.layout, c.vals...)
			if err != nil || got != lc.want {
				t.Errorf("ListSize(%v, %q) = %d, %v; want %d", lc.layout, c.vals, got, err, lc.want)
			}
		}
	}
}

func TestListSetRules(t *testing.T) {
	p := encodeT(t, Layout39, int64(1), "abc", []byte("0123456789"), nil)
	l, err := ParseList(p)
	if err != nil {
		t.Fatal(err)
	}
	// Any kind replaces any other within the slot.
	steps := []struct {
		i int
		v any
	}{
		{0, "12345678"}, {0, 2.5}, {0, true}, {0, nil}, {0, []byte("xy")},
		{1, int64(7)}, {1, "abcdefgh"}, {2, "0123456789abcdef"}, {3, false}, {3, uint8(9)},
	}
	for _, s := range steps {
		if err := l.Set(s.i, s.v); err != nil {
			t.Fatalf("Set(%d, %#v): %v", s.i, s.v, err)
		}
		got, err := l.Get(s.i)
		want := s.v
		if u, ok := want.(uint8); ok {
			want = int64(u)
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Get(%d) after Set(%#v) = %#v, %v", s.i, s.v, got, err)
		}
	}
	// An int slot holds at most 8 bytes of text; a str slot its size.
	if err := l.Set(0, "123456789"); !errors.Is(err, ErrTooLong) {
		t.Fatalf("9 bytes into an 8-byte slot: %v", err)
	}
	if err := l.Set(2, strings.Repeat("z", 17)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("17 bytes into a 16-byte slot: %v", err)
	}
	var ve *ValueError
	for _, bad := range []any{uint64(math.MaxUint64), "\xff", []int{1}, struct{}{}} {
		if err := l.Set(1, bad); !errors.As(err, &ve) {
			t.Errorf("Set(%#v): %v, want a *ValueError", bad, err)
		}
	}
	if _, err := l.Get(4); !errors.Is(err, ErrIndex) {
		t.Fatalf("Get(4): %v", err)
	}
	if err := l.Set(-1, nil); !errors.Is(err, ErrIndex) {
		t.Fatalf("Set(-1): %v", err)
	}
	// Trailing NULs are lost, as in CPython.
	if err := l.Set(2, []byte("ab\x00\x00")); err != nil {
		t.Fatal(err)
	}
	if v, _ := l.Get(2); !bytes.Equal(v.([]byte), []byte("ab")) {
		t.Fatalf("got %q", v)
	}
	// A format longer than 8 characters cannot be stored.
	if _, err := ListSize(Layout39, strings.Repeat("x", maxSlot)); !errors.As(err, &ve) {
		t.Fatalf("a %d-byte str: %v", maxSlot, err)
	}
}

func TestParseListHostile(t *testing.T) {
	good := encodeT(t, Layout39, int64(1), "abc")
	cases := map[string]func(p []byte){
		"negative count": func(p []byte) { ne.PutUint64(p, 1<<63) },
		"huge count":     func(p []byte) { ne.PutUint64(p, 1<<40) },
		"offset past end": func(p []byte) {
			ne.PutUint64(p[16:], 1<<20)
		},
		"offsets backwards": func(p []byte) { ne.PutUint64(p[16:], 16); ne.PutUint64(p[24:], 8) },
	}
	for name, mutate := range cases {
		p := append([]byte{}, good...)
		mutate(p)
		var fe *FormatError
		if _, err := ParseList(p); !errors.As(err, &fe) {
			t.Errorf("%s: %v, want a *FormatError", name, err)
		}
	}
	for _, cut := range []int{0, 7, 20, len(good) - 1} {
		if _, err := ParseList(good[:cut]); err == nil {
			t.Errorf("list cut to %d bytes parsed", cut)
		}
	}
	// Formats and codes are checked at each access.
	l, err := ParseList(good)
	if err != nil {
		t.Fatal(err)
	}
	set := func(off int, b string) { copy(good[off:], b) }
	fmts := l.fmts
	for _, f := range []string{"99s\x00\x00\x00\x00\x00", "i\x00\x00\x00\x00\x00\x00\x00", "-1s\x00\x00\x00\x00\x00", "s\x00\x00\x00\x00\x00\x00\x00", "+8s\x00\x00\x00\x00\x00"} {
		set(fmts+8, f)
		var fe *FormatError
		if _, err := l.Get(1); !errors.As(err, &fe) {
			t.Errorf("format %q: %v", f, err)
		}
		if err := l.Set(1, "x"); !errors.As(err, &fe) {
			t.Errorf("Set over format %q: %v", f, err)
		}
	}
	set(fmts+8, "8s\x00\x00\x00\x00\x00\x00")
	for _, code := range []byte{0, 5, 0xff} {
		good[l.codes+1] = code
		if _, err := l.Get(1); err == nil {
			t.Errorf("code %d with format 8s read", code)
		}
	}
	good[l.codes] = codeStr
	if _, err := l.Get(0); err == nil {
		t.Error("code str with format q read")
	}
}

func FuzzParseList(f *testing.F) {
	for _, layout := range []Layout{Layout39, Layout38} {
		p := make([]byte, 4096)
		n, _ := EncodeList(p, layout, sampleValues()...)
		f.Add(p[:n])
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		l, err := ParseList(p)
		if err != nil {
			return
		}
		for i := 0; i < l.Len(); i++ {
			l.Get(i)
			l.Set(i, "x")
			l.Set(i, int64(i))
		}
		l.Format()
	})
}
