package pickle

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
)

// The seed corpus in testdata/fuzz/Fuzz*/ holds small pickles made by
// CPython 2.7, 3.6, 3.8 and 3.13 at every protocol they support, without
// duplicates (written by TestWriteFuzzSeeds); the spec vectors are added here as well.

func addSeeds(f *testing.F) {
	for _, tc := range specVectors() {
		b, _ := hex.DecodeString(tc.hex)
		f.Add(b)
	}
}

// FuzzDecode: no input may panic, hang or allocate without bound; the
// streaming decoder (fed a byte at a time) agrees with Unmarshal; what
// decodes must encode.
func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var v, w any
		err := Unmarshal(data, &v)
		err2 := NewDecoder(&oneByteReader{bytes.NewReader(data)}).Decode(&w)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Unmarshal: %v; Decoder: %v", err, err2)
		}
		if err != nil {
			return
		}
		if !Equal(v, w) {
			t.Fatalf("Unmarshal gave %#v, Decoder %#v", v, w)
		}
		if _, err := Marshal(v); err != nil {
			if _, ok := err.(*UnsupportedValueError); ok {
				return // e.g. a str that only protocol 0 text can carry
			}
			if _, ok := err.(*LimitError); ok {
				return
			}
			t.Fatalf("decoded %#v but cannot encode it: %v", v, err)
		}
	})
}

// FuzzRoundTrip: decode, encode, decode again gives an equal value, and
// encoding that again gives the same bytes.
func FuzzRoundTrip(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if err := Unmarshal(data, &v); err != nil {
			return
		}
		for _, p := range []int{2, 3, 4, 5} {
			b, err := MarshalProtocol(v, p)
			if err != nil {
				return
			}
			var w any
			if err := Unmarshal(b, &w); err != nil {
				t.Fatalf("protocol %d: cannot decode our own output %x: %v", p, b, err)
			}
			if !Equal(v, w) {
				if p < 3 && hasPython2Name(v, map[any]bool{}) {
					// Below protocol 3 a Python 2 name (from a pickle
					// of protocol 3 or more, where it is not mapped)
					// reads back as its Python 3 name, in CPython too.
					continue
				}
				t.Fatalf("protocol %d: round trip changed %#v into %#v", p, v, w)
			}
			b2, err := MarshalProtocol(w, p)
			if err != nil || string(b2) != string(b) {
				t.Fatalf("protocol %d: re-encoding differs: %x vs %x (%v)", p, b, b2, err)
			}
		}
	})
}

// hasPython2Name reports whether v holds a Global whose name the decoder
// maps to a Python 3 name below protocol 3 (its module, or the first part
// of a dotted name, is a Python 2 name).
func hasPython2Name(v any, seen map[any]bool) bool {
	switch x := v.(type) {
	case Global:
		first, _, _ := strings.Cut(x.Name, ".")
		_, a := nameMapping2to3[x]
		_, b := nameMapping2to3[Global{x.Module, first}]
		_, c := importMapping2to3[x.Module]
		return a || b || c
	case []any:
		if len(x) == 0 || seen[&x[0]] {
			return false
		}
		seen[&x[0]] = true
		for _, e := range x {
			if hasPython2Name(e, seen) {
				return true
			}
		}
	case Tuple:
		for _, e := range x {
			if hasPython2Name(e, seen) {
				return true
			}
		}
	case *Dict:
		if seen[x] {
			return false
		}
		seen[x] = true
		for _, it := range x.Items() {
			if hasPython2Name(it.Key, seen) || hasPython2Name(it.Value, seen) {
				return true
			}
		}
	case *Set, *FrozenSet:
		if seen[x] {
			return false
		}
		seen[x] = true
		for _, e := range x.(interface{ Items() []any }).Items() {
			if hasPython2Name(e, seen) {
				return true
			}
		}
	case *Object:
		if seen[x] {
			return false
		}
		seen[x] = true
		parts := []any{x.Callable, x.Args, x.State, x.ListItems}
		if x.Kwargs != nil {
			parts = append(parts, x.Kwargs)
		}
		for _, it := range x.DictItems {
			parts = append(parts, it.Key, it.Value)
		}
		for _, e := range parts {
			if hasPython2Name(e, seen) {
				return true
			}
		}
	}
	return false
}

// TestWriteFuzzSeeds regenerates the seed corpus from CPython when
// MPCONN_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("MPCONN_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set MPCONN_WRITE_FUZZ_SEEDS=1 to regenerate testdata/fuzz seeds from CPython")
	}
	seen := map[string]bool{}
	for _, v := range []string{"2.7", "3.6", "3.8", "3.13"} {
		py, ok := cpython.Get(v)
		if !ok {
			t.Fatalf("CPython %s is needed to write the seeds", v)
		}
		recs := parseRecords(t, corpusPy(t, py, "dump", nil))
		n := 0
		for _, r := range recs {
			if len(r.data) > 1024 || seen[string(r.data)] {
				continue
			}
			seen[string(r.data)] = true
			for _, target := range []string{"FuzzDecode", "FuzzRoundTrip"} {
				dir := filepath.Join("testdata", "fuzz", target)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprintf("cpython%s-p%d-%03d", v, r.proto, n)
				body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(r.data)) + ")\n"
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			n++
		}
		t.Logf("%s: %d seeds", py, n)
	}
}
