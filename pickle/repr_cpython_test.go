package pickle

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
)

// reprScript pickles values at every protocol it has from 2 up and prints,
// for each, the pickle (base64) and repr() of the value, as JSON.
const reprScript = `
import base64, datetime, decimal, json, pickle, sys
rec = []
rec.append(rec)
d = {'k': 1}
d['self'] = d
values = [
    None, True, False, 0, -7, 2**100, -2**70, 1.5, -0.0, 1e100, 1e-7, float('inf'),
    '', 'plain', "it's", 'both \'"', 'tab\there\n', '\xe9\u2028\U0001f600', '\x00\x7f',
    b'', b'bytes\x00\xff', b"it's", bytearray(), bytearray(b'ab\x00'),
    (), (1,), (1, 'a', (2,)), [], [1, [2, 'x']], rec,
    {}, {'a': (1, 2), 3: [None]}, d, {(1, 2): frozenset({5})},
    set(), {1}, {3, 1, 2}, {'only'}, frozenset(), frozenset({1, 2}),
    datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
    datetime.time(12, 30), datetime.timedelta(days=1, seconds=5),
    datetime.datetime(2000, 2, 29, tzinfo=datetime.timezone.utc),
    [{'nested': ({1}, frozenset(), bytearray(b'\n'))}],
]
out = []
for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
    for v in values:
        out.append([proto, base64.b64encode(pickle.dumps(v, proto)).decode('ascii'), repr(v)])
print(json.dumps(out))
`

// TestReprCPython decodes values CPython pickled and checks that Repr,
// and fmt's %v and %s of the model types, print what CPython's repr()
// printed for the same values.
func TestReprCPython(t *testing.T) {
	cpython.EachWithPyodide(t, func(t *testing.T, py cpython.Python) {
		if !py.AtLeast(3, 7) {
			t.Skipf("%s: reprs are Python 3.7+'s (Python 2 prints u'' and L; 3.6 prints timedelta differently)", py)
		}
		t.Parallel()
		stdout, err := py.Output(2*time.Minute, reprScript)
		if err != nil {
			t.Fatal(err)
		}
		var recs [][3]any
		if err := json.Unmarshal(stdout, &recs); err != nil {
			t.Fatalf("reading Python's output: %v", err)
		}
		if len(recs) < 100 {
			t.Fatalf("only %d values from Python", len(recs))
		}
		models := 0
		for _, r := range recs {
			proto, b64, want := r[0], r[1].(string), r[2].(string)
			data, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := Unmarshal(data, &v); err != nil {
				t.Errorf("protocol %v, %s: Unmarshal: %v", proto, want, err)
				continue
			}
			if got := Repr(v); got != want {
				t.Errorf("protocol %v: Repr = %s, Python's repr = %s", proto, got, want)
			}
			switch v.(type) {
			case *Dict, *Set, *FrozenSet, Tuple, ByteArray, *Object:
				models++
				for _, f := range []string{"%v", "%s"} {
					if got := fmt.Sprintf(f, v); got != want {
						t.Errorf("protocol %v: fmt %s of %T = %s, Python's repr = %s", proto, f, v, got, want)
					}
				}
				if got := fmt.Sprint(v); got != want {
					t.Errorf("protocol %v: fmt.Sprint of %T = %s, Python's repr = %s", proto, v, got, want)
				}
			}
		}
		if models == 0 {
			t.Fatal("no model-type values compared")
		}
		t.Logf("%s: %d reprs compared, %d of them also through fmt", py, len(recs), models)
	})
}

func TestFormatVerbs(t *testing.T) {
	ba := ByteArray("a\x00")
	tu := Tuple{int64(1), "a"}
	bs := ByteString("x'")
	for _, tc := range []struct{ got, want string }{
		{fmt.Sprintf("%v", ba), `bytearray(b'a\x00')`},
		{fmt.Sprintf("%x", ba), "6100"},
		{fmt.Sprintf("%#v", ba), `[]byte{0x61, 0x0}`},
		{fmt.Sprintf("%12s|", tu), "    (1, 'a')|"},
		{fmt.Sprintf("%-9v|", tu), "(1, 'a') |"},
		{fmt.Sprintf("%d", Tuple{int64(1)}), "[1]"},
		{fmt.Sprintf("%v", bs), `"x'"`},
		{fmt.Sprintf("%q", bs), `"x'"`},
		{fmt.Sprintf("%x", bs), "7827"},
		{fmt.Sprint(Global{Module: "collections", Name: "OrderedDict"}), "<global collections.OrderedDict>"},
		{fmt.Sprint((*Dict)(nil)), "None"},
		{fmt.Sprint(&Dict{}), "{}"},
		{fmt.Sprint([]any{dictOf("a", int64(1))}), "[{'a': 1}]"},
		{Repr(map[string]int{"a": 1}), "{'a': 1}"},
		{Repr(struct{ A []int }{[]int{1, 2}}), "{'A': [1, 2]}"},
		{Repr(make(chan int)), "<Go chan int "},
	} {
		if tc.got != tc.want && !(strings.HasSuffix(tc.want, " ") && strings.HasPrefix(tc.got, tc.want)) {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}

func TestMapKeyErrorMessage(t *testing.T) {
	b, err := Marshal(map[string]any{"a": "x"})
	if err != nil {
		t.Fatal(err)
	}
	var keys map[int]string
	err = Unmarshal(b, &keys)
	if want := "pickle: cannot unmarshal Python str into Go map key a of type int"; err == nil || err.Error() != want {
		t.Errorf("map key: err = %v, want %s", err, want)
	}
	var vals map[string]int
	err = Unmarshal(b, &vals)
	if want := "pickle: cannot unmarshal Python str into Go map value a of type int"; err == nil || err.Error() != want {
		t.Errorf("map value: err = %v, want %s", err, want)
	}
	var st struct{ M map[int]int }
	b, _ = Marshal(map[string]any{"M": map[string]any{"k": 1}})
	err = Unmarshal(b, &st)
	if want := "pickle: cannot unmarshal Python str into Go map key M.k of type int"; err == nil || err.Error() != want {
		t.Errorf("nested map key: err = %v, want %s", err, want)
	}
}
