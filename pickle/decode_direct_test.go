package pickle

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Targets of the direct decoding tests.

type ddInner struct {
	A int8
	B string `pickle:"bee"`
	P *float32
}

type ddEmbedded struct {
	E  uint16
	Sh string
}

type ddTarget struct {
	ID    int       `pickle:"id"`
	Name  string    `pickle:"name"`
	Vals  []float64 `pickle:"vals"`
	Small int8
	U     uint
	F32   float32
	On    bool
	Ptr   *int
	PP    **ddInner
	List  []ddInner
	Ptrs  []*ddInner
	Strs  []string
	Named []rtCelsius
	Inner ddInner
	Grid  [][]int
	Any   any
	M     map[string]int
	ddEmbedded
	*rtEmbeddedPtr
}

// ddPlain holds only types the direct path stores (ddTarget's Any, M and
// embedded pointer send it to the reference path).
type ddPlain struct {
	ID    int       `pickle:"id"`
	Name  string    `pickle:"name"`
	Vals  []float64 `pickle:"vals"`
	Small int8
	U     uint
	F32   float32
	On    bool
	Ptr   *int
	PP    **ddInner
	List  []ddInner
	Ptrs  []*ddInner
	Strs  []string
	Named []rtCelsius
	Inner ddInner
	Grid  [][]int
	Next  *ddPlain
	ddEmbedded
}

// ddTargets returns fresh and prefilled targets of several types.
func ddTargets() []any {
	pf := func(x float32) *float32 { return &x }
	seven := 7
	inner := &ddInner{A: 1, B: "old", P: pf(2)}
	return []any{
		new(benchStruct),
		&benchStruct{ID: 9, Name: "hello", Vals: make([]float64, 1, 10)},
		&benchStruct{ID: 9, Name: "old", Vals: make([]float64, 2)},
		new(ddTarget),
		&ddTarget{
			ID: 1, Name: "n", Vals: []float64{9, 9, 9, 9}, Ptr: &seven, PP: &inner,
			List: make([]ddInner, 1, 5), Strs: []string{"x"}, Inner: ddInner{A: 3, P: pf(1)},
			Grid: [][]int{{1}}, M: map[string]int{"k": 1}, ddEmbedded: ddEmbedded{E: 5},
		},
		new(ddPlain),
		&ddPlain{
			ID: 1, Name: "n", Vals: []float64{9, 9, 9, 9}, Ptr: &seven, PP: &inner,
			List: make([]ddInner, 1, 5), Strs: []string{"x"}, Inner: ddInner{A: 3, P: pf(1)},
			Grid: [][]int{{1}}, Next: &ddPlain{ID: 2}, ddEmbedded: ddEmbedded{E: 5},
		},
		new(*benchStruct),
		new([]float64),
		&[]float64{1, 2, 3, 4, 5},
		new([]int8),
		new([]uint),
		new([]string),
		new([]benchStruct),
		new([]*ddInner),
		new(string),
		new(int8),
		new(uint16),
		new(int),
		new(float32),
		new(float64),
		new(bool),
		new(*int),
		new(ddEmbedded),
	}
}

// cloneTarget returns a deep enough copy of a target (a new pointer to a
// copy of its value; pointers and slices inside are shared, so targets are
// rebuilt for each use).
func cloneTarget(i int) any { return ddTargets()[i] }

// checkDirectDecode decodes data into every target with Unmarshal and on
// the reference path, and checks that the results and errors agree.
func checkDirectDecode(t *testing.T, name string, data []byte) {
	t.Helper()
	for i := range ddTargets() {
		a, b := cloneTarget(i), cloneTarget(i)
		what := name + " into " + reflect.TypeOf(a).String() + " #" + strconv.Itoa(i)
		if msg := directMismatch(data, a, b); msg != "" {
			t.Errorf("%s: %s", what, msg)
		}
	}
}

// directMismatch decodes data into a with Unmarshal and into b (a target
// equal to a) on the reference path, and describes how the results or
// errors differ ("" when they agree).
func directMismatch(data []byte, a, b any) string {
	errA := Unmarshal(data, a)
	errB := unmarshalReference(data, b)
	if (errA == nil) != (errB == nil) || errA != nil && errA.Error() != errB.Error() {
		return fmt.Sprintf("error %v, reference path %v", errA, errB)
	}
	if reflect.TypeOf(errA) != reflect.TypeOf(errB) {
		return fmt.Sprintf("error of type %T, reference path %T", errA, errB)
	}
	if reflect.DeepEqual(a, b) {
		return ""
	}
	// Unequal, or holding NaNs: compare the pickles of the results,
	// which tell NaNs apart by their bits.
	pa, errA := marshalReference(a, 4)
	pb, errB := marshalReference(b, 4)
	if errA != nil || errB != nil || !bytes.Equal(pa, pb) {
		return fmt.Sprintf("results differ:\n got %+v (%x, %v)\nwant %+v (%x, %v)", deref(a), pa, errA, deref(b), pb, errB)
	}
	return ""
}

