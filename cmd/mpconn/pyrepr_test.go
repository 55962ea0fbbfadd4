package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"

	"github.com/mpconn/mpconn/internal/cpython"
	"github.com/mpconn/mpconn/pickle"
)

// python3 runs fn for every installed CPython, with a visible skip for
// Python 2, whose repr differs from Python 3's by design (u prefixes on str,
// L suffixes, no b prefix on bytes).
func python3(t *testing.T, fn func(t *testing.T, py cpython.Python)) {
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		if !py.AtLeast(3, 0) {
			t.Skipf("%s: repr compared with Python 3 only (Python 2 prints u'', L and no b'')", py)
		}
		fn(t, py)
	})
}

// pyJSON runs script with Python, giving it input as JSON in argv[1],
// and returns the JSON list of strings it prints.
func pyJSON(t *testing.T, py cpython.Python, script string, input any) []string {
	t.Helper()
	var got []string
	pyJSONInto(t, py, script, input, &got)
	return got
}

// pyJSONInto runs script with input as JSON in argv[1] and decodes the
// JSON it prints into out.
func pyJSONInto(t *testing.T, py cpython.Python, script string, input, out any) {
	t.Helper()
	arg, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := py.Output(testTimeout, script, string(arg))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("reading Python's output %q: %v", stdout, err)
	}
}

// TestLiteralReprCPython: for every literal of the table that Python
// reads, Python's repr(eval(literal)) is the Go parse and render of the
// same literal (and the table's expected text).
func TestLiteralReprCPython(t *testing.T) {
	var lits []string
	for _, tc := range literalCases {
		if !tc.json {
			lits = append(lits, tc.lit)
		}
	}
	const script = `
import json, sys
print(json.dumps([repr(eval(s, {"__builtins__": {"float": float, "set": set, "frozenset": frozenset, "bytearray": bytearray}})) for s in json.loads(sys.argv[1])]))
`
	python3(t, func(t *testing.T, py cpython.Python) {
		got := pyJSON(t, py, script, lits)
		if len(got) != len(lits) {
			t.Fatalf("Python printed %d reprs for %d literals", len(got), len(lits))
		}
		for i, lit := range lits {
			v, err := parseLiteral(lit)
			if err != nil {
				t.Errorf("parseLiteral(%q): %v", lit, err)
				continue
			}
			if mine := pyRepr(v); mine != got[i] {
				t.Errorf("%q: Go prints %s, Python %s", lit, mine, got[i])
			}
		}
	})
}

// TestInvalidLiteralsCPython: what the parser refuses, Python refuses too,
// except the rows marked as Python expressions this parser does not take.
func TestInvalidLiteralsCPython(t *testing.T) {
	var lits []string
	for _, tc := range invalidLiterals {
		if strings.ToValidUTF8(tc.lit, "") == tc.lit {
			lits = append(lits, tc.lit)
		}
	}
	const script = `
import json, sys, ast
out = []
for s in json.loads(sys.argv[1]):
    try:
        eval(s, {"__builtins__": {"float": float, "set": set, "len": len}})
        out.append("accepted")
    except Exception as e:
        out.append("refused")
print(json.dumps(out))
`
	python3(t, func(t *testing.T, py cpython.Python) {
		got := pyJSON(t, py, script, lits)
		i := 0
		for _, tc := range invalidLiterals {
			if strings.ToValidUTF8(tc.lit, "") != tc.lit {
				continue
			}
			want := "refused"
			if tc.pythonAccepts {
				want = "accepted"
			}
			if got[i] != want {
				t.Errorf("Python %s %q; the table says %s", got[i], tc.lit, want)
			}
			i++
		}
	})
}

// TestPyFloatCPython: floats print as Python's repr prints them, for
// special values, powers of ten around the notation switches and random
// bit patterns.
func TestPyFloatCPython(t *testing.T) {
	fs := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 0.5, 1.5, 100, 1e15, 1e16, 1e17, 9999999999999998,
		1e-4, 1e-5, 1.5e-5, 0.00012345, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64,
		2.2250738585072014e-308, math.Pi, math.E, math.Inf(1), math.Inf(-1), math.NaN(), 1 << 53, 1<<53 + 2}
	for e := -30; e <= 30; e++ {
		fs = append(fs, math.Pow(10, float64(e)), 1.25*math.Pow(10, float64(e)))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		fs = append(fs, math.Float64frombits(rng.Uint64()))
	}
	for range 1000 {
		fs = append(fs, float64(rng.Int64N(1<<40))/float64(int64(1)<<rng.IntN(60)))
	}
	bits := make([]string, len(fs))
	for i, f := range fs {
		bits[i] = fmt.Sprintf("%016x", math.Float64bits(f))
	}
	const script = `
import json, sys, struct, binascii
print(json.dumps([repr(struct.unpack(">d", binascii.unhexlify(h))[0]) for h in json.loads(sys.argv[1])]))
`
	python3(t, func(t *testing.T, py cpython.Python) {
		got := pyJSON(t, py, script, bits)
		for i, f := range fs {
			if mine := pickle.Repr(f); mine != got[i] {
				t.Errorf("float %s (%v): Go prints %s, Python %s", bits[i], f, mine, got[i])
			}
		}
	})
}

