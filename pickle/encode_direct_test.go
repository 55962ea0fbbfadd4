package pickle

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

// marshalReference pickles v on the reference path (fromGo, then the
// model), which the direct path must match.
func marshalReference(v any, proto int) ([]byte, error) {
	var e encodeState
	e.noDirect = true
	err := e.marshal(v, proto)
	return e.buf, err
}

// marshalDirect pickles v on the direct path only (no retry on the
// reference path after an error).
func marshalDirect(v any, proto int) ([]byte, error) {
	var e encodeState
	err := e.marshalOnce(v, proto)
	return e.buf, err
}

// checkDirect checks that Marshal gives the reference path's bytes or
// error at every protocol, and that the direct path alone gives the same
// bytes whenever it succeeds.
func checkDirect(t *testing.T, name string, v any) {
	t.Helper()
	checkDirectProtocols(t, name, v, 2, 3, 4, 5)
}

func checkDirectProtocols(t *testing.T, name string, v any, protos ...int) {
	t.Helper()
	for _, proto := range protos {
		want, werr := marshalReference(v, proto)
		got, gerr := MarshalProtocol(v, proto)
		switch {
		case (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error():
			t.Errorf("%s, protocol %d: error %v, reference path %v", name, proto, gerr, werr)
		case werr == nil && !bytes.Equal(got, want):
			t.Errorf("%s, protocol %d:\n got %x\nwant %x", name, proto, got, want)
		}
		direct, derr := marshalDirect(v, proto)
		if derr == nil && (werr != nil || !bytes.Equal(direct, want)) {
			t.Errorf("%s, protocol %d: direct path alone gave %x, reference %x, %v", name, proto, direct, want, werr)
		}
	}
}

type deStrings struct {
	A, B string
	C    []string
	D    map[string]string
}

type deShared struct {
	P, Q *rtInner
	S, T []int
	B, C []byte
	M, N map[string]int
	I, J any
}

type deOne struct {
	Only []float64 `pickle:"only"`
}

type deNone struct{ x int }

type deOmit struct {
	A int    `pickle:",omitempty"`
	B string `pickle:",omitempty"`
	C []int  `pickle:",omitzero"`
}

type deMaps struct {
	I8  map[int8]string
	U   map[uint64]int
	U8  map[uint8]bool
	Str map[rtCelsiusKey]float32
	Any map[string]any
	Nst map[string]map[int][]string
}

type rtCelsiusKey string

// deShareModel returns the same *Dict from every call, holding a Go value
// that conversion copies.
type deShareModel struct{ d *Dict }

func (s deShareModel) MarshalPickle() (any, error) { return s.d, nil }

type deBig struct {
	Items []deOne
	Names map[string]int
	Text  string
}

type deIfaces struct {
	A, B, C, D, E, F any
}

type deNamedSlices struct {
	F []rtCelsius
	G []float32
	H []int64
	I []RTInt
	J [3]float64
	K []uint
}

func directCases() []struct {
	name string
	v    any
} {
	shared := "shared string, long enough not to be interned"
	ints := []int{1, 2, 3}
	inner := &rtInner{A: 1, B: "b"}
	blob := []byte("blob")
	m := map[string]int{"k": 1}
	maxU := uint64(math.MaxUint64)
	bigList := make([]deOne, 2100)
	for i := range bigList {
		bigList[i].Only = []float64{float64(i)}
	}
	names := map[string]int{}
	for i := range 1000 {
		names[fmt.Sprint("n", i)] = i
	}
	sm := deShareModel{d: dictOf("go", []int{1, 2})}
	var cycle rtNode
	cycle.Next = &cycle
	deep := &rtNode{Name: "end"}
	for range 3000 {
		deep = &rtNode{Name: "n", Next: deep}
	}
	tooDeep := &rtNode{Name: "end"}
	for range 6000 {
		tooDeep = &rtNode{Name: "n", Next: tooDeep}
	}
	return []struct {
		name string
		v    any
	}{
		{"bench struct", benchStructValue()},
		{"bench struct value", *benchStructValue()},
		{"empty vals", benchStruct{ID: -1, Vals: []float64{}}},
		{"nil vals", benchStruct{ID: math.MaxInt}}, // 2**63-1 (2**31-1 on 32-bit systems)
		{"tagged", rtTagged{
			Name: "n", Skip: 1, Dash: 2, private: 3,
			rtEmbedded:    rtEmbedded{E1: 4, Shadow: "hidden"},
			rtEmbeddedPtr: &rtEmbeddedPtr{EP: "ep"},
			Shadow:        5, P: &rtInner{A: 6, B: "b"}, M: map[string]int{"b": 2, "a": 1},
			S: []int{1}, Bytes: []byte{1}, Arr: [2]int{3, 4}, ByteArr: [3]byte{5, 6, 7},
			Any: []any{1, "x"}, U: maxU, F32: 0.1,
		}},
		{"tagged zero", rtTagged{}},
		{"rich", rtRich{
			ID: math.MaxUint64, Big: new(big.Int).Lsh(big.NewInt(3), 100), Name: "n", Score: -1.25, Ratio: 0.5,
			C: complex(1, -1), On: true, Blob: []byte{0, 255}, Hash: [4]byte{1, 2, 3, 4},
			Grid: [2][2]int{{1, 2}, {3, 4}}, Tags: []string{"a", "é"},
			Counts: map[string]int{"x": 1, "y": -2}, ByPair: map[[2]int]string{{1, 2}: "p"},
			Inner: rtInner{A: 1, B: "b"}, InnerP: &rtInner{A: 2}, Nodes: []*rtInner{{A: 3}, nil},
			Any: "any", When: time.Date(2024, 2, 29, 12, 30, 0, 123456000, time.UTC),
			Text: rtText{"p", "q"}, Tuple: rtTuple{5, 6},
			rtEmbedded: rtEmbedded{E1: 7, Shadow: "sh"},
		}},
		{"shared strings", deStrings{A: shared, B: shared, C: []string{shared, shared[:5], "", "x", "é"}, D: map[string]string{shared: shared}}},
		{"shared containers", deShared{P: inner, Q: inner, S: ints, T: ints, B: blob, C: blob, M: m, N: m, I: inner, J: blob}},
		{"shared model with go values", []deShareModel{sm, sm, sm}},
		{"shared model in map", map[string]deShareModel{"a": sm, "b": sm}},
		{"one field", deOne{Only: []float64{1}}},
		{"no fields", deNone{x: 1}},
		{"omit all", deOmit{}},
		{"omit one left", deOmit{B: "b"}},
		{"omit none", deOmit{A: 1, B: "b", C: []int{}}},
		{"maps", deMaps{
			I8:  map[int8]string{-128: "a", 127: "b", 0: "c"},
			U:   map[uint64]int{maxU: 1, 0: 2, 1 << 63: 3, 5: 4},
			U8:  map[uint8]bool{1: true},
			Str: map[rtCelsiusKey]float32{"z": 1, "a": 2},
			Any: map[string]any{"x": nil, "y": []any{inner}, "z": &Dict{}},
			Nst: map[string]map[int][]string{"k": {2: {"a"}, 1: nil}},
		}},
		{"empty maps", deMaps{I8: map[int8]string{}, Any: map[string]any{}}},
		{"big batches", deBig{Items: bigList, Names: names, Text: strings.Repeat("t", 70000)}},
		{"long strings frame", []string{strings.Repeat("a", 40000), strings.Repeat("b", 40000), strings.Repeat("c", 300)}},
		{"interfaces", deIfaces{A: 1, B: uint8(3), C: rtInner{}, D: &rtInner{}, E: time.Unix(0, 0).UTC(), F: Tuple{1, "x"}}},
		{"named slices", deNamedSlices{
			F: []rtCelsius{1, 2, 3}, G: []float32{0.1, 0.2}, H: []int64{1 << 40, -1},
			I: []RTInt{1, 2}, J: [3]float64{1, 2, 3}, K: []uint{uint(maxU >> 1), uint(maxU)},
		}},
		{"floats 2500", func() any {
			f := make([]float64, 2500)
			for i := range f {
				f[i] = float64(i) / 3
			}
			return f
		}()},
		{"ints 2500", func() any {
			f := make([]int, 2500)
			for i := range f {
				f[i] = i * 1000
			}
			return f
		}()},
		{"big float list frames", make([]float64, 20000)},
		{"nested in model", []any{benchStructValue(), map[string]int{"a": 1}}},
		{"marshalers", []any{rtTuple{1, 2}, &rtPtrMarshaler{3}, struct{ M rtPtrMarshaler }{rtPtrMarshaler{5}}, rtText{"a", "b"}}},
		{"complex and byte arrays", struct {
			C complex64
			B [0]byte
			A [2]byte
			E []byte
		}{C: 1, E: []byte{}}},
		{"time", time.Date(2024, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 3600))},
		{"times", []time.Time{time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC), time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)}},
		{"deep", deep},
		// Errors: the reference path's error must come out.
		{"cycle", &cycle},
		{"too deep", tooDeep},
		{"failing marshaler", []rtFailing{{}}},
		{"self marshaler", rtSelf{1}},
		{"bad text", map[string]rtBadText{"a": {}}},
		{"bad utf8", deStrings{A: "ok", B: "\xff"}},
		{"bad utf8 key", map[string]int{"\xfe": 1}},
		{"channel", struct{ C chan int }{}},
		{"func in map", map[string]any{"f": func() {}}},
		{"struct key", map[rtInner]int{{}: 1}},
		{"time out of range", struct{ T time.Time }{}},
		{"error after output", []any{strings.Repeat("x", 70000), benchStructValue(), make(chan int)}},
	}
}