func deref(p any) any { return reflect.ValueOf(p).Elem().Interface() }

func ddValues() []struct {
	name string
	v    any
} {
	shared := "a str long enough to be memoized by identity"
	many := make([]any, 2500)
	for i := range many {
		many[i] = float64(i) / 7
	}
	manyDicts := make([]any, 1200)
	for i := range manyDicts {
		manyDicts[i] = dictOf("id", int64(i), "name", "n", "vals", []any{1.0})
	}
	bigDict := NewDict()
	for i := range 1000 {
		_ = bigDict.Set(strconv.Itoa(i), int64(i))
	}
	_ = bigDict.Set("id", int64(5))
	nested := func(levels int) any {
		var v any = dictOf("id", int64(levels))
		for i := range levels {
			v = dictOf("Next", v, "id", int64(i))
		}
		return v
	}
	return []struct {
		name string
		v    any
	}{
		{"bench", benchSmallDict()},
		{"nested 50", nested(50)},   // within the direct path's depth
		{"nested 150", nested(150)}, // beyond it: the reference path
		{"none", nil},
		{"int", int64(5)},
		{"negative int", int64(-300)},
		{"big int", new(big.Int).Lsh(big.NewInt(1), 70)},
		{"int64 max", int64(math.MaxInt64)},
		{"int32 edge", int64(math.MinInt32)},
		{"float", 2.5},
		{"float32 overflow", 1e300},
		{"inf", math.Inf(-1)},
		{"nan", math.NaN()},
		{"str", "héllo \xed\xa0\x80 surrogate"},
		{"long str", strings.Repeat("x", 300)},
		{"bool", true},
		{"list of floats", []any{1.5, int64(2), nil}},
		{"list of one", []any{1.5}},
		{"empty list", []any{}},
		{"many floats", many},
		{"list of strs", []any{shared, shared, "x", ""}},
		{"list of ints", []any{int64(1), int64(-128), int64(127), int64(128), int64(255), int64(70000)}},
		{"list of lists", []any{[]any{int64(1)}, []any{}, nil}},
		{"nested list in list", []any{[]any{[]any{1.0}}}},
		{"tuple", Tuple{1.5, 2.5}},
		{"bytes", []byte("ab")},
		{"empty dict", NewDict()},
		{"dict of one", dictOf("id", int64(3))},
		{"dict of one list", dictOf("vals", []any{1.0, 2.0})},
		{"extra keys", dictOf("id", int64(1), "zzz", []any{dictOf("q", []any{})}, "name", "n")},
		{"folded keys", dictOf("ID", int64(1), "NAME", "n", "VALS", []any{}, "small", int64(3))},
		{"duplicate field", dictOf("id", int64(1), "ID", int64(2))},
		{"wrong type", dictOf("id", "one", "name", "n")},
		{"none values", dictOf("id", nil, "name", nil, "vals", nil, "Ptr", nil, "PP", nil)},
		{"overflow", dictOf("Small", int64(300), "U", int64(-1))},
		{"float into int", dictOf("id", 1.0)},
		{"int into float", dictOf("F32", int64(3), "vals", []any{int64(1), 2.0})},
		{"bool into int", dictOf("id", true)},
		{"non-str key", dictOf(int64(1), int64(2), "id", int64(3))},
		{"pointers", dictOf("Ptr", int64(4), "PP", dictOf("A", int64(1), "bee", "b", "P", 1.5))},
		{"nested structs", dictOf("List", []any{dictOf("A", int64(1)), dictOf("bee", "x", "P", nil)},
			"Ptrs", []any{nil, dictOf("A", int64(2))}, "Inner", dictOf("A", int64(-1), "bee", shared), "name", shared)},
		{"empty inner then list", dictOf("Inner", NewDict(), "vals", []any{1.0, 2.0}, "Grid", []any{[]any{int64(1)}})},
		{"inner of one then list", dictOf("Inner", dictOf("A", int64(1)), "Strs", []any{"a"}, "Named", []any{1.0, 2.0})},
		{"embedded", dictOf("E", int64(7), "Sh", "s", "EP", "ep")},
		{"any and map", dictOf("Any", []any{int64(1)}, "M", dictOf("a", int64(1)))},
		{"list of dicts", []any{benchSmallDict(), benchSmallDict(), dictOf("id", int64(2), "vals", []any{})}},
		{"many dicts", manyDicts},
		{"big dict", bigDict},
		{"shared list", func() any { l := []any{1.0}; return dictOf("vals", l, "Named", l) }()},
		{"shared dict", func() any { d := dictOf("A", int64(1)); return dictOf("Inner", d, "PP", d) }()},
		{"set", func() any { s := NewSet(); _ = s.Add(int64(1)); return s }()},
		{"object", &Object{Kind: Reduce, Callable: Global{"m", "f"}, Args: Tuple{}}},
	}
}

