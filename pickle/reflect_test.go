package pickle

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Types used by the tests of the typed layer.

type rtInner struct {
	A int
	B string `pickle:"bee"`
}

type rtEmbedded struct {
	E1     int
	Shadow string
}

type rtEmbeddedPtr struct {
	EP string
}

type rtTagged struct {
	Name    string  `pickle:"name"`
	Skip    int     `pickle:"-"`
	Dash    int     `pickle:"-,"`
	Empty   string  `pickle:",omitempty"`
	ZeroIn  rtInner `pickle:",omitzero"`
	private int
	rtEmbedded
	*rtEmbeddedPtr
	Shadow  int
	P       *rtInner
	NilP    *rtInner
	M       map[string]int
	S       []int
	NilS    []int
	Bytes   []byte
	Arr     [2]int
	ByteArr [3]byte
	Any     any
	U       uint64
	F32     float32
}

// rtTuple marshals itself as a tuple, with a value receiver.
type rtTuple struct{ X, Y int }

func (t rtTuple) MarshalPickle() (any, error) { return Tuple{int64(t.X), int64(t.Y)}, nil }

func (t *rtTuple) UnmarshalPickle(v any) error {
	tu, ok := v.(Tuple)
	if !ok || len(tu) != 2 {
		return fmt.Errorf("rtTuple: want a 2-tuple, got %s", pyValueName(v))
	}
	x, ok1 := tu[0].(int64)
	y, ok2 := tu[1].(int64)
	if !ok1 || !ok2 {
		return errors.New("rtTuple: want ints")
	}
	t.X, t.Y = int(x), int(y)
	return nil
}

// rtPtrMarshaler has a pointer-receiver MarshalPickle.
type rtPtrMarshaler struct{ N int }

func (p *rtPtrMarshaler) MarshalPickle() (any, error) { return "ptr" + fmt.Sprint(p.N), nil }

type rtFailing struct{}

var errRT = errors.New("rt failure")

func (rtFailing) MarshalPickle() (any, error) { return nil, errRT }

type rtSelf struct{ N int }

func (s rtSelf) MarshalPickle() (any, error) { return s, nil }

// rtText is a TextMarshaler and TextUnmarshaler.
type rtText struct{ a, b string }

func (t rtText) MarshalText() ([]byte, error) { return []byte(t.a + "/" + t.b), nil }

func (t *rtText) UnmarshalText(p []byte) error {
	a, b, ok := strings.Cut(string(p), "/")
	if !ok {
		return errors.New("rtText: no slash")
	}
	t.a, t.b = a, b
	return nil
}

type rtCelsius float64

type rtBadText struct{}

func (rtBadText) MarshalText() ([]byte, error) { return nil, errRT }

type rtNode struct {
	Name string
	Next *rtNode
}

type RTInt int

type rtEmbedKinds struct {
	RTInt                   // exported non-struct: a field named RTInt
	rtInner   `pickle:"in"` // tagged embedded struct: a field, not promoted
	rtCelsius               // unexported non-struct: skipped
}

type rtConflict struct {
	rtConflictA
	rtConflictB
}
type rtConflictA struct{ X, OnlyA int }
type rtConflictB struct {
	X     int
	OnlyB int
}

type rtTaggedWins struct {
	rtTagA
	rtTagB
}
type rtTagA struct {
	X int `pickle:"X"`
}
type rtTagB struct{ X int }

