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

// assignInto decodes src into a new value of type T. It also checks that
// Unmarshal, which tries the direct path first, decodes the pickle of src
// into a new T as the reference path does: a difference panics, failing
// the test, so every typed test runs through both paths.
func assignInto[T any](src any) (T, error) {
	var v T
	err := assignValue(reflect.ValueOf(&v).Elem(), src)
	if data, merr := Marshal(src); merr == nil {
		if msg := directMismatch(data, new(T), new(T)); msg != "" {
			panic(fmt.Sprintf("direct and reference paths differ on the pickle of %s: %s", goRepr(src), msg))
		}
	}
	return v, err
}

type rtPerson struct {
	Name    string
	Age     uint8  `pickle:"age"`
	Email   string `pickle:"mail,omitempty"`
	Ignored int    `pickle:"-"`
	Tags    []string
	Inner   *rtInner
	rtEmbedded
}

func TestAssignStruct(t *testing.T) {
	t.Parallel()
	src := dictOf(
		"Name", "Ada",
		"AGE", int64(36), // case-insensitive
		"mail", "ada@example.org",
		"Ignored", int64(5), // "-": not a key for this field
		"unknown", []any{1}, // ignored
		"tags", Tuple{"x", ByteString("y")},
		"Inner", dictOf("a", int64(1), "bee", "b"),
		"E1", int64(7), // promoted
		"shadow", "s",
	)
	got, err := assignInto[rtPerson](src)
	if err != nil {
		t.Fatal(err)
	}
	want := rtPerson{Name: "Ada", Age: 36, Email: "ada@example.org", Tags: []string{"x", "y"},
		Inner: &rtInner{A: 1, B: "b"}, rtEmbedded: rtEmbedded{E1: 7, Shadow: "s"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestAssignDisallowUnknownFields(t *testing.T) {
	t.Parallel()
	var p rtInner
	src := dictOf("A", int64(1), "extra", true, "bee", "b")
	err := assignValueOptions(reflect.ValueOf(&p).Elem(), src, assignOptions{disallowUnknownFields: true})
	if err == nil || err.Error() != `pickle: unknown field "extra" in Go type pickle.rtInner` {
		t.Errorf("err = %v", err)
	}
	if p != (rtInner{A: 1, B: "b"}) {
		t.Errorf("the known fields are still stored: %+v", p)
	}
	if err := assignValue(reflect.ValueOf(&p).Elem(), src); err != nil {
		t.Errorf("by default unknown keys are ignored: %v", err)
	}
}

func TestAssignExactNameBeforeFolded(t *testing.T) {
	t.Parallel()
	type S struct {
		Foo int `pickle:"foo"`
		FOO int `pickle:"FOO"`
		Bar int
	}
	got, err := assignInto[S](dictOf("FOO", int64(2), "foo", int64(1), "bAR", int64(3)))
	if err != nil {
		t.Fatal(err)
	}
	if got != (S{Foo: 1, FOO: 2, Bar: 3}) {
		t.Errorf("got %+v", got)
	}
	// Folding follows Unicode: the Kelvin sign matches K.
	type K struct{ Kelvin int }
	k, err := assignInto[K](dictOf("\u212aELVIN", int64(4)))
	if err != nil || k.Kelvin != 4 {
		t.Errorf("Kelvin sign: %+v, %v", k, err)
	}
}

// RTExportedEmbed is exported so that a nil embedded pointer to it can be
// allocated through reflection.
type RTExportedEmbed struct{ EP string }

func TestAssignEmbeddedPointer(t *testing.T) {
	t.Parallel()
	type Outer struct {
		*RTExportedEmbed
		N int
	}
	got, err := assignInto[Outer](dictOf("EP", "x", "N", int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	if got.RTExportedEmbed == nil || got.EP != "x" || got.N != 1 {
		t.Errorf("got %+v", got)
	}
	// A nil embedded pointer to an unexported type cannot be allocated
	// (as with encoding/json): an error for that key, and the rest goes on.
	type Hidden struct {
		*rtEmbeddedPtr
		N int
	}
	h, err := assignInto[Hidden](dictOf("EP", "x", "N", int64(2)))
	if err == nil || !strings.Contains(err.Error(), "embedded pointer to unexported struct") || h.N != 2 {
		t.Errorf("got %+v, %v", h, err)
	}
	// When it is already allocated, it is filled.
	h = Hidden{rtEmbeddedPtr: &rtEmbeddedPtr{}}
	if err := assignValue(reflect.ValueOf(&h).Elem(), dictOf("EP", "y")); err != nil || h.EP != "y" {
		t.Errorf("got %+v, %v", h, err)
	}
}

func TestAssignMaps(t *testing.T) {
	t.Parallel()
	t.Run("tuple keys into array keys", func(t *testing.T) {
		src := dictOf(Tuple{int64(1), int64(2)}, "a", Tuple{int64(-3), int64(4)}, "b")
		got, err := assignInto[map[[2]int]string](src)
		if err != nil {
			t.Fatal(err)
		}
		want := map[[2]int]string{{1, 2}: "a", {-3, 4}: "b"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("int keys", func(t *testing.T) {
		got, err := assignInto[map[int8]float32](dictOf(int64(1), 1.5, int64(2), int64(3)))
		if err != nil || !reflect.DeepEqual(got, map[int8]float32{1: 1.5, 2: 3}) {
			t.Errorf("got %v, %v", got, err)
		}
	})
	t.Run("text keys", func(t *testing.T) {
		got, err := assignInto[map[rtText]bool](dictOf("a/b", true))
		if err != nil || !reflect.DeepEqual(got, map[rtText]bool{{"a", "b"}: true}) {
			t.Errorf("got %v, %v", got, err)
		}
	})
	t.Run("interface keys", func(t *testing.T) {
		got, err := assignInto[map[any]any](dictOf("s", int64(1), int64(2), nil, Global{"m", "n"}, 1.5))
		want := map[any]any{"s": int64(1), int64(2): nil, Global{"m", "n"}: 1.5}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, %v", got, err)
		}
	})
	t.Run("tuple key into interface key", func(t *testing.T) {
		got, err := assignInto[map[any]int](dictOf(Tuple{int64(1)}, int64(1), "ok", int64(2)))
		var ute *UnmarshalTypeError
		if !errors.As(err, &ute) || ute.Value != "tuple key" {
			t.Fatalf("err = %v", err)
		}
		if !reflect.DeepEqual(got, map[any]int{"ok": 2}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("adds to an existing map", func(t *testing.T) {
		m := map[string]int{"old": 1}
		if err := assignValue(reflect.ValueOf(&m).Elem(), dictOf("new", int64(2))); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, map[string]int{"old": 1, "new": 2}) {
			t.Errorf("got %v", m)
		}
	})
	t.Run("set into map", func(t *testing.T) {
		s := NewSet()
		_ = s.Add("a")
		_ = s.Add("b")
		got, err := assignInto[map[string]struct{}](s)
		if err != nil || !reflect.DeepEqual(got, map[string]struct{}{"a": {}, "b": {}}) {
			t.Errorf("got %v, %v", got, err)
		}
		fs := NewFrozenSet()
		_ = fs.Add(int64(3))
		gb, err := assignInto[map[int]bool](fs)
		if err != nil || !reflect.DeepEqual(gb, map[int]bool{3: true}) {
			t.Errorf("got %v, %v", gb, err)
		}
	})
	t.Run("ordered dict object", func(t *testing.T) {
		od := &Object{Kind: Reduce, Callable: Global{"collections", "OrderedDict"}, Args: Tuple{},
			DictItems: []Item{{"x", int64(1)}, {"y", int64(2)}}}
		got, err := assignInto[map[string]int](od)
		if err != nil || !reflect.DeepEqual(got, map[string]int{"x": 1, "y": 2}) {
			t.Errorf("got %v, %v", got, err)
		}
		empty := &Object{Kind: Reduce, Callable: Global{"collections", "OrderedDict"}, Args: Tuple{}}
		got, err = assignInto[map[string]int](empty)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("empty OrderedDict: got %v, %v", got, err)
		}
	})
}

func TestAssignObjectState(t *testing.T) {
	t.Parallel()
	// A dataclass instance: copyreg._reconstructor or NEWOBJ, then BUILD
	// with its __dict__.
	obj := &Object{Kind: NewObj, Callable: Global{"app", "Point"}, Args: Tuple{},
		HasState: true, State: dictOf("x", int64(1), "y", int64(2))}
	type Point struct{ X, Y int }
	got, err := assignInto[Point](obj)
	if err != nil || got != (Point{1, 2}) {
		t.Errorf("got %+v, %v", got, err)
	}
	// With __slots__: the state is (dict or None, slots dict).
	slotted := &Object{Kind: NewObj, Callable: Global{"app", "Point"}, Args: Tuple{},
		HasState: true, State: Tuple{nil, dictOf("x", int64(3), "y", int64(4))}}
	got, err = assignInto[Point](slotted)
	if err != nil || got != (Point{3, 4}) {
		t.Errorf("slots: got %+v, %v", got, err)
	}
	// A list subclass's items go into a slice.
	lst := &Object{Kind: NewObj, Callable: Global{"app", "MyList"}, Args: Tuple{}, ListItems: []any{int64(1), int64(2)}}
	gl, err := assignInto[[]int](lst)
	if err != nil || !reflect.DeepEqual(gl, []int{1, 2}) {
		t.Errorf("list subclass: got %v, %v", gl, err)
	}
	// An object with no dict-like state is a type error.
	_, err = assignInto[Point](&Object{Kind: Reduce, Callable: Global{"app", "f"}, Args: Tuple{int64(1)}})
	var ute *UnmarshalTypeError
	if !errors.As(err, &ute) || ute.Value != "app.f object" {
		t.Errorf("err = %v", err)
	}
}

func TestAssignScalars(t *testing.T) {
	t.Parallel()
	huge := new(big.Int).Lsh(big.NewInt(1), 70)
	cases := []struct {
		name string
		src  any
		dst  any // pointer to a zero value of the target type
		want any // the stored value, or nil for a type error
	}{
		{"int64 into int8", int64(-128), new(int8), int8(-128)},
		{"int64 overflows int8", int64(300), new(int8), nil},
		{"int64 into uint16", int64(65535), new(uint16), uint16(65535)},
		{"negative into uint", int64(-1), new(uint), nil},
		{"big into uint64", new(big.Int).SetUint64(math.MaxUint64), new(uint64), uint64(math.MaxUint64)},
		{"big into int64", big.NewInt(-7), new(int64), int64(-7)},
		{"huge into int64", huge, new(int64), nil},
		{"float into int", 1.0, new(int), nil},
		{"bool into int", true, new(int), nil},
		{"int into float64", int64(3), new(float64), 3.0},
		{"big into float64", huge, new(float64), math.Ldexp(1, 70)},
		{"float overflows float32", 1e300, new(float32), nil},
		{"float into float32", 0.25, new(float32), float32(0.25)},
		{"str into float", "1", new(float64), nil},
		{"bool", true, new(bool), true},
		{"int into bool", int64(1), new(bool), nil},
		{"str", "s", new(string), "s"},
		{"py2 str into string", ByteString("b"), new(string), "b"},
		{"bytes into string", []byte("b"), new(string), nil},
		{"bytes", []byte("xy"), new([]byte), []byte("xy")},
		{"bytearray into bytes", ByteArray("xy"), new([]byte), []byte("xy")},
		{"py2 str into bytes", ByteString("xy"), new([]byte), []byte("xy")},
		{"str into bytes", "xy", new([]byte), nil},
		{"bytes into [2]byte", []byte("xy"), new([2]byte), [2]byte{'x', 'y'}},
		{"bytes into [3]byte", []byte("xy"), new([3]byte), nil},
		{"list into [2]int", []any{int64(1), int64(2)}, new([2]int), [2]int{1, 2}},
		{"list into [3]int", []any{int64(1), int64(2)}, new([3]int), nil},
		{"tuple into slice", Tuple{int64(1)}, new([]int), []int{1}},
		{"frozenset into slice", func() any { s := NewFrozenSet(); _ = s.Add("a"); return s }(), new([]string), []string{"a"}},
		{"list of ints into bytes", []any{int64(1), int64(255)}, new([]byte), []byte{1, 255}},
		{"complex object", &Object{Kind: Reduce, Callable: Global{"builtins", "complex"}, Args: Tuple{1.0, int64(2)}}, new(complex128), complex(1, 2)},
		{"py2 complex", &Object{Kind: Reduce, Callable: Global{"__builtin__", "complex"}, Args: Tuple{1.0}}, new(complex64), complex64(1)},
		{"float into complex", 2.5, new(complex128), complex(2.5, 0)},
		{"big.Int value", huge, new(big.Int), *huge},
		{"big.Int pointer", int64(5), new(*big.Int), big.NewInt(5)},
		{"str into big.Int (text)", "123", new(big.Int), *big.NewInt(123)},
		{"float into big.Int", 1.5, new(*big.Int), nil},
		{"tuple into Tuple", Tuple{int64(1)}, new(Tuple), Tuple{int64(1)}},
		{"list into Tuple", []any{int64(1)}, new(Tuple), Tuple{int64(1)}},
		{"bytes into ByteArray", []byte("a"), new(ByteArray), ByteArray("a")},
		{"dict into Global", dictOf("Module", "m"), new(Global), nil},
		{"dict into *Dict", dictOf("k", "v"), new(*Dict), dictOf("k", "v")},
		{"list into *Dict", []any{}, new(*Dict), nil},
		{"text unmarshaler", "a/b", new(rtText), rtText{"a", "b"}},
		{"global into Stringer", Global{"m", "n"}, new(fmt.Stringer), fmt.Stringer(Global{"m", "n"})},
		{"int into Stringer", int64(1), new(fmt.Stringer), nil},
		{"chan target", int64(1), new(chan int), nil},
		{"func target", int64(1), new(func()), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := reflect.ValueOf(c.dst).Elem()
			err := assignValue(dst, c.src)
			if c.want == nil {
				var ute *UnmarshalTypeError
				if !errors.As(err, &ute) {
					t.Fatalf("err = %v, want *UnmarshalTypeError; stored %#v", err, dst.Interface())
				}
				if ute.Type != dst.Type() || ute.Field != "" {
					t.Errorf("error %+v: wrong Type or Field", ute)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := dst.Interface()
			if d, ok := c.want.(*Dict); ok {
				if goRepr(got) != goRepr(d) {
					t.Errorf("got %s", goRepr(got))
				}
				return
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v, want %#v", got, c.want)
			}
		})
	}
}

func TestAssignTypeErrorPaths(t *testing.T) {
	t.Parallel()
	type Leaf struct {
		Small int8
		Name  string `pickle:"name"`
	}
	type Mid struct {
		Leaves map[string]Leaf
		List   []Leaf
	}
	type Root struct {
		Mid   Mid `pickle:"mid"`
		After string
	}
	src := dictOf(
		"mid", dictOf(
			"Leaves", dictOf("k", dictOf("Small", int64(300), "name", "fine")),
			"List", []any{dictOf("name", int64(1))},
		),
		"After", "still stored",
	)
	got, err := assignInto[Root](src)
	var ute *UnmarshalTypeError
	if !errors.As(err, &ute) {
		t.Fatalf("err = %v", err)
	}
	if ute.Value != "int 300" || ute.Type != reflect.TypeFor[int8]() || ute.Field != "mid.Leaves.k.Small" {
		t.Errorf("first error = %+v", ute)
	}
	want := "pickle: cannot unmarshal Python int 300 into Go struct field mid.Leaves.k.Small of type int8"
	if err.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", err, want)
	}
	// Decoding went on: everything else that fits is stored.
	if got.After != "still stored" || got.Mid.Leaves["k"].Name != "fine" || len(got.Mid.List) != 1 {
		t.Errorf("got %+v", got)
	}

	// The path of the second error, alone.
	_, err = assignInto[Root](dictOf("mid", dictOf("List", []any{dictOf("name", int64(1))})))
	if !errors.As(err, &ute) || ute.Field != "mid.List.name" || ute.Value != "int 1" {
		t.Errorf("err = %v", err)
	}
	// A non-str key into a struct.
	_, err = assignInto[Leaf](dictOf(int64(1), int64(2)))
	if !errors.As(err, &ute) || ute.Value != "int 1 key" || ute.Field != "1" {
		t.Errorf("err = %+v", err)
	}
	// Tuple and None keys in a path.
	_, err = assignInto[map[[2]int]map[any]int8](dictOf(Tuple{int64(1), "x"}, dictOf(nil, int64(1))))
	if !errors.As(err, &ute) || ute.Field != "(1, x)" || ute.Type != reflect.TypeFor[int]() {
		t.Errorf("err = %+v", err)
	}
	_, err = assignInto[map[[1]int]map[any]int8](dictOf(Tuple{int64(1)}, dictOf(nil, int64(1000))))
	if !errors.As(err, &ute) || ute.Field != "(1,).None" || ute.Value != "int 1000" {
		t.Errorf("err = %+v", err)
	}
}

// rtHook records what UnmarshalPickle got.
type rtHook struct{ got any }

func (h *rtHook) UnmarshalPickle(v any) error {
	if s, ok := v.(string); ok && s == "fail" {
		return errRT
	}
	h.got = v
	return nil
}

func TestAssignHooks(t *testing.T) {
	t.Parallel()
	type S struct {
		H   rtHook
		HP  *rtHook
		T   rtTuple
		Any any
	}
	src := dictOf("H", Tuple{int64(1)}, "HP", "p", "T", Tuple{int64(3), int64(4)}, "Any", dictOf("x", nil))
	got, err := assignInto[S](src)
	if err != nil {
		t.Fatal(err)
	}
	if goRepr(got.H.got) != "(1)" || got.HP == nil || got.HP.got != "p" || got.T != (rtTuple{3, 4}) {
		t.Errorf("got %+v", got)
	}
	if d, ok := got.Any.(*Dict); !ok || d != src.Items()[3].Value {
		t.Errorf("Any = %#v, want the model dict itself", got.Any)
	}
	// None: a value Unmarshaler gets nil; a pointer one is set to nil.
	got.H.got = "before"
	if err := assignValue(reflect.ValueOf(&got).Elem(), dictOf("H", nil, "HP", nil, "Any", nil)); err != nil {
		t.Fatal(err)
	}
	if got.H.got != nil || got.HP != nil || got.Any != nil {
		t.Errorf("after None: %+v", got)
	}
	// An error from UnmarshalPickle stops decoding and comes back as is.
	got = S{}
	err = assignValue(reflect.ValueOf(&got).Elem(), dictOf("H", "fail", "T", Tuple{int64(1), int64(2)}))
	if err != errRT {
		t.Errorf("err = %v, want errRT itself", err)
	}
	if got.T != (rtTuple{}) {
		t.Errorf("decoding went on after a hook error: %+v", got)
	}
	// So does an error from UnmarshalText.
	var txt rtText
	if err := assignValue(reflect.ValueOf(&txt).Elem(), "noslash"); err == nil || !strings.Contains(err.Error(), "no slash") {
		t.Errorf("UnmarshalText error: %v", err)
	}
}

func TestAssignNone(t *testing.T) {
	t.Parallel()
	type S struct {
		I int
		P *int
		M map[string]int
		L []int
		A any
	}
	one := 1
	s := S{I: 5, P: &one, M: map[string]int{}, L: []int{1}, A: 1}
	src := dictOf("I", nil, "P", nil, "M", nil, "L", nil, "A", nil)
	if err := assignValue(reflect.ValueOf(&s).Elem(), src); err != nil {
		t.Fatal(err)
	}
	if s.I != 5 || s.P != nil || s.M != nil || s.L != nil || s.A != nil {
		t.Errorf("got %+v", s)
	}
}

func TestAssignInterfaceHoldingPointer(t *testing.T) {
	t.Parallel()
	// As with encoding/json, an interface holding a non-nil pointer is
	// decoded through.
	inner := &rtInner{}
	var v any = inner
	if err := assignValue(reflect.ValueOf(&v).Elem(), dictOf("A", int64(9))); err != nil {
		t.Fatal(err)
	}
	if v != any(inner) || inner.A != 9 {
		t.Errorf("v = %#v", v)
	}
}

func TestAssignSliceReuse(t *testing.T) {
	t.Parallel()
	s := make([]rtInner, 3, 10)
	s[0].B = "old"
	p := &s[0]
	if err := assignValue(reflect.ValueOf(&s).Elem(), []any{dictOf("A", int64(1))}); err != nil {
		t.Fatal(err)
	}
	// The backing array is reused, and elements start from zero.
	if len(s) != 1 || &s[0] != p || s[0] != (rtInner{A: 1}) {
		t.Errorf("s = %+v", s)
	}
	// An empty list gives an empty, non-nil slice.
	var e []int
	if err := assignValue(reflect.ValueOf(&e).Elem(), []any{}); err != nil || e == nil || len(e) != 0 {
		t.Errorf("e = %#v, %v", e, err)
	}
}

func TestAssignTime(t *testing.T) {
	t.Parallel()
	td := func(days, secs, us int64) *Object {
		return &Object{Kind: Reduce, Callable: Global{"datetime", "timedelta"}, Args: Tuple{days, secs, us}}
	}
	tz := func(args ...any) *Object {
		return &Object{Kind: Reduce, Callable: Global{"datetime", "timezone"}, Args: Tuple(args)}
	}
	state := []byte{0x07, 0xe4, 1, 2, 3, 4, 5, 0x00, 0x1a, 0x85}
	dt := func(args ...any) *Object {
		return &Object{Kind: Reduce, Callable: Global{"datetime", "datetime"}, Args: Tuple(args)}
	}
	base := time.Date(2020, 1, 2, 3, 4, 5, 6789000, time.UTC)
	cases := []struct {
		name string
		src  any
		want time.Time
		ok   bool
	}{
		{"naive is UTC", dt(state), base, true},
		{"None tzinfo", dt(state, nil), base, true},
		{"utc", dt(state, tz(td(0, 0, 0))), base, true},
		{"offset", dt(state, tz(td(-1, 82800, 0))), time.Date(2020, 1, 2, 3, 4, 5, 6789000, time.FixedZone("", -3600)), true},
		{"named offset", dt(state, tz(td(0, 3600, 0), "CET")), time.Date(2020, 1, 2, 3, 4, 5, 6789000, time.FixedZone("CET", 3600)), true},
		{"fold bit ignored", dt([]byte{0x07, 0xe4, 0x81, 2, 3, 4, 5, 0x00, 0x1a, 0x85}), base, true},
		{"py2 str state", dt(ByteString(state)), base, true},
		{"latin1 codecs state", dt(&Object{Kind: Reduce, Callable: Global{"_codecs", "encode"}, Args: Tuple{"\x07\u00e4\x01\x02\x03\x04\x05\x00\x1a\u0085", "latin1"}}), base, true},
		{"date", &Object{Kind: Reduce, Callable: Global{"datetime", "date"}, Args: Tuple{[]byte{0x07, 0xe4, 2, 29}}}, time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"str via UnmarshalText", "2020-01-02T03:04:05.006789Z", base, true},
		{"bad month", dt([]byte{0x07, 0xe4, 13, 2, 3, 4, 5, 0, 0, 0}), time.Time{}, false},
		{"Feb 30", dt([]byte{0x07, 0xe4, 2, 30, 3, 4, 5, 0, 0, 0}), time.Time{}, false},
		{"short state", dt([]byte{1, 2, 3}), time.Time{}, false},
		{"microseconds out of range", dt([]byte{0x07, 0xe4, 1, 2, 3, 4, 5, 0xff, 0xff, 0xff}), time.Time{}, false},
		{"sub-second offset", dt(state, tz(td(0, 0, 5))), time.Time{}, false},
		{"offset too large", dt(state, tz(td(1, 0, 0))), time.Time{}, false},
		{"other tzinfo", dt(state, &Object{Kind: Reduce, Callable: Global{"pytz", "_p"}, Args: Tuple{"Europe/Paris"}}), time.Time{}, false},
		{"int", int64(5), time.Time{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := assignInto[time.Time](c.src)
			if !c.ok {
				if !isErr[*UnmarshalTypeError](err) {
					t.Errorf("got %v, %v; want *UnmarshalTypeError", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, goff := got.Zone()
			_, woff := c.want.Zone()
			if !got.Equal(c.want) || goff != woff || got.Location().String() != c.want.Location().String() {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestAssignErrorPathObjectKey(t *testing.T) {
	t.Parallel()
	selfList := make([]any, 1)
	selfList[0] = selfList
	_, err := assignInto[map[int]map[string]int](dictOf(int64(1), dictOf(&Object{Callable: Global{"m", "C"}, Args: Tuple{selfList}}, int64(1))))
	var ute *UnmarshalTypeError
	if !errors.As(err, &ute) || ute.Field != "1.m.C object" {
		t.Errorf("err = %v", err)
	}
}

func TestAssignErrorPathLongKeys(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 200)
	_, err := assignInto[map[string]int](dictOf(long, "x"))
	var ute *UnmarshalTypeError
	if !errors.As(err, &ute) || ute.Field != strings.Repeat("é", 50)+"..." {
		t.Errorf("err = %v", err)
	}
	key := make(Tuple, 20)
	for i := range key {
		key[i] = int64(i)
	}
	_, err = assignInto[map[[20]int]int](dictOf(key, "x"))
	if !errors.As(err, &ute) || ute.Field != "(0, 1, 2, 3, 4, 5, 6, 7, ...)" {
		t.Errorf("err = %v", err)
	}
}

func TestAssignRecursive(t *testing.T) {
	t.Parallel()
	// A list holding itself cannot go into a typed Go value: an error,
	// not a hang or a stack overflow.
	type R []R
	l := make([]any, 1)
	l[0] = l
	_, err := assignInto[R](l)
	var ute *UnmarshalTypeError
	if !errors.As(err, &ute) || !strings.Contains(ute.Value, "recursive list") {
		t.Errorf("err = %v", err)
	}
	// Into any it is stored as it is.
	got, err := assignInto[any](l)
	if err != nil || &got.([]any)[0] != &l[0] {
		t.Errorf("any: %v", err)
	}
	// A dict holding itself, into a recursive map type.
	type M map[string]M
	d := NewDict()
	_ = d.Set("me", d)
	if _, err := assignInto[M](d); !isErr[*UnmarshalTypeError](err) {
		t.Errorf("recursive dict: err = %v", err)
	}
}

func TestAssignSharedIsLinear(t *testing.T) {
	t.Parallel()
	// 60 levels of a list holding the level below twice: 2^60 paths. The
	// decode must finish (it stores a shared container once).
	type R []R
	var v any = []any{}
	for range 60 {
		v = []any{v, v}
	}
	got, err := assignInto[R](v)
	if err != nil {
		t.Fatal(err)
	}
	depth := 0
	for r := got; len(r) == 2; r = r[0] {
		depth++
	}
	if depth != 60 {
		t.Errorf("depth %d", depth)
	}
}

func TestAssignDeepNesting(t *testing.T) {
	t.Parallel()
	type R []R
	var v any = []any{}
	for range maxDecodeDepth + 10 {
		v = []any{v}
	}
	_, err := assignInto[R](v)
	var ute *UnmarshalTypeError
	if !errors.As(err, &ute) || !strings.Contains(ute.Value, "nested deeper") {
		t.Errorf("err = %v", err)
	}
}

func TestAssignInvalid(t *testing.T) {
	t.Parallel()
	if err := assignValue(reflect.Value{}, int64(1)); !isErr[*InvalidUnmarshalError](err) {
		t.Errorf("invalid value: %v", err)
	}
	if err := assignValue(reflect.ValueOf(1), int64(1)); !isErr[*InvalidUnmarshalError](err) {
		t.Errorf("unsettable value: %v", err)
	}
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, "pickle: Unmarshal(nil)"},
		{1, "pickle: Unmarshal(non-pointer int)"},
		{(*int)(nil), "pickle: Unmarshal(nil *int)"},
	} {
		_, err := unmarshalTarget(c.v)
		if err == nil || err.Error() != c.want {
			t.Errorf("unmarshalTarget(%#v) = %v, want %q", c.v, err, c.want)
		}
	}
	n := 0
	if v, err := unmarshalTarget(&n); err != nil || !v.CanSet() {
		t.Errorf("unmarshalTarget(&n) = %v, %v", v, err)
	}
}

// rtRich exercises most of the mapping in a round trip.
type rtRich struct {
	ID       uint64
	Big      *big.Int
	Name     string `pickle:"name"`
	Score    float64
	Ratio    float32
	C        complex128
	On       bool
	Blob     []byte
	Hash     [4]byte
	Grid     [2][2]int
	Tags     []string
	Counts   map[string]int
	ByPair   map[[2]int]string
	Inner    rtInner
	InnerP   *rtInner
	Nodes    []*rtInner
	Any      any
	When     time.Time
	Text     rtText
	Tuple    rtTuple
	Skipped  string `pickle:"-"`
	Optional string `pickle:",omitempty"`
	rtEmbedded
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	in := rtRich{
		ID: math.MaxUint64, Big: new(big.Int).Lsh(big.NewInt(3), 100), Name: "n", Score: -1.25, Ratio: 0.5,
		C: complex(1, -1), On: true, Blob: []byte{0, 255}, Hash: [4]byte{1, 2, 3, 4},
		Grid: [2][2]int{{1, 2}, {3, 4}}, Tags: []string{"a", "é"},
		Counts: map[string]int{"x": 1, "y": -2}, ByPair: map[[2]int]string{{1, 2}: "p"},
		Inner: rtInner{A: 1, B: "b"}, InnerP: &rtInner{A: 2}, Nodes: []*rtInner{{A: 3}, nil},
		Any: "any", When: time.Date(2024, 2, 29, 12, 30, 0, 123456000, time.UTC),
		Text: rtText{"p", "q"}, Tuple: rtTuple{5, 6},
		rtEmbedded: rtEmbedded{E1: 7, Shadow: "sh"},
	}
	m, err := fromGo(reflect.ValueOf(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := assignInto[rtRich](m)
	if err != nil {
		t.Fatalf("%v\nmodel: %s", err, goRepr(m))
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n in %+v\nout %+v\nmodel %s", in, out, goRepr(m))
	}
	// The pointer-typed Big must be a copy, not the model's own int.
	if d := m.(*Dict); out.Big == mustGet(t, d, "Big") {
		t.Errorf("*big.Int aliases the model value")
	}
}

func mustGet(t *testing.T, d *Dict, k string) any {
	t.Helper()
	v, ok := d.Get(k)
	if !ok {
		t.Fatalf("no key %q", k)
	}
	return v
}

// TestAssignNeverPanics stores a spread of odd model values into a spread
// of Go types.
func TestAssignNeverPanics(t *testing.T) {
	t.Parallel()
	selfList := make([]any, 1)
	selfList[0] = selfList
	srcs := []any{
		nil, true, int64(-1), int64(1 << 40), new(big.Int).Lsh(big.NewInt(1), 200), (*big.Int)(nil), math.NaN(), math.Inf(-1),
		"", "x", []byte(nil), ByteArray("a"), ByteString("b"), []any{nil}, Tuple{Tuple{}}, selfList,
		dictOf(), dictOf("A", "x", Tuple{int64(1)}, nil, nil, nil), (*Dict)(nil), NewSet(), (*Set)(nil), (*FrozenSet)(nil), NewFrozenSet(),
		Global{}, &Object{}, (*Object)(nil), &Object{HasState: true, State: Tuple{int64(1), int64(2)}},
		&Object{Callable: Global{"datetime", "datetime"}, Args: Tuple{nil, nil}},
		&Object{Callable: Global{"builtins", "complex"}, Args: Tuple{"x"}},
		&Object{Callable: Global{"datetime", "datetime"}, Args: Tuple{[]byte("0123456789"), &Object{Callable: Global{"datetime", "timezone"}}}},
		&Object{Callable: Global{"collections", "OrderedDict"}, DictItems: []Item{{[]any{}, nil}}},
		// An object key holding a recursive list: error paths name it by
		// type only (fmt would recurse forever).
		dictOf(&Object{Callable: Global{"m", "C"}, Args: Tuple{selfList}}, int64(1)),
		// Keys whose parts cannot be Go map keys.
		dictOf(Tuple{Tuple{int64(1)}, []byte("b")}, int64(1), Tuple{[]byte("x"), nil}, int64(2)),
		func() any { s := NewFrozenSet(); _ = s.Add(Tuple{Tuple{}}); return s }(),
		struct{}{}, 42, // not model values at all
	}
	type S struct {
		A int
		B []S
		M map[[1]int]*S
		*rtEmbeddedPtr
	}
	targets := []any{
		new(any), new(int), new(uint8), new(float32), new(complex64), new(bool), new(string), new([]byte), new([1]byte),
		new([]int), new([2]any), new(map[string]int), new(map[[2]string]bool), new(map[any]any), new(map[float64]struct{}),
		new(S), new(*S), new(**S), new(time.Time), new(big.Int), new(*big.Int), new(Tuple), new(*Dict), new(Global),
		new(ByteString), new(*Object), new(fmt.Stringer), new(error), new(rtText), new(rtHook), new(rtTuple), new(chan int),
		new(func()), new(struct{ F func() }), new([]map[string][]*int), new(map[int]int),
		new(map[[2]any]int), new(map[struct{ A any }]int), new(map[any]bool),
	}
	for _, src := range srcs {
		for _, dst := range targets {
			v := reflect.New(reflect.TypeOf(dst).Elem()).Elem()
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("assignValue(%s, %s) panicked: %v", v.Type(), goRepr(src), r)
					}
				}()
				_ = assignValue(v, src)
				// Again into a value that now holds something.
				_ = assignValue(v, src)
			}()
		}
	}
}

// rtSelfPtr is a pointer type that points to itself.
type rtSelfPtr *rtSelfPtr

// TestAssignSelfPointerType checks that a value stored through a pointer
// type that points to itself is an error, not an endless descent.
func TestAssignSelfPointerType(t *testing.T) {
	t.Parallel()
	var p rtSelfPtr
	err := assignValue(reflect.ValueOf(&p).Elem(), int64(1))
	var ute *UnmarshalTypeError
	if !errors.As(err, &ute) || !strings.Contains(ute.Value, "pointers") {
		t.Errorf("got %v, want an *UnmarshalTypeError about pointers", err)
	}
	data, err := Marshal(int64(1))
	if err != nil {
		t.Fatal(err)
	}
	var q rtSelfPtr
	if err := Unmarshal(data, &q); !errors.As(err, &ute) {
		t.Errorf("Unmarshal: got %v, want an *UnmarshalTypeError", err)
	}
	if err := Unmarshal([]byte("N."), &q); err != nil || q != nil {
		t.Errorf("Unmarshal None: %v, %v", q, err)
	}
}