func TestDirectDecodeMatchesReference(t *testing.T) {
	t.Parallel()
	for _, c := range ddValues() {
		for proto := 2; proto <= HighestProtocol; proto++ {
			data, err := MarshalProtocol(c.v, proto)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			checkDirectDecode(t, c.name+" protocol "+strconv.Itoa(proto), data)
		}
	}
	for _, c := range ddRaw() {
		checkDirectDecode(t, c.name, c.data)
	}
}

// ddRaw are pickles written by hand, in forms the encoder does not make.
func ddRaw() []struct {
	name string
	data []byte
} {
	h := func(s string) []byte {
		b, err := hexDecode(s)
		if err != nil {
			panic(err)
		}
		return b
	}
	return []struct {
		name string
		data []byte
	}{
		// {'id': 1} then a trailing SETITEM after a batch, as Python 2 writes.
		{"trailing setitem", h("80027d7100285802000000696471014b0155046e616d6571025805000000" + "68656c6c6f" + "7103" + "75" + "5804000000" + "76616c73" + "71045d7105" + "73" + "2e")},
		{"no proto", []byte("}q\x00(X\x02\x00\x00\x00idq\x01K\x05u.")},
		{"binput out of order", []byte("\x80\x02}q\x05(X\x02\x00\x00\x00idq\x01K\x05u.")},
		{"binget", []byte("\x80\x02]q\x00(X\x01\x00\x00\x00aq\x01h\x01h\x01e.")},
		{"binget missing", []byte("\x80\x02]q\x00(X\x01\x00\x00\x00aq\x01h\x01h\x07e.")},
		{"binget of list", []byte("\x80\x02]q\x00(]q\x01h\x01e.")},
		{"frame mid", []byte("\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00]\x94(\x95\x04\x00\x00\x00\x00\x00\x00\x00K\x01K\x02e.")},
		{"frame too long", []byte("\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02e.")},
		{"bad utf8", []byte("\x80\x04\x8c\x02\xff\xfe\x94.")},
		{"bad utf8 in ignored value", []byte("\x80\x04}\x94\x8c\x01z\x94\x8c\x01\xff\x94s.")},
		{"unhashable key in ignored value", []byte("\x80\x04}\x94\x8c\x01z\x94}\x94]\x94K\x01ss.")},
		{"odd setitems", []byte("\x80\x04}\x94(\x8c\x02id\x94u.")},
		{"truncated", []byte("\x80\x04}\x94(\x8c\x02id\x94K")},
		{"no stop", []byte("\x80\x04K\x01")},
		{"proto 6", []byte("\x80\x06K\x01.")},
		{"trailing data", []byte("\x80\x04K\x01.garbage")},
		{"stack left over", []byte("\x80\x04K\x01K\x02.")},
		{"mark left open", []byte("\x80\x04(K\x01.")},
		{"long1", []byte("\x80\x02\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f.")},
		{"long1 9 bytes", []byte("\x80\x02\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00.")},
		{"long1 empty", []byte("\x80\x02\x8a\x00.")},
		{"binint negative", []byte("\x80\x02J\xff\xff\xff\xff.")},
		{"memoize after mark", []byte("\x80\x04]\x94(\x94K\x01e.")},
		{"double memoize", []byte("\x80\x04\x8c\x01a\x94\x94]\x94(h\x00h\x01e.")},
		{"one item then batch", []byte("\x80\x04]\x94K\x01a(K\x02e.")},
		{"dict one then batch", []byte("\x80\x04}\x94\x8c\x02id\x94K\x01s(\x8c\x04name\x94\x8c\x01xu.")},
		{"same key twice, pointer", []byte("\x80\x04}\x94(\x8c\x02PP\x94}\x94\x8c\x01A\x94K\x01s\x8c\x02PP\x94}\x94\x8c\x03bee\x94\x8c\x01xsu.")},
		{"same key twice, folded between", []byte("\x80\x04}\x94(\x8c\x05Small\x94K\x01\x8c\x05SMALL\x94K\x02\x8c\x05Small\x94K\x03u.")},
		{"list append to dict", []byte("\x80\x04}\x94K\x01a.")},
	}
}

func hexDecode(s string) ([]byte, error) {
	b := make([]byte, len(s)/2)
	for i := range b {
		x, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, err
		}
		b[i] = byte(x)
	}
	return b, nil
}