func TestFromGo(t *testing.T) {
	t.Parallel()
	maxU := uint64(math.MaxUint64)
	cases := []struct {
		name string
		in   any
		want any
	}{
		{"nil", nil, nil},
		{"bool", true, true},
		{"int8", int8(-3), int64(-3)},
		{"int", 7, int64(7)},
		{"uint8", uint8(200), int64(200)},
		{"uint64 small", uint64(5), int64(5)},
		{"uint64 max", maxU, new(big.Int).SetUint64(maxU)},
		{"uintptr", uintptr(9), int64(9)},
		{"float32", float32(1.5), 1.5},
		{"float32 widened", float32(0.1), float64(float32(0.1))},
		{"named float", rtCelsius(-40), -40.0},
		{"inf", math.Inf(1), math.Inf(1)},
		{"string", "héllo", "héllo"},
		{"bytes", []byte("ab"), []byte("ab")},
		{"nil bytes", []byte(nil), nil},
		{"byte array", [3]byte{1, 2, 3}, []byte{1, 2, 3}},
		{"complex", complex(3, 4), &Object{Kind: Reduce, Callable: Global{"builtins", "complex"}, Args: Tuple{3.0, 4.0}}},
		{"complex64", complex64(complex(1, -2)), &Object{Kind: Reduce, Callable: Global{"builtins", "complex"}, Args: Tuple{1.0, -2.0}}},
		{"slice", []int{1, 2}, []any{int64(1), int64(2)}},
		{"empty slice", []string{}, []any{}},
		{"nil slice", []int(nil), nil},
		{"array", [2]string{"a", "b"}, []any{"a", "b"}},
		{"nested slice", [][]int{{1}, nil}, []any{[]any{int64(1)}, nil}},
		{"pointer", &rtInner{A: 1, B: "x"}, dictOf("A", int64(1), "bee", "x")},
		{"nil pointer", (*rtInner)(nil), nil},
		{"pointer to pointer", func() any { p := &rtInner{}; return &p }(), dictOf("A", int64(0), "bee", "")},
		{"map string keys sorted", map[string]int{"b": 2, "a": 1, "c": 3}, dictOf("a", int64(1), "b", int64(2), "c", int64(3))},
		{"map int keys sorted", map[int]string{10: "x", -1: "y", 2: "z"}, dictOf(int64(-1), "y", int64(2), "z", int64(10), "x")},
		{"map bool keys", map[bool]int{true: 1, false: 0}, dictOf(false, int64(0), true, int64(1))},
		{"map float keys", map[float64]bool{2.5: true, -1: false}, dictOf(-1.0, false, 2.5, true)},
		{"map array keys", map[[2]int]string{{1, 2}: "a", {0, 5}: "b"}, dictOf(Tuple{int64(0), int64(5)}, "b", Tuple{int64(1), int64(2)}, "a")},
		{"map any keys", map[any]int{"s": 1, 2: 2, [1]int{3}: 3, 1.5: 4}, dictOf(1.5, int64(4), int64(2), int64(2), "s", int64(1), Tuple{int64(3)}, int64(3))},
		{"map global keys", map[Global]int{{"b", "x"}: 1, {"a", "y"}: 2, {"a", "b"}: 3}, dictOf(Global{"a", "b"}, int64(3), Global{"a", "y"}, int64(2), Global{"b", "x"}, int64(1))},
		{"map equal keys collapse", map[any]string{1.0: "float", int64(1): "int", true: "bool", 2: "two"}, dictOf(true, "float", int64(2), "two")},
		{"map text keys", map[rtText]int{{"a", "b"}: 1}, dictOf("a/b", int64(1))},
		{"map byte-array keys", map[[2]byte]int{{1, 2}: 1}, dictOf([]byte{1, 2}, int64(1))},
		{"nil map", map[string]int(nil), nil},
		{"map of structs", map[string]rtInner{"k": {A: 2}}, dictOf("k", dictOf("A", int64(2), "bee", ""))},
		{"marshaler", rtTuple{1, 2}, Tuple{int64(1), int64(2)}},
		{"marshaler in slice", []rtTuple{{3, 4}}, []any{Tuple{int64(3), int64(4)}}},
		{"pointer marshaler addressable", &struct{ M rtPtrMarshaler }{rtPtrMarshaler{5}}, dictOf("M", "ptr5")},
		{"pointer marshaler not addressable", struct{ M rtPtrMarshaler }{rtPtrMarshaler{5}}, dictOf("M", dictOf("N", int64(5)))},
		{"pointer marshaler pointer", &rtPtrMarshaler{6}, "ptr6"},
		{"nil marshaler pointer", (*rtPtrMarshaler)(nil), nil},
		{"text marshaler", rtText{"x", "y"}, "x/y"},
		{"big.Int pointer", big.NewInt(-5), big.NewInt(-5)},
		{"big.Int value", struct{ N big.Int }{*big.NewInt(12)}, dictOf("N", big.NewInt(12))},
		{"tuple of go values", Tuple{1, rtInner{A: 1}}, Tuple{int64(1), dictOf("A", int64(1), "bee", "")}},
		{"dict of go values", dictOf("k", []int{1}), dictOf("k", []any{int64(1)})},
		{"object args", &Object{Kind: Reduce, Callable: Global{"m", "f"}, Args: Tuple{uint8(1)}, HasState: true, State: map[string]int{"a": 1}},
			&Object{Kind: Reduce, Callable: Global{"m", "f"}, Args: Tuple{int64(1)}, HasState: true, State: dictOf("a", int64(1))}},
		{"set of go values", func() any { s := NewSet(); _ = s.Add(int(1)); return s }(), func() any { s := NewSet(); _ = s.Add(int64(1)); return s }()},
		{"byte string kept", ByteString("py2"), ByteString("py2")},
		{"bytearray kept", ByteArray("ba"), ByteArray("ba")},
		{"global kept", Global{"a", "b"}, Global{"a", "b"}},
		{"interface holding model", []any{Tuple{}}, []any{Tuple{}}},
		{"nil model pointers are None", []any{(*Dict)(nil), (*big.Int)(nil), (*Object)(nil)}, []any{nil, nil, nil}},
		{"nil *big.Int field", struct{ N *big.Int }{}, dictOf("N", nil)},
		{"conflicting embedded fields dropped", rtConflict{rtConflictA{1, 2}, rtConflictB{3, 4}}, dictOf("OnlyA", int64(2), "OnlyB", int64(4))},
		{"tagged embedded field wins", rtTaggedWins{rtTagA{1}, rtTagB{2}}, dictOf("X", int64(1))},
		{"embedded kinds", rtEmbedKinds{RTInt: 1, rtInner: rtInner{A: 2}, rtCelsius: 3}, dictOf("RTInt", int64(1), "in", dictOf("A", int64(2), "bee", ""))},
		{"duration is int", 3 * time.Second, int64(3e9)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := fromGo(reflect.ValueOf(c.in))
			if err != nil {
				t.Fatalf("fromGo(%#v): %v", c.in, err)
			}
			if g, w := goRepr(got), goRepr(c.want); g != w {
				t.Errorf("fromGo(%#v)\n got %s\nwant %s", c.in, g, w)
			}
		})
	}
}