// TestPyStrCPython: every character below U+0800 and a selection above,
// alone and with quotes, prints as Python prints it. Characters that the
// Python's Unicode database does not have yet (category Cn) are left out:
// Go's tables (unicode.Version) may be newer and know them.
func TestPyStrCPython(t *testing.T) {
	var cps []int
	for c := 0; c < 0x800; c++ {
		cps = append(cps, c)
	}
	cps = append(cps, 0x1680, 0x2000, 0x200b, 0x2028, 0x2029, 0x20ac, 0x3000, 0x65e5, 0xd800, 0xdbff,
		0xdc00, 0xdfff, 0xe000, 0xf8ff, 0xfeff, 0xfffd, 0xffff, 0x10000, 0x1f600, 0xe0001, 0xf0000, 0x10ffff)
	const script = `
import json, sys, unicodedata
out = []
for c in json.loads(sys.argv[1]):
    ch = chr(c)
    out += [unicodedata.category(ch), repr(ch), repr("'" + ch), repr("'\"" + ch), repr(ch.encode("utf-8", "surrogatepass"))]
print(json.dumps(out))
`
	python3(t, func(t *testing.T, py cpython.Python) {
		got := pyJSON(t, py, script, cps)
		skipped := 0
		for i, c := range cps {
			cat, got := got[5*i], got[5*i+1:5*i+5]
			if cat == "Cn" && unicode.IsPrint(rune(c)) {
				skipped++
				continue
			}
			var b strings.Builder
			writeCodePoint(&b, rune(c))
			ch := b.String()
			mine := []string{pickle.Repr(ch), pickle.Repr("'" + ch), pickle.Repr("'\"" + ch), pickle.Repr([]byte(ch))}
			for k, m := range mine {
				if m != got[k] {
					t.Errorf("U+%04X form %d: Go prints %s, Python %s", c, k, m, got[k])
				}
			}
		}
		t.Logf("%d characters unassigned in this Python's Unicode database left out", skipped)
	})
}

// TestPyReprPicklesCPython: values built in Python (recursive, shared,
// every protocol) and pickled there print in Go as Python prints them.
func TestPyReprPicklesCPython(t *testing.T) {
	exprs := []string{
		"[1, 'a', b'b', 2.5, None, True, (1,), {'k': {1, 2}}, frozenset([3]), bytearray(b'x')]",
		"a = []; a.append(a); obj = a",
		"a = [1]; a.append([a, (a,)]); obj = a",
		"d = {}; d['self'] = d; d['l'] = [d]; obj = d",
		"x = [1, 2]; obj = [x, x, (x, x)]",
		"obj = {(1, 'a'): [2 ** 100, -2 ** 63, 1e100, -0.0]}",
		"obj = ['\\ud800', '\\U0001f600', 'it\\'s', 'a\"b', '\\x00\\n']",
		"obj = set(range(5))",
	}
	const script = `
import json, sys, pickle
out = []
for e in json.loads(sys.argv[1]):
    env = {}
    if e.startswith("["):
        e = "obj = " + e
    exec(e, env)
    obj = env["obj"]
    out.append([repr(obj)] + [pickle.dumps(obj, p).hex() for p in range(pickle.HIGHEST_PROTOCOL + 1)])
print(json.dumps(out))
`
	python3(t, func(t *testing.T, py cpython.Python) {
		var got [][]string
		pyJSONInto(t, py, script, exprs, &got)
		if len(got) != len(exprs) {
			t.Fatalf("Python printed %d results for %d values", len(got), len(exprs))
		}
		for _, row := range got {
			want := row[0]
			for _, h := range row[1:] {
				data, err := hex.DecodeString(h)
				if err != nil {
					t.Fatal(err)
				}
				var v any
				if err := pickle.Unmarshal(data, &v); err != nil {
					t.Errorf("decoding Python's pickle of %s: %v", want, err)
					continue
				}
				if mine := pyRepr(v); mine != want {
					t.Errorf("protocol %d: Go prints %s, Python %s", pickle.Protocol(data), mine, want)
				}
			}
		}
	})
}