// TestDirectDecodeUsed checks that the bench struct's pickle takes the
// direct path.
func TestDirectDecodeUsed(t *testing.T) {
	t.Parallel()
	data, err := Marshal(benchSmallDict())
	if err != nil {
		t.Fatal(err)
	}
	var dst benchStruct
	if !unmarshalDirect(data, &dst) {
		t.Fatal("the bench pickle did not take the direct path")
	}
	if want := *benchStructValue(); !reflect.DeepEqual(dst, want) {
		t.Errorf("got %+v, want %+v", dst, want)
	}
	var m ddPlain
	data, err = Marshal(dictOf("List", []any{dictOf("A", int64(1))}, "PP", dictOf("bee", "b"), "ID", int64(2),
		"Next", dictOf("name", "x")))
	if err != nil {
		t.Fatal(err)
	}
	if !unmarshalDirect(data, &m) || m.ID != 2 || len(m.List) != 1 || m.List[0].A != 1 || (*m.PP).B != "b" || m.Next.Name != "x" {
		t.Errorf("nested struct pickle: direct path not taken or wrong: %+v", m)
	}
}

// TestDirectDecodeDepth checks that the direct path takes nesting up to
// its depth and leaves deeper pickles to the reference path.
func TestDirectDecodeDepth(t *testing.T) {
	t.Parallel()
	for _, c := range ddValues() {
		want, ok := map[string]bool{"nested 50": true, "nested 150": false}[c.name]
		if !ok {
			continue
		}
		data, err := Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		var p ddPlain
		if got := unmarshalDirect(data, &p); got != want {
			t.Errorf("%s: direct path taken: %v, want %v", c.name, got, want)
		}
	}
}

// TestDirectTarget checks which target types take the direct path.
func TestDirectTarget(t *testing.T) {
	t.Parallel()
	cases := []struct {
		v    any
		want bool
	}{
		{benchStruct{}, true},
		{ddPlain{}, true}, // recursive through Next
		{[]*ddInner{}, true},
		{"", true},
		{ddTarget{}, false}, // Any, M, an embedded pointer
		{struct{ A any }{}, false},
		{struct{ M map[string]int }{}, false},
		{struct{ T time.Time }{}, false},
		{struct{ B []byte }{}, false},
		{[2]int{}, false},
		{rtTuple{}, false}, // an Unmarshaler
	}
	for _, c := range cases {
		if got := directTarget(infoOf(reflect.TypeOf(c.v))); got != c.want {
			t.Errorf("directTarget(%T) = %v, want %v", c.v, got, c.want)
		}
	}
}

func TestDirectDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	data, err := Marshal(benchSmallDict())
	if err != nil {
		t.Fatal(err)
	}
	var dst benchStruct
	allocs := testing.AllocsPerRun(100, func() {
		err = Unmarshal(data, &dst)
	})
	if err != nil || allocs != 0 {
		t.Errorf("Unmarshal of the bench pickle into a reused struct: %v allocations, error %v", allocs, err)
	}
	// Into a fresh target: the string and the slice.
	allocs = testing.AllocsPerRun(100, func() {
		dst = benchStruct{}
		err = Unmarshal(data, &dst)
	})
	if err != nil || allocs != 2 {
		t.Errorf("Unmarshal of the bench pickle into a zero struct: %v allocations (want 2: the str and the list), error %v", allocs, err)
	}
}

// fuzzSeedFiles returns the pickles of the FuzzDecode seed corpus.
func fuzzSeedFiles(tb testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecode", "*"))
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		_, rest, ok := strings.Cut(string(b), "[]byte(")
		if !ok {
			continue
		}
		s, err := strconv.Unquote(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), ")")))
		if err != nil {
			continue
		}
		out = append(out, []byte(s))
	}
	return out
}

// TestDirectDecodeSeeds runs the differential check over the CPython
// pickles of the fuzz seed corpus.
func TestDirectDecodeSeeds(t *testing.T) {
	t.Parallel()
	seeds := fuzzSeedFiles(t)
	if len(seeds) == 0 {
		t.Fatal("no seeds found")
	}
	for i, data := range seeds {
		checkDirectDecode(t, "seed "+strconv.Itoa(i), data)
	}
}

// FuzzDirectDecode: Unmarshal into typed targets (direct path first)
// agrees with the reference path on the value and the error.
func FuzzDirectDecode(f *testing.F) {
	for _, c := range ddValues() {
		for proto := 2; proto <= HighestProtocol; proto++ {
			if data, err := MarshalProtocol(c.v, proto); err == nil {
				f.Add(data)
			}
		}
	}
	for _, c := range ddRaw() {
		f.Add(c.data)
	}
	for _, data := range fuzzSeedFiles(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDirectDecode(t, "input", data)
	})
}