func TestFromGoStruct(t *testing.T) {
	t.Parallel()
	v := rtTagged{
		Name: "n", Skip: 1, Dash: 2, private: 3,
		rtEmbedded:    rtEmbedded{E1: 4, Shadow: "hidden"},
		rtEmbeddedPtr: &rtEmbeddedPtr{EP: "ep"},
		Shadow:        5,
		P:             &rtInner{A: 6, B: "b"},
		M:             map[string]int{"z": 1, "y": 2},
		S:             []int{7},
		Bytes:         []byte{8},
		Arr:           [2]int{9, 10},
		ByteArr:       [3]byte{'a', 'b', 'c'},
		Any:           rtInner{A: 11},
		U:             12,
		F32:           0.5,
	}
	want := dictOf(
		"name", "n",
		"-", int64(2),
		"E1", int64(4),
		"EP", "ep",
		"Shadow", int64(5),
		"P", dictOf("A", int64(6), "bee", "b"),
		"NilP", nil,
		"M", dictOf("y", int64(2), "z", int64(1)),
		"S", []any{int64(7)},
		"NilS", nil,
		"Bytes", []byte{8},
		"Arr", []any{int64(9), int64(10)},
		"ByteArr", []byte("abc"),
		"Any", dictOf("A", int64(11), "bee", ""),
		"U", int64(12),
		"F32", 0.5,
	)
	got, err := fromGo(reflect.ValueOf(v))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := goRepr(got), goRepr(want); g != w {
		t.Errorf("got  %s\nwant %s", g, w)
	}

	// omitempty/omitzero fields appear when set; a nil embedded pointer
	// contributes no fields.
	v.Empty, v.ZeroIn, v.rtEmbeddedPtr = "e", rtInner{A: 1}, nil
	got, err = fromGo(reflect.ValueOf(&v))
	if err != nil {
		t.Fatal(err)
	}
	d := got.(*Dict)
	if x, _ := d.Get("Empty"); x != "e" {
		t.Errorf("Empty = %v", x)
	}
	if x, _ := d.Get("ZeroIn"); goRepr(x) != goRepr(dictOf("A", int64(1), "bee", "")) {
		t.Errorf("ZeroIn = %s", goRepr(x))
	}
	if _, ok := d.Get("EP"); ok {
		t.Errorf("EP present through a nil embedded pointer")
	}
	// The dict's lookups work (its index was built directly).
	if x, ok := d.Get("Shadow"); !ok || x != int64(5) {
		t.Errorf("Get(Shadow) = %v, %v", x, ok)
	}
}

type rtZeroer struct{ N int }

func (z rtZeroer) IsZero() bool { return z.N < 0 }