func TestDirectEncodeMatchesReference(t *testing.T) {
	t.Parallel()
	for _, c := range directCases() {
		checkDirect(t, c.name, c.v)
	}
}

// TestDirectEncodeUsed checks that the bench struct takes the direct path
// and gives its dict's pickle.
func TestDirectEncodeUsed(t *testing.T) {
	t.Parallel()
	var e encodeState
	if err := e.marshalOnce(benchStructValue(), 4); err != nil {
		t.Fatal(err)
	}
	if !e.usedDirect {
		t.Fatal("the bench struct did not take the direct path")
	}
	want, err := Marshal(benchSmallDict())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.buf, want) {
		t.Errorf("got %x, want %x", e.buf, want)
	}
}

func TestDirectEncodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	v := benchStructValue()
	buf, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		buf, err = AppendMarshal(buf[:0], v, DefaultProtocol)
	})
	if err != nil || allocs != 0 {
		t.Errorf("AppendMarshal of the bench struct: %v allocations, error %v", allocs, err)
	}
}

// TestDirectEncodeRetryErrors checks that an error found on the direct
// path is the reference path's, and leaves dst as it was.
func TestDirectEncodeRetryErrors(t *testing.T) {
	t.Parallel()
	dst := []byte("prefix")
	out, err := AppendMarshal(dst, deStrings{A: "ok", B: "\xff"}, 4)
	var uve *UnsupportedValueError
	if !errors.As(err, &uve) || string(out) != "prefix" {
		t.Errorf("got %q, %v; want the prefix and an *UnsupportedValueError", out, err)
	}
	_, err = Marshal(struct{ C chan int }{})
	var ute *UnsupportedTypeError
	if !errors.As(err, &ute) || ute.Type != reflect.TypeFor[chan int]() {
		t.Errorf("got %v, want an *UnsupportedTypeError for chan int", err)
	}
}

// FuzzDirectEncode: the Go values that fuzzed pickles decode into (typed
// targets of many kinds, including shared strings and partial values
// left by type errors) encode to the same bytes, or fail the same way, on
// the direct path as on the reference path.
func FuzzDirectEncode(f *testing.F) {
	for _, c := range ddValues() {
		if data, err := MarshalProtocol(c.v, 4); err == nil {
			f.Add(data)
		}
	}
	for _, c := range ddRaw() {
		f.Add(c.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		targets := append(ddTargets(), new(rtTagged), new(map[string]any), new(map[int8][]string), new([]any), new(any))
		for _, p := range targets {
			_ = Unmarshal(data, p)
			// Protocol 2 (BINPUT, no frames) and 5 (MEMOIZE, frames).
			checkDirectProtocols(t, reflect.TypeOf(p).String(), p, 2, 5)
		}
	})
}
