package pickle

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
				t.Fatalf("protocol %d: round trip changed %#v into %#v", p, v, w)
			}
			b2, err := MarshalProtocol(w, p)
			if err != nil || string(b2) != string(b) {
				t.Fatalf("protocol %d: re-encoding differs: %x vs %x (%v)", p, b, b2, err)
			}
		}
	})
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