func TestFromGoOmitZeroMethod(t *testing.T) {
	t.Parallel()
	type S struct {
		Z  rtZeroer    `pickle:",omitzero"`
		ZP *rtZeroer   `pickle:",omitzero"`
		T  time.Time   `pickle:",omitzero"`
		E  []int       `pickle:",omitempty"`
		EZ []int       `pickle:",omitzero"`
		I  any         `pickle:",omitempty"`
		A  [0]int      `pickle:",omitempty"`
		M  map[int]int `pickle:",omitempty"`
	}
	got, err := fromGo(reflect.ValueOf(S{Z: rtZeroer{-1}, EZ: []int{}}))
	if err != nil {
		t.Fatal(err)
	}
	// Z uses its own IsZero (N < 0); EZ is an empty but non-nil slice,
	// which is not zero.
	if g, w := goRepr(got), goRepr(dictOf("EZ", []any{})); g != w {
		t.Errorf("got %s, want %s", g, w)
	}
	got, err = fromGo(reflect.ValueOf(S{Z: rtZeroer{0}}))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := goRepr(got), goRepr(dictOf("Z", dictOf("N", int64(0)))); g != w {
		t.Errorf("got %s, want %s", g, w)
	}
}

func TestFromGoTime(t *testing.T) {
	t.Parallel()
	td := func(days, secs int64) *Object {
		return &Object{Kind: Reduce, Callable: Global{"datetime", "timedelta"}, Args: Tuple{days, secs, int64(0)}}
	}
	dt := func(state []byte, delta *Object) *Object {
		tz := &Object{Kind: Reduce, Callable: Global{"datetime", "timezone"}, Args: Tuple{delta}}
		return &Object{Kind: Reduce, Callable: Global{"datetime", "datetime"}, Args: Tuple{state, tz}}
	}
	cases := []struct {
		name string
		in   time.Time
		want any
	}{
		// 2020 = 0x07e4; 6789 µs = 0x001a85; the nanoseconds are cut.
		{"utc", time.Date(2020, 1, 2, 3, 4, 5, 6789123, time.UTC), dt([]byte{0x07, 0xe4, 1, 2, 3, 4, 5, 0x00, 0x1a, 0x85}, td(0, 0))},
		{"east", time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.FixedZone("X", 5*3600+30*60)), dt([]byte{0x07, 0xcf, 12, 31, 23, 59, 59, 0x0f, 0x42, 0x3f}, td(0, 19800))},
		{"west", time.Date(1, 1, 1, 0, 0, 0, 0, time.FixedZone("", -5*3600)), dt([]byte{0, 1, 1, 1, 0, 0, 0, 0, 0, 0}, td(-1, 86400-5*3600))},
		// Not a whole number of minutes: given in UTC (00:00:30 -> 23:59:00 the day before).
		{"seconds offset", time.Date(1900, 1, 2, 0, 0, 30, 0, time.FixedZone("LMT", 90)), dt([]byte{0x07, 0x6c, 1, 1, 23, 59, 0, 0, 0, 0}, td(0, 0))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := fromGo(reflect.ValueOf(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if g, w := goRepr(got), goRepr(c.want); g != w {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
	_, err := fromGo(reflect.ValueOf(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)))
	var uv *UnsupportedValueError
	if !errors.As(err, &uv) {
		t.Errorf("year 10000: err = %v, want *UnsupportedValueError", err)
	}
}

func TestFromGoErrors(t *testing.T) {
	t.Parallel()
	loop := &rtNode{Name: "a"}
	loop.Next = &rtNode{Name: "b", Next: loop}
	selfSlice := make([]any, 1)
	selfSlice[0] = selfSlice
	selfDict := NewDict()
	_ = selfDict.Set("me", selfDict)
	_ = selfDict.Set("go", 1) // a Go int: needs converting

	cases := []struct {
		name  string
		in    any
		check func(error) bool
	}{
		{"chan", make(chan int), isErr[*UnsupportedTypeError]},
		{"func field", struct{ F func() }{func() {}}, isErr[*UnsupportedTypeError]},
		{"struct map key", map[rtInner]int{{}: 1}, isErr[*UnsupportedTypeError]},
		{"pointer map key", map[*int]int{new(int): 1}, isErr[*UnsupportedTypeError]},
		{"unhashable interface key", map[any]int{rtInner{}: 1}, isErr[*UnsupportedValueError]},
		{"pointer cycle", loop, isErr[*UnsupportedValueError]},
		{"recursive dict needing conversion", selfDict, isErr[*UnsupportedValueError]},
		{"marshaler error", rtFailing{}, func(err error) bool {
			var me *MarshalerError
			return errors.Is(err, errRT) && errors.As(err, &me) && me.Type == reflect.TypeFor[rtFailing]()
		}},
		{"marshaler returning itself", rtSelf{1}, isErr[*MarshalerError]},
		{"text marshaler error", []rtBadText{{}}, func(err error) bool {
			var me *MarshalerError
			return errors.Is(err, errRT) && errors.As(err, &me) && me.Method == "MarshalText" &&
				err.Error() == "pickle: error calling MarshalText for type pickle.rtBadText: rt failure"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := fromGo(reflect.ValueOf(c.in))
			if err == nil || !c.check(err) {
				t.Fatalf("fromGo = %s, %v (%T)", goRepr(got), err, err)
			}
			if !strings.HasPrefix(err.Error(), "pickle: ") {
				t.Errorf("error %q lacks the pickle: prefix", err)
			}
		})
	}

	// A recursive model value needing no conversion passes through as
	// the same value.
	pure := NewDict()
	_ = pure.Set("me", pure)
	got, err := fromGo(reflect.ValueOf(pure))
	if err != nil || got != any(pure) {
		t.Errorf("recursive pure dict: got %p, %v; want the same dict", got, err)
	}
	got, err = fromGo(reflect.ValueOf(selfSlice))
	if err != nil {
		t.Fatalf("self-containing []any: %v", err)
	}
	if gs, ok := got.([]any); !ok || len(gs) != 1 || &gs[0] != &selfSlice[0] {
		t.Errorf("self-containing []any was copied")
	}
}

func isErr[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}

func TestFromGoModelUnchanged(t *testing.T) {
	t.Parallel()
	// Model values with only model contents come back as the same
	// values, not copies.
	l := []any{int64(1), "a", Tuple{nil, 2.5}}
	got, err := fromGo(reflect.ValueOf(l))
	if err != nil {
		t.Fatal(err)
	}
	if gl := got.([]any); &gl[0] != &l[0] {
		t.Errorf("list copied")
	}
	d := dictOf("k", l)
	got, err = fromGo(reflect.ValueOf(d))
	if err != nil || got != any(d) {
		t.Errorf("dict copied or error %v", err)
	}
	o := &Object{Kind: NewObj, Callable: Global{"m", "C"}, Args: Tuple{}, HasState: true, State: d}
	got, err = fromGo(reflect.ValueOf(o))
	if err != nil || got != any(o) {
		t.Errorf("object copied or error %v", err)
	}
	// The original is untouched when a copy is made.
	t2 := Tuple{1}
	got, err = fromGo(reflect.ValueOf(t2))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := t2[0].(int); !ok || goRepr(got) != "(1)" {
		t.Errorf("tuple: got %s, original now %#v", goRepr(got), t2)
	}
}

func TestFromGoSharedModel(t *testing.T) {
	t.Parallel()
	// 60 levels, each a list holding the level below twice: 2^60 paths
	// but 60 containers. It must be converted in linear time, and the
	// sharing kept.
	var v any = []any{1}
	for range 60 {
		v = []any{v, v}
	}
	got, err := fromGo(reflect.ValueOf(v))
	if err != nil {
		t.Fatal(err)
	}
	l := got.([]any)
	for range 59 {
		a, b := l[0].([]any), l[1].([]any)
		if &a[0] != &b[0] {
			t.Fatal("sharing lost")
		}
		l = a
	}
}

func TestFromGoListAndTupleSharingStorage(t *testing.T) {
	t.Parallel()
	l := []any{1}
	got, err := fromGo(reflect.ValueOf([]any{l, Tuple(l), l}))
	if err != nil {
		t.Fatal(err)
	}
	if g := goRepr(got); g != "[[1], (1), [1]]" {
		t.Errorf("got %s", g)
	}
}

// TestFromGoDeep checks that a long, acyclic chain of pointers is fine
// (cycle detection must not mistake depth for a cycle).
func TestFromGoDeep(t *testing.T) {
	t.Parallel()
	var n *rtNode
	for i := range 500 {
		n = &rtNode{Name: fmt.Sprint(i), Next: n}
	}
	got, err := fromGo(reflect.ValueOf(n))
	if err != nil {
		t.Fatal(err)
	}
	depth := 0
	for x := any(got); x != nil; depth++ {
		x, _ = x.(*Dict).Get("Next")
	}
	if depth != 500 {
		t.Errorf("depth %d, want 500", depth)
	}
}

func TestFromGoSharedPointerIsNotACycle(t *testing.T) {
	t.Parallel()
	shared := &rtInner{A: 1}
	v := []*rtInner{shared, shared}
	got, err := fromGo(reflect.ValueOf(v))
	if err != nil {
		t.Fatal(err)
	}
	if g := goRepr(got); g != `[{"A": 1, "bee": ""}, {"A": 1, "bee": ""}]` {
		t.Errorf("got %s", g)
	}
}
