package pickle

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
)

// TestFromGoMatchesCPython checks, against every installed CPython, that
// the model values fromGo makes are the Python values the mapping
// promises. The opcode encoder is not part of this test: each model value
// is rendered as a Python expression that builds what unpickling it would
// give (REDUCE is a call, GLOBAL an import), and CPython compares that,
// strictly (types included, dict order included from 3.6), with the
// Python value written by hand. For objects (datetime) CPython also checks
// that its own pickler reduces the expected value to the same callable and
// arguments, so an encoder writing the model's REDUCE matches CPython's
// pickle.
func TestFromGoMatchesCPython(t *testing.T) {
	type inner struct {
		A int
		B string `pickle:"bee"`
	}
	type embedded struct{ E int }
	type outer struct {
		Name  string `pickle:"name"`
		Skip  int    `pickle:"-"`
		Opt   string `pickle:",omitempty"`
		Inner inner
		P     *inner
		L     []int
		NilL  []int
		M     map[string]float64
		embedded
	}
	cases := []struct {
		name    string
		in      any
		python  string // the expected Python value
		py3only bool   // datetime.timezone does not exist in Python 2
		reduce  bool   // also compare with CPython's __reduce_ex__(4)
	}{
		{name: "struct", in: outer{Name: "n", Skip: 1, Inner: inner{1, "b"}, L: []int{1, 2}, M: map[string]float64{"y": 2, "x": 0.5}, embedded: embedded{3}},
			python: "{u'name': u'n', u'Inner': {u'A': 1, u'bee': u'b'}, u'P': None, u'L': [1, 2], u'NilL': None, u'M': {u'x': 0.5, u'y': 2.0}, u'E': 3}"},
		{name: "unicode", in: "h\u00e9\U0001F600", python: "u'h\\xe9' + u'\\U0001F600'"},
		{name: "bytes", in: []byte{0, 'a', 0xff}, python: "b'\\x00a\\xff'"},
		{name: "byte array", in: [2]byte{1, 2}, python: "b'\\x01\\x02'"},
		{name: "bytearray", in: ByteArray("ab"), python: "bytearray(b'ab')"},
		{name: "ints", in: []any{int8(-128), uint64(math.MaxUint64), int64(math.MinInt64), uint32(1 << 31)},
			python: "[-128, 18446744073709551615, -9223372036854775808, 2147483648]"},
		{name: "big", in: new(big.Int).Lsh(big.NewInt(-1), 100), python: "-(2**100)"},
		{name: "floats", in: []any{float32(0.1), math.Inf(-1), math.Copysign(0, -1), 1e300}, python: "[0.10000000149011612, float('-inf'), -0.0, 1e300]"},
		{name: "bool and None", in: []any{true, false, nil, (*int)(nil)}, python: "[True, False, None, None]"},
		{name: "complex", in: complex(3, -4), python: "complex(3, -4)"},
		{name: "array keys are tuples", in: map[[2]int]string{{1, 2}: "a", {0, 5}: "b"}, python: "{(0, 5): u'b', (1, 2): u'a'}"},
		{name: "mixed keys", in: map[any]bool{"s": true, 2: false, 1.5: true, [1]string{"t"}: false},
			python: "{1.5: True, 2: False, u's': True, (u't',): False}"},
		{name: "model containers", in: Tuple{1, []any{Tuple{}}, dictOf(Tuple{int64(1), "k"}, Global{"builtins", "len"})},
			python: "(1, [()], {(1, u'k'): len})"},
		{name: "sets", in: func() any {
			s, f := NewSet(), NewFrozenSet()
			_ = s.Add(int64(1))
			_ = f.Add("a")
			return []any{s, f}
		}(), python: "[set([1]), frozenset([u'a'])]"},
		{name: "datetime utc", in: time.Date(2020, 1, 2, 3, 4, 5, 6789123, time.UTC),
			python: "datetime.datetime(2020, 1, 2, 3, 4, 5, 6789, tzinfo=datetime.timezone.utc)", py3only: true, reduce: true},
		{name: "datetime west", in: time.Date(1969, 7, 20, 20, 17, 40, 0, time.FixedZone("EDT", -4*3600)),
			python: "datetime.datetime(1969, 7, 20, 20, 17, 40, tzinfo=datetime.timezone(datetime.timedelta(hours=-4)))", py3only: true, reduce: true},
		{name: "datetime east", in: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", 5*3600+45*60)),
			python: "datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=45)))", py3only: true, reduce: true},
		{name: "datetime year 1", in: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
			python: "datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc)", py3only: true, reduce: true},
	}

	type pyCase struct {
		Name   string `json:"name"`
		Mine   string `json:"mine"`
		Want   string `json:"want"`
		Reduce string `json:"reduce,omitempty"` // (callable, args) of the model object
		Py3    bool   `json:"py3"`
	}
	var pcs []pyCase
	for _, c := range cases {
		m, err := fromGo(reflect.ValueOf(c.in))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		src, err := pySource(m)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		pc := pyCase{Name: c.name, Mine: src, Want: c.python, Py3: c.py3only}
		if c.reduce {
			o := m.(*Object)
			callable, err1 := pySource(o.Callable)
			args, err2 := pySource(o.Args)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: %v %v", c.name, err1, err2)
			}
			pc.Reduce = "(" + callable + ", " + args + ")"
		}
		pcs = append(pcs, pc)
	}
	data, err := json.Marshal(pcs)
	if err != nil {
		t.Fatal(err)
	}
	script := pyPrelude + `
import json, datetime
ORDERED = sys.version_info >= (3, 6)
def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        if ORDERED and not all(same(x, y) for x, y in zip(a, b)):
            return False
        return all(k in b and same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (set, frozenset)):
        return a == b and all(any(same(x, y) for y in b) for x in a)
    if isinstance(a, float):
        if a != a:
            return b != b
        return repr(a) == repr(b)
    if isinstance(a, datetime.datetime):
        return a == b and a.utcoffset() == b.utcoffset() and (a.tzinfo is b.tzinfo or a.tzinfo == b.tzinfo)
    return a == b
for c in json.loads(sys.argv[1]):
    if c['py3'] and PY2:
        print('skip %s' % c['name'])
        continue
    try:
        mine = eval(c['mine'])
        want = eval(c['want'])
        ok = same(mine, want)
        detail = '%r != %r' % (mine, want)
        if ok and c.get('reduce'):
            red = eval(c['reduce'])
            theirs = want.__reduce_ex__(4)[:2]
            ok = same(red, theirs)
            detail = 'reduce %r != CPython %r' % (red, theirs)
    except Exception as e:
        ok, detail = False, 'exception %r' % (e,)
    if ok:
        print('ok %s' % c['name'])
    else:
        print('FAIL %s: %s' % (c['name'], detail))
`
	cpython.EachWithPyodide(t, func(t *testing.T, py cpython.Python) {
		t.Parallel()
		out, err := py.Output(60*time.Second, script, string(data))
		if err != nil {
			t.Fatal(err)
		}
		py3only := map[string]bool{}
		for _, c := range pcs {
			py3only[c.Name] = c.Py3
		}
		seen := map[string]bool{}
		for line := range strings.Lines(string(out)) {
			line = strings.TrimSpace(line)
			status, rest, _ := strings.Cut(line, " ")
			name, _, _ := strings.Cut(rest, ":")
			seen[name] = true
			switch status {
			case "ok":
			case "skip":
				if !py3only[name] || py.Major != 2 {
					t.Errorf("%s: skipped on %s", name, py)
				}
				t.Logf("%s: not run: aware datetimes need datetime.timezone (Python 3)", name)
			default:
				t.Errorf("%s", line)
			}
		}
		for _, c := range pcs {
			if !seen[c.Name] {
				t.Errorf("%s: no result from %s", c.Name, py)
			}
		}
	})
}