// TestPyReprObjects: the documented forms of values without a Python
// repr.
func TestPyReprObjects(t *testing.T) {
	kw := pickle.NewDict()
	kw.Set("tz", nil)
	kw.Set("not an identifier", int64(1))
	state := pickle.NewDict()
	state.Set("x", int64(1))
	self := &pickle.Object{Callable: pickle.Global{Module: "__main__", Name: "Node"}, HasState: true}
	selfState := pickle.NewDict()
	selfState.Set("next", self)
	self.State = selfState
	for _, tc := range []struct {
		v    any
		want string
	}{
		{pickle.Global{Module: "builtins", Name: "float"}, "<global builtins.float>"},
		{&pickle.Object{Callable: pickle.Global{Module: "datetime", Name: "date"}, Args: pickle.Tuple{[]byte("\x07\xe8\x01\x02")}},
			`datetime.date(2024, 1, 2)`},
		{&pickle.Object{Callable: pickle.Global{Module: "datetime", Name: "date"}, Args: pickle.Tuple{[]byte("\x07\xe8\x0d\x02")}},
			`datetime.date(b'\x07\xe8\r\x02')`}, // month 13: the generic form
		{&pickle.Object{Callable: pickle.Global{Module: "datetime", Name: "datetime"}, Args: pickle.Tuple{pickle.ByteString("\x07\xe8\x01\x02\x03\x04\x05\x00\x00\x06")}},
			`datetime.datetime(2024, 1, 2, 3, 4, 5, 6)`}, // from Python 2
		{&pickle.Object{Callable: pickle.Global{Module: "datetime", Name: "timedelta"}, Args: pickle.Tuple{int64(1), int64(86400), int64(0)}},
			`datetime.timedelta(1, 86400, 0)`}, // out of range: the generic form
		{&pickle.Object{Kind: pickle.NewObjEx, Callable: pickle.Global{Module: "m", Name: "C"}, Args: pickle.Tuple{int64(1)}, Kwargs: kw},
			"m.C(1, tz=None, **{'not an identifier': 1})"},
		{&pickle.Object{Kind: pickle.NewObj, Callable: pickle.Global{Module: "__main__", Name: "Point"}, HasState: true, State: state},
			"__main__.Point().__setstate__({'x': 1})"},
		{&pickle.Object{Callable: pickle.Global{Module: "collections", Name: "OrderedDict"}, DictItems: []pickle.Item{{Key: "a", Value: int64(1)}}},
			"collections.OrderedDict().update({'a': 1})"},
		{&pickle.Object{Callable: pickle.Global{Module: "m", Name: "L"}, ListItems: []any{int64(1), "x"}},
			"m.L().extend([1, 'x'])"},
		{&pickle.Object{Callable: &pickle.Object{Callable: pickle.Global{Module: "builtins", Name: "getattr"}, Args: pickle.Tuple{pickle.Global{Module: "m", Name: "A"}, "B"}}},
			"builtins.getattr(<global m.A>, 'B')()"},
		{self, "__main__.Node().__setstate__({'next': ...})"},
		{pickle.ByteString("it's\xff"), `"it's\xff"`},
	} {
		if got := pyRepr(tc.v); got != tc.want {
			t.Errorf("pyRepr = %s, want %s", got, tc.want)
		}
	}
}

// TestPyReprDatetimeCPython: the datetime module's values, pickled by
// Python at every protocol, print as Python prints what it unpickles.
// Python 3.6 prints timedelta with positional arguments, so there values
// whose repr shows a timedelta are left out.
func TestPyReprDatetimeCPython(t *testing.T) {
	exprs := []string{
		"date(2024, 1, 2)", "date.min", "date.max",
		"datetime(2024, 1, 2, 3, 4)", "datetime(2024, 1, 2, 3, 4, 5)", "datetime(2024, 1, 2, 3, 4, 5, 6)",
		"datetime(2024, 1, 2, 0, 0, 0, 999999)", "datetime.max",
		"datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc)",
		"datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5)))",
		"datetime(2024, 1, 2, tzinfo=timezone(timedelta(hours=1), 'CET'))",
		"datetime(2024, 11, 3, 1, 30, fold=1)",
		"time(1, 2)", "time()", "time(1, 2, 3, 4, tzinfo=timezone.utc)", "time(0, 0, fold=1)",
		"timedelta(0)", "timedelta(days=-1, seconds=5)", "timedelta(microseconds=1)",
		"timedelta(999999999, 86399, 999999)", "timedelta.min",
		"timezone.utc", "timezone(timedelta(hours=5, minutes=30))",
		"[date(2000, 2, 29), {'t': time(23, 59, 59)}]",
	}
	const script = `
import json, sys, pickle
from datetime import date, datetime, time, timedelta, timezone
out = []
for e in json.loads(sys.argv[1]):
    obj = eval(e)
    row = []
    for p in range(pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps(obj, p)
        row.append([repr(pickle.loads(data)), data.hex()])
    out.append(row)
print(json.dumps(out))
`
	python3(t, func(t *testing.T, py cpython.Python) {
		var got [][][2]string
		pyJSONInto(t, py, script, exprs, &got)
		if len(got) != len(exprs) {
			t.Fatalf("Python printed %d results for %d values", len(got), len(exprs))
		}
		for i, row := range got {
			for proto, pair := range row {
				if !py.AtLeast(3, 7) && strings.Contains(pair[0], "timedelta") {
					continue
				}
				data, err := hex.DecodeString(pair[1])
				if err != nil {
					t.Fatal(err)
				}
				var v any
				if err := pickle.Unmarshal(data, &v); err != nil {
					t.Errorf("%s, protocol %d: %v", exprs[i], proto, err)
					continue
				}
				if mine := pyRepr(v); mine != pair[0] {
					t.Errorf("%s, protocol %d: Go prints %s, Python %s", exprs[i], proto, mine, pair[0])
				}
			}
		}
	})
}
