package pickle

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
)

func TestEncodeErrors(t *testing.T) {
	var uve *UnsupportedValueError
	if _, err := Marshal("\xff"); !errors.As(err, &uve) {
		t.Errorf("invalid UTF-8: %v", err)
	}
	for _, p := range []int{0, 1, 6} {
		if _, err := MarshalProtocol(nil, p); err == nil {
			t.Errorf("protocol %d accepted", p)
		}
	}
	if err := NewEncoder(&bytes.Buffer{}).SetProtocol(7); err == nil {
		t.Error("SetProtocol(7) accepted")
	}
	deep := []any{}
	for i := 0; i < 20000; i++ {
		deep = []any{deep}
	}
	var le *LimitError
	if _, err := Marshal(deep); !errors.As(err, &le) {
		t.Errorf("deep nesting: %v", err)
	}
	if _, err := Marshal(struct{ A chan int }{}); err == nil {
		t.Error("a struct with a channel was accepted")
	}
	if _, err := Marshal(Global{"m", "a\nb"}); err == nil {
		// Only an error below protocol 4 (GLOBAL is line-based).
		t.Log("newline in a global name accepted at protocol 4 (STACK_GLOBAL)")
	}
	if _, err := MarshalProtocol(Global{"m", "a\nb"}, 2); !errors.As(err, &uve) {
		t.Errorf("newline in GLOBAL: %v", err)
	}
}

func TestEncodeInts(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{int64(0), "K\x00"},
		{uint8(255), "K\xff"},
		{256, "M\x00\x01"},
		{int32(-1), "J\xff\xff\xff\xff"},
		{int64(math.MaxInt64), "\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f"},
		{int64(math.MinInt64), "\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80"},
		{uint64(math.MaxUint64), "\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00"},
		{int64(-128 << 24), "J\x00\x00\x00\x80"},
		{int64(-(1 << 39)), "\x8a\x05\x00\x00\x00\x00\x80"},
		// Checked against CPython 3.12's pickle.dumps(x, 2).
		{pow2(2031), "\x8a\xff" + strings.Repeat("\x00", 253) + "\x80\x00"},
		{pow2(2039), "\x8b\x00\x01\x00\x00" + strings.Repeat("\x00", 254) + "\x80\x00"},
		{pow2(2040), "\x8b\x00\x01\x00\x00" + strings.Repeat("\x00", 255) + "\x01"},
		{new(big.Int).Neg(pow2(2047)), "\x8b\x00\x01\x00\x00" + strings.Repeat("\x00", 255) + "\x80"},
	}
	for _, c := range cases {
		got, err := MarshalProtocol(c.v, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := "\x80\x02" + c.want + "."
		if string(got) != want {
			t.Errorf("%v: got %x, want %x", c.v, got, want)
		}
		var v any
		if err := Unmarshal(got, &v); err != nil {
			t.Fatal(err)
		}
		wantV := toInt(c.v)
		if !Equal(v, wantV) {
			t.Errorf("%v decoded as %v", c.v, v)
		}
	}
}

func pow2(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }

func toInt(v any) any {
	switch x := v.(type) {
	case uint8:
		return int64(x)
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint64:
		return normInt(new(big.Int).SetUint64(x))
	case *big.Int:
		return normInt(x)
	}
	return v
}

func TestEncodeRecursive(t *testing.T) {
	d := NewDict()
	d.Set("self", d)
	o := &Object{Kind: NewObj, Callable: Global{"m", "C"}, Args: Tuple{}}
	st := NewDict()
	st.Set("me", o)
	o.HasState, o.State = true, st
	for _, v := range []any{d, o} {
		for p := 2; p <= 5; p++ {
			b, err := MarshalProtocol(v, p)
			if err != nil {
				t.Fatal(err)
			}
			var w any
			if err := Unmarshal(b, &w); err != nil {
				t.Fatal(err)
			}
			if !Equal(v, w) {
				t.Fatalf("protocol %d: %#v", p, w)
			}
		}
	}
	b, _ := Marshal(d)
	var w any
	Unmarshal(b, &w)
	if self, _ := w.(*Dict).Get("self"); self != w {
		t.Fatal("self-reference lost")
	}
}

func TestEncodeStringMap(t *testing.T) {
	b, err := Marshal(map[string]any{"b": int64(2), "a": int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	// pickle.dumps({'a': 1, 'b': 2}, 4)
	want := "\x80\x04\x95\x11\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94K\x01\x8c\x01b\x94K\x02u."
	if string(b) != want {
		t.Fatalf("got %q", b)
	}
}

// TestEncodeNoAllocs: encoding a small message into a reused buffer
// allocates nothing.
func TestEncodeNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	v := benchSmallDict()
	buf, _ := Marshal(v)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		buf, err = AppendMarshal(buf[:0], v, DefaultProtocol)
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("AppendMarshal allocated %v times per call", allocs)
	}
	var out bytes.Buffer
	enc := NewEncoder(&out)
	enc.Encode(v)
	out.Reset()
	allocs = testing.AllocsPerRun(100, func() {
		out.Reset()
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Encoder.Encode allocated %v times per call", allocs)
	}
}

// TestDecodeAllocs: decoding the small message allocates only its result:
// the dict (with room for a few items), the list's array and its interface
// box, one block for the string bytes, one slab each for boxed strings and
// numbers, and the *any the test decodes into.
func TestDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	data, _ := Marshal(benchSmallDict())
	allocs := testing.AllocsPerRun(100, func() {
		var v any
		if err := Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 7 {
		t.Errorf("Unmarshal allocated %v times per call", allocs)
	}
	t.Logf("%v allocations", allocs)
}