// TestAssignTimeFromCPython decodes the datetime states CPython's own
// __reduce_ex__ gives, for awkward dates and offsets, and compares them
// with the instant and offset CPython reports.
func TestAssignTimeFromCPython(t *testing.T) {
	script := `
import sys, datetime, binascii
D = datetime.datetime
vals = [D(2020, 2, 29, 23, 59, 59, 999999), D(1, 1, 1), D(9999, 12, 31, 23, 59, 59, 999999)]
if sys.version_info >= (3, 2):
    tz = datetime.timezone
    vals += [
        D(9999, 12, 31, 23, 59, 59, 999999, tzinfo=tz.utc),
        D(2021, 11, 7, 1, 30, tzinfo=tz(datetime.timedelta(hours=-5), 'EST')),
        D(1970, 1, 1, tzinfo=tz(datetime.timedelta(hours=13, minutes=45))),
        D(2000, 6, 15, 12, tzinfo=tz(-datetime.timedelta(hours=23, minutes=59))),
    ]
if sys.version_info >= (3, 6):
    vals.append(D(2021, 11, 7, 1, 30, fold=1))
for v in vals:
    cls, args = v.__reduce_ex__(2)[:2]
    off, name, offsecs = 'none', '', 0
    if len(args) == 2:
        targs = args[1].__reduce_ex__(2)[1]
        d = targs[0]
        off = '%d,%d,%d' % (d.days, d.seconds, d.microseconds)
        if len(targs) == 2:
            name = targs[1]
        offsecs = d.days * 86400 + d.seconds
    # Microseconds since the epoch of the instant, a naive value read as UTC.
    d = v.replace(tzinfo=None) - D(1970, 1, 1)
    epoch_us = (d.days * 86400 + d.seconds - offsecs) * 10**6 + d.microseconds
    print('%s %s %d %d %s' % (binascii.hexlify(args[0]).decode(), off, epoch_us, offsecs, name or '-'))
`
	cpython.EachWithPyodide(t, func(t *testing.T, py cpython.Python) {
		t.Parallel()
		want := 8 // 3 naive, 4 aware, 1 with fold
		if !py.AtLeast(3, 6) {
			want = 3 // Python 2 has no datetime.timezone
		}
		out, err := py.Output(60*time.Second, script)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for line := range strings.Lines(string(out)) {
			var hexState, off, name string
			var epochUS, offSecs int64
			if _, err := fmt.Sscan(line, &hexState, &off, &epochUS, &offSecs, &name); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			state, err := hex.DecodeString(hexState)
			if err != nil {
				t.Fatal(err)
			}
			args := Tuple{state}
			if off != "none" {
				var days, secs, us int64
				if _, err := fmt.Sscanf(off, "%d,%d,%d", &days, &secs, &us); err != nil {
					t.Fatal(err)
				}
				tzArgs := Tuple{&Object{Kind: Reduce, Callable: Global{"datetime", "timedelta"}, Args: Tuple{days, secs, us}}}
				if name != "-" {
					tzArgs = append(tzArgs, name)
				}
				args = append(args, &Object{Kind: Reduce, Callable: Global{"datetime", "timezone"}, Args: tzArgs})
			}
			got, err := assignInto[time.Time](&Object{Kind: Reduce, Callable: Global{"datetime", "datetime"}, Args: args})
			if err != nil {
				t.Errorf("%s: %v", strings.TrimSpace(line), err)
				continue
			}
			_, goff := got.Zone()
			if got.UnixMicro() != epochUS || int64(goff) != offSecs {
				t.Errorf("%s: got %v (%d µs, offset %d)", strings.TrimSpace(line), got, got.UnixMicro(), goff)
			}
			if zn, _ := got.Zone(); name != "-" && zn != name {
				t.Errorf("%s: zone name %q", strings.TrimSpace(line), zn)
			}
			n++
		}
		if n != want {
			t.Errorf("%d datetimes checked, want %d", n, want)
		}
	})
}
