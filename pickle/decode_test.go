package pickle

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func mustDecodeAny(t *testing.T, data string) any {
	t.Helper()
	var v any
	if err := Unmarshal([]byte(data), &v); err != nil {
		t.Fatalf("Unmarshal(%q): %v", data, err)
	}
	return v
}

func mkDict(kv ...any) *Dict {
	d := NewDict()
	for i := 0; i < len(kv); i += 2 {
		if err := d.Set(kv[i], kv[i+1]); err != nil {
			panic(err)
		}
	}
	return d
}

// Pickles written by CPython 2.7 at protocols 0 and 1 (printed by
// pickle.dumps / cPickle.dumps, see the comments).
func TestDecodePython2Text(t *testing.T) {
	// pickle.dumps([o, u'\u20ac\\u', 'S\'q\n', 3L, 1.5, True, None, (1,2)], 0)
	// with o an old-style __main__.O instance with o.a = 1.
	p0 := "(lp0\n(i__main__\nO\np1\n(dp2\nS'a'\np3\nI1\nsbaV\\u20ac\\u005cu\np4\naS\"S'q\\n\"\np5\naL3L\naF1.5\naI01\naNa(I1\nI2\ntp6\na."
	v := mustDecodeAny(t, p0)
	o := &Object{Kind: Inst, Callable: Global{"__main__", "O"}, Args: Tuple{}, HasState: true,
		State: mkDict(ByteString("a"), int64(1))}
	want := []any{o, "€\\u", ByteString("S'q\n"), int64(3), 1.5, true, nil, Tuple{int64(1), int64(2)}}
	if !Equal(v, want) {
		t.Fatalf("protocol 0: got %#v", v)
	}
	// cPickle.dumps([o, 5L], 1)
	p1 := "]q\x01((c__main__\nO\nq\x02oq\x03}q\x04U\x01aK\x01sbL5L\ne."
	v = mustDecodeAny(t, p1)
	if !Equal(v, []any{o, int64(5)}) {
		t.Fatalf("protocol 1: got %#v", v)
	}
	if Protocol([]byte(p0)) != 0 || Protocol([]byte(p1)) != 1 {
		t.Errorf("Protocol: %d, %d", Protocol([]byte(p0)), Protocol([]byte(p1)))
	}
}

func TestDecodeTextOpcodes(t *testing.T) {
	big1, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	cases := []struct {
		name, data string
		want       any
	}{
		{"INT true", "I01\n.", true},
		{"INT false", "I00\n.", false},
		{"INT 1", "I1\n.", int64(1)},
		{"INT octal like C", "I010\n.", int64(8)},
		{"INT hex", "I0x10\n.", int64(16)},
		{"INT spaces", "I 5\n.", int64(5)},
		{"INT big", "I123456789012345678901234567890\n.", big1},
		{"LONG", "L123456789012345678901234567890L\n.", big1},
		{"LONG small", "L-5L\n.", int64(-5)},
		{"FLOAT", "F-2.5\n.", -2.5},
		{"STRING escapes", `S'a\x41\101\n\\\'"'` + "\n.", ByteString("aAA\n\\'\"")},
		{"STRING double quotes", "S\"it's\"\n.", ByteString("it's")},
		{"UNICODE escapes", "V\\u00e9\\U0001F600\\\\u0041\n.", "é😀\\\\u0041"},
		{"UNICODE latin1 bytes", "V\xe9\n.", "é"},
		{"UNICODE surrogate", "V\\ud800\n.", "\xed\xa0\x80"},
		{"PUT GET", "(lp0\nI1\nag0\n0g0\n.", []any{int64(1)}},
		{"DICT", "(S'a'\nI1\nd.", mkDict(ByteString("a"), int64(1))},
		{"TUPLE", "(I1\nI2\nt.", Tuple{int64(1), int64(2)}},
		{"POP_MARK", "I7\n(I1\nI2\n1.", int64(7)},
		{"POP mark", "I7\n(0.", int64(7)},
		{"DUP", "]2a.", nil}, // checked below
		{"LONG1 negative", "\x80\x02\x8a\x02\x00\x80.", int64(-32768)},
		{"LONG1 zero length", "\x80\x02\x8a\x00.", int64(0)},
		{"LONG4", "\x80\x02\x8b\x01\x00\x00\x00\xff.", int64(-1)},
		{"BINSTRING", "T\x03\x00\x00\x00abc.", ByteString("abc")},
		{"BINUNICODE8", "\x80\x04\x8d\x01\x00\x00\x00\x00\x00\x00\x00x.", "x"},
		{"BINBYTES8", "\x80\x04\x8e\x01\x00\x00\x00\x00\x00\x00\x00x.", []byte("x")},
		{"py2 set", "\x80\x02c__builtin__\nset\nq\x00]q\x01(K\x01K\x02e\x85q\x02Rq\x03.", func() any { s := NewSet(); s.Add(int64(1)); s.Add(int64(2)); return s }()},
		{"py3 frozenset p2", "\x80\x02c__builtin__\nfrozenset\nq\x00]q\x01\x85q\x02Rq\x03.", NewFrozenSet()},
		{"bytes p2", "\x80\x02c_codecs\nencode\nq\x00X\x03\x00\x00\x00abcq\x01X\x06\x00\x00\x00latin1q\x02\x86q\x03Rq\x04.", []byte("abc")},
		{"bytes latin1 p2", "\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00\xc3\xbfX\x06\x00\x00\x00latin1\x86R.", []byte{0xff}},
		{"empty bytes p2", "\x80\x02c__builtin__\nbytes\nq\x00)Rq\x01.", []byte{}},
		{"bytearray p2 (3.13)", "\x80\x02c__builtin__\nbytearray\nq\x00c_codecs\nencode\nq\x01X\x02\x00\x00\x00abq\x02X\x06\x00\x00\x00latin1q\x03\x86q\x04Rq\x05\x85q\x06Rq\x07.", ByteArray("ab")},
		{"bytearray p2 (str, latin-1)", "\x80\x02c__builtin__\nbytearray\nX\x02\x00\x00\x00abU\x07latin-1\x86R.", ByteArray("ab")},
		{"empty bytearray p3", "\x80\x03cbuiltins\nbytearray\nq\x00)Rq\x01.", ByteArray{}},
		{"py2 exception name", "\x80\x02cexceptions\nValueError\nq\x00X\x01\x00\x00\x00xq\x01\x85q\x02Rq\x03.",
			&Object{Callable: Global{"builtins", "ValueError"}, Args: Tuple{"x"}}},
		{"p3 keeps names", "\x80\x03c__builtin__\nset\n)R.", &Object{Callable: Global{"__builtin__", "set"}, Args: Tuple{}}},
		{"sparse PUT", "\x80\x02K\x05r\xff\xff\xff\x000j\xff\xff\xff\x00.", int64(5)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := mustDecodeAny(t, c.data)
			if c.name == "DUP" {
				l := v.([]any)
				if len(l) != 1 {
					t.Fatalf("got %#v", v)
				}
				inner, ok := l[0].([]any)
				if !ok || len(inner) != 1 {
					t.Fatalf("got %#v", v)
				}
				return
			}
			if !Equal(v, c.want) {
				t.Fatalf("got %#v, want %#v", v, c.want)
			}
		})
	}
}

func TestDecodeRecursiveShapes(t *testing.T) {
	// [l] with l.append(l) at protocol 4: l[0] is l.
	v := mustDecodeAny(t, "\x80\x04]\x94h\x00a.")
	l := v.([]any)
	if len(l) != 1 {
		t.Fatalf("got %d items", len(l))
	}
	if inner := l[0].([]any); &inner[0] != &l[0] {
		t.Fatal("self-reference lost")
	}
	// A list appended to after it was stored in a dict (via the memo):
	// {'k': l}, then l.append(1) through GET.
	v = mustDecodeAny(t, "\x80\x04}\x94(\x8c\x01k]\x94u0h\x01K\x01a0h\x00.")
	d := v.(*Dict)
	got, _ := d.Get("k")
	if !Equal(got, []any{int64(1)}) {
		t.Fatalf("late append lost: %#v", got)
	}
	// Shared empty list keeps its identity through a re-encoding.
	v = mustDecodeAny(t, "\x80\x04]\x94(]\x94h\x01e.")
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := "\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00]\x94(]\x94h\x01e."; string(b) != want {
		t.Fatalf("re-encoded %x, want %x", b, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name, data, msg string
	}{
		{"empty", "", "truncated"},
		{"bad opcode", "\xff", "invalid opcode"},
		{"proto 6", "\x80\x06N.", "unsupported pickle protocol"},
		{"no STOP", "N", "truncated"},
		{"underflow", ".", "underflow"},
		{"mark at STOP", "(.", "MARK"},
		{"no mark", "e", "MARK"},
		{"memo missing", "h\x05.", "memo value not found"},
		{"huge BINBYTES8", "\x80\x04\x8e\x00\x00\x00\x00\x00\x00\x00\x10", hugeLenMsg},
		{"BINUNICODE8 2**63", "\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x80", "too large"},
		{"BINBYTES8 beyond data", "\x80\x04\x8e\x00\x00\x00\x00\x01\x00\x00\x00", hugeLenMsg},
		{"BINBYTES beyond data", "\x80\x03B\xff\xff\xff\x00ab", "truncated"},
		{"LONG4 negative", "\x80\x02\x8b\xff\xff\xff\xff", "negative"},
		{"LONG4 huge", "\x80\x02\x8b\xff\xff\xff\x00", "truncated"},
		{"FRAME beyond data", "\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00N.", "FRAME"},
		{"bad utf8", "\x80\x04\x8c\x01\xff\x94.", "UTF-8"},
		{"persid", "Pabc\n.", "persistent"},
		{"binpersid", "N\x51.", "persistent"},
		{"ext1", "\x80\x02\x82\x01.", "extension"},
		{"next_buffer", "\x80\x05\x97.", "out-of-band"},
		{"unquoted STRING", "Sabc\n.", "quoted"},
		{"odd SETITEMS", "}(K\x01u.", "odd"},
		{"unhashable key", "}]K\x01s.", "unhashable"},
		{"append to dict", "}K\x01a.", "APPEND"},
		{"REDUCE non tuple", "cm\nf\nK\x01R.", "tuple"},
		{"STACK_GLOBAL non str", "\x80\x04K\x01K\x02\x93.", "str"},
		{"bad INT", "Ixyz\n.", "int"},
		{"bad FLOAT", "Fxyz\n.", "float"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v any
			err := Unmarshal([]byte(c.data), &v)
			if err == nil {
				t.Fatalf("no error, got %#v", v)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %q does not mention %q", err, c.msg)
			}
			if !strings.HasPrefix(err.Error(), "pickle: ") {
				t.Errorf("error %q lacks the pickle: prefix", err)
			}
		})
	}
	var v any
	err := Unmarshal([]byte("\x80\x04N"), &v)
	var se *SyntaxError
	if !errors.As(err, &se) || !errors.Is(err, io.ErrUnexpectedEOF) || se.Offset != 3 {
		t.Fatalf("truncated: %#v", err)
	}
}

func TestDecodeTruncationsNeverPanic(t *testing.T) {
	for _, tc := range specVectors() {
		full, _ := hex.DecodeString(tc.hex)
		for i := 0; i < len(full)-1; i++ {
			var v any
			if err := Unmarshal(full[:i], &v); err == nil {
				// Some prefixes end on a STOP only for the last byte.
				t.Errorf("%s: prefix %d decoded without error", tc.name, i)
			}
			// Streaming: the same through a Decoder.
			if err := NewDecoder(bytes.NewReader(full[:i])).Decode(&v); err == nil {
				t.Errorf("%s: stream prefix %d decoded without error", tc.name, i)
			}
		}
	}
}

func TestDecodeLimits(t *testing.T) {
	deep := strings.Repeat("(", 50) + "N" + strings.Repeat("t", 50) + "."
	d := NewBytesDecoder([]byte(deep))
	d.SetLimits(Limits{MaxDepth: 10})
	var v any
	var le *LimitError
	if err := d.Decode(&v); !errors.As(err, &le) || le.Limit != "depth" {
		t.Fatalf("depth: %v", err)
	}
	if err := Unmarshal([]byte(deep), &v); err != nil {
		t.Fatalf("default limits: %v", err)
	}
	memo := "\x80\x04N" + strings.Repeat("\x94", 100) + "."
	d = NewBytesDecoder([]byte(memo))
	d.SetLimits(Limits{MaxMemo: 50})
	if err := d.Decode(&v); !errors.As(err, &le) || le.Limit != "memo" {
		t.Fatalf("memo: %v", err)
	}
	items := "(" + strings.Repeat("N", 100) + "l."
	d = NewBytesDecoder([]byte(items))
	d.SetLimits(Limits{MaxItems: 50})
	if err := d.Decode(&v); !errors.As(err, &le) || le.Limit != "items" {
		t.Fatalf("items: %v", err)
	}
}

// TestDecodeAmplification: shared references must not make the decoder
// do work or keep memory out of proportion to the input.
func TestDecodeAmplification(t *testing.T) {
	// t0 = (0,), t_{i+1} = (t_i, t_i): hashing t_60 naively is 2**60 work.
	var b strings.Builder
	b.WriteString("\x80\x04K\x00\x85\x94")
	for i := 0; i < 60; i++ {
		b.WriteString("h")
		b.WriteByte(byte(i))
		b.WriteString("h")
		b.WriteByte(byte(i))
		b.WriteString("\x86\x94")
	}
	// The key of a long tuple is a digest made once per tuple, so the
	// tower costs one per level (CPython, which does not cache the hashes
	// of tuples, would hash 2**60 members).
	s := b.String() + "}h\x3cNs."
	var v any
	if err := Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("hashing a shared tuple tower: %v", err)
	}
	if d, ok := v.(*Dict); !ok || d.Len() != 1 {
		t.Fatalf("got %v", v)
	}
	var le *LimitError
	var err error
	// set(l) repeated on one big list: quadratic copying without a budget.
	b.Reset()
	b.WriteString("\x80\x02]q\x00(")
	for i := 0; i < 20000; i++ {
		b.WriteString("K\x01")
	}
	b.WriteString("e")
	for i := 0; i < 20000; i++ {
		b.WriteString("c__builtin__\nset\nh\x00\x85R0")
	}
	b.WriteString(".")
	err = Unmarshal([]byte(b.String()), &v)
	if !errors.As(err, &le) || le.Limit != "allocation" {
		t.Fatalf("repeated set(list): %v", err)
	}
}

func TestDecoderStream(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for _, v := range []any{int64(1), "two", []any{3.0}} {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	dec := NewDecoder(&oneByteReader{&buf})
	var got []any
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if !Equal(got, []any{int64(1), "two", []any{3.0}}) {
		t.Fatalf("got %#v", got)
	}
}

type oneByteReader struct{ r io.Reader }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return r.r.Read(p)
}

func TestOutOfBandBuffers(t *testing.T) {
	// CPython 3.13: pickle.dumps([PickleBuffer(bytearray(b'ab')),
	// PickleBuffer(b'cd')], 5, buffer_callback=bufs.append).
	data := []byte("\x80\x05\x95\x08\x00\x00\x00\x00\x00\x00\x00]\x94(\x97\x97\x98e.")
	d := NewBytesDecoder(data)
	d.SetBuffers([][]byte{[]byte("ab"), []byte("cd")})
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if !Equal(v, []any{ByteArray("ab"), []byte("cd")}) {
		t.Fatalf("got %#v", v)
	}
	d = NewBytesDecoder(data)
	d.SetBuffers([][]byte{[]byte("ab")})
	if err := d.Decode(&v); err == nil || !strings.Contains(err.Error(), "not enough") {
		t.Fatalf("too few buffers: %v", err)
	}
}

func TestUnmarshalTargets(t *testing.T) {
	data, _ := Marshal("x")
	var s string
	if err := Unmarshal(data, &s); err != nil || s != "x" {
		t.Fatalf("into *string: %q, %v", s, err)
	}
	var iue *InvalidUnmarshalError
	if err := Unmarshal(data, nil); !errors.As(err, &iue) {
		t.Fatalf("nil: %v", err)
	}
	if err := Unmarshal(data, s); !errors.As(err, &iue) {
		t.Fatalf("non-pointer: %v", err)
	}
}

func TestProtocol(t *testing.T) {
	for _, c := range []struct {
		data string
		want int
	}{{"\x80\x02N.", 2}, {"\x80\x05N.", 5}, {"N.", 0}, {"(lp0\n.", 0}, {"]q\x00.", 1}, {"", 0}} {
		if got := Protocol([]byte(c.data)); got != c.want {
			t.Errorf("Protocol(%q) = %d, want %d", c.data, got, c.want)
		}
	}
}

func TestDecodeDeepTupleKey(t *testing.T) {
	// ((((...0,),),),) 20000 deep, then {t: None}: too deep to return, and
	// with a higher depth limit, too deep to hash.
	data := []byte("\x80\x02}K\x00" + strings.Repeat("\x85", 20000) + "Ns.")
	var v any
	err := Unmarshal(data, &v)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "depth" {
		t.Fatalf("got %v", err)
	}
	d := NewBytesDecoder(data)
	d.SetLimits(Limits{MaxDepth: 100000})
	if err := d.Decode(&v); !errors.As(err, &le) || le.Limit != "hash key depth" {
		t.Fatalf("got %v", err)
	}
	// 100 deep is fine.
	data = []byte("\x80\x02}K\x00" + strings.Repeat("\x85", 100) + "Ns.")
	if err := Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
}

// TestDecodeDepth: the nesting height of the result is bounded, however
// it is built, so that recursive walkers cannot overflow their stack.
func TestDecodeDepth(t *testing.T) {
	var le *LimitError
	deep := func(name, data string) {
		t.Helper()
		var v any
		d := NewBytesDecoder([]byte(data))
		d.SetLimits(Limits{MaxDepth: 500})
		if err := d.Decode(&v); !errors.As(err, &le) || le.Limit != "depth" {
			t.Errorf("%s: got %v", name, err)
		}
		d = NewBytesDecoder([]byte(data))
		d.SetLimits(Limits{MaxDepth: 5000})
		if err := d.Decode(&v); err != nil {
			t.Errorf("%s with a higher limit: %v", name, err)
		}
	}
	// Nested single-item lists through the stack: ]]]...aaa.
	deep("stack", "\x80\x02"+strings.Repeat("]", 1000)+strings.Repeat("a", 999)+".")
	// Through the memo, without stack growth: l_i = [l_{i-1}].
	var b strings.Builder
	b.WriteString("\x80\x02]r\x00\x00\x00\x00")
	for i := 1; i < 1000; i++ {
		b.WriteString("]r")
		b.Write([]byte{byte(i), byte(i >> 8), 0, 0})
		b.WriteString("j")
		b.Write([]byte{byte(i - 1), byte((i - 1) >> 8), 0, 0})
		b.WriteString("a0")
	}
	b.WriteString("j\xe7\x03\x00\x00.")
	deep("memo", b.String())
	// Appending to lists after they were stored (stale heights).
	b.Reset()
	b.WriteString("\x80\x02]r\x00\x00\x00\x00")
	for i := 1; i < 1000; i++ {
		b.WriteString("j")
		b.Write([]byte{byte(i - 1), byte((i - 1) >> 8), 0, 0})
		b.WriteString("]r")
		b.Write([]byte{byte(i), byte(i >> 8), 0, 0})
		b.WriteString("a0")
	}
	b.WriteString("j\x00\x00\x00\x00.")
	deep("late appends", b.String())
	// Recursive values are not deep.
	v := mustDecodeAny(t, "\x80\x04]\x94h\x00a.")
	if len(v.([]any)) != 1 {
		t.Fatal("recursive list")
	}
}

// hugeLenMsg is what decoding says of a length of 4 GiB or more that the
// data does not back: truncated, or on a 32-bit system, where no slice
// can be that long, too large.
var hugeLenMsg = map[bool]string{true: "length field too large", false: "truncated"}[strconv.IntSize == 32]

// A stream that declares a huge length but sends little data must fail
// without allocating the declared size.
func TestDecodeStreamHugeLength(t *testing.T) {
	data := []byte("\x80\x04\x8e\x00\x00\x00\x00\x00\x00\x00\x10abc")
	allocs := testing.AllocsPerRun(10, func() {
		var v any
		err := NewDecoder(bytes.NewReader(data)).Decode(&v)
		if !errors.Is(err, io.ErrUnexpectedEOF) && !(strconv.IntSize == 32 && strings.Contains(fmt.Sprint(err), hugeLenMsg)) {
			t.Fatalf("got %v", err)
		}
	})
	if allocs > 20 {
		t.Errorf("%v allocations", allocs)
	}
	var ms, ms2 runtime.MemStats
	runtime.ReadMemStats(&ms)
	var v any
	NewDecoder(bytes.NewReader(data)).Decode(&v)
	runtime.ReadMemStats(&ms2)
	if d := ms2.TotalAlloc - ms.TotalAlloc; d > 1<<20 {
		t.Errorf("allocated %d bytes for a 14-byte input", d)
	}
}

// Sparse memo indices must not allocate out of proportion to the input
// (CPython's memo array grows to the index; the sparse map does not).
func TestDecodeSparseMemo(t *testing.T) {
	var b strings.Builder
	b.WriteString("\x80\x02N")
	for i := 1; i <= 100000; i++ {
		idx := uint32(i * 1023)
		b.WriteString("r")
		b.WriteString(string([]byte{byte(idx), byte(idx >> 8), byte(idx >> 16), byte(idx >> 24)}))
	}
	b.WriteString(".")
	data := []byte(b.String())
	var ms, ms2 runtime.MemStats
	runtime.ReadMemStats(&ms)
	var v any
	err := Unmarshal(data, &v)
	runtime.ReadMemStats(&ms2)
	if err != nil || v != nil {
		t.Fatalf("got %v, %v", v, err)
	}
	// Each PUT far out is one entry of the sparse map.
	if d := ms2.TotalAlloc - ms.TotalAlloc; d > 64*uint64(len(data)) {
		t.Errorf("allocated %d bytes for %d bytes of input", d, len(data))
	}
}

// CPython 3.12's pickle.dumps(p, 0) and (p, 1) of an instance of class m.P
// with p.x = 1: copy_reg._reconstructor stays an inert *Object (with
// Python 3 names), and encodes back to the same call.
func TestDecodeReconstructor(t *testing.T) {
	want := &Object{Kind: Reduce, Callable: Global{"copyreg", "_reconstructor"},
		Args: Tuple{Global{"m", "P"}, Global{"builtins", "object"}, nil}, HasState: true, State: mkDict("x", int64(1))}
	for _, data := range []string{
		"ccopy_reg\n_reconstructor\np0\n(cm\nP\np1\nc__builtin__\nobject\np2\nNtp3\nRp4\n(dp5\nVx\np6\nI1\nsb.",
		"ccopy_reg\n_reconstructor\nq\x00(cm\nP\nq\x01c__builtin__\nobject\nq\x02Ntq\x03Rq\x04}q\x05X\x01\x00\x00\x00xq\x06K\x01sb.",
	} {
		v := mustDecodeAny(t, data)
		if !Equal(v, want) {
			t.Fatalf("got %#v", v)
		}
		b, err := MarshalProtocol(v, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("ccopy_reg\n_reconstructor\n")) || !bytes.Contains(b, []byte("c__builtin__\nobject\n")) {
			t.Fatalf("protocol 2 names not mapped back: %q", b)
		}
	}
}

func TestNewBytesDecoderSeveral(t *testing.T) {
	a, _ := Marshal("a")
	b, _ := MarshalProtocol([]any{int64(2)}, 2)
	d := NewBytesDecoder(append(append(a, b...), 'x'))
	var v any
	if err := d.Decode(&v); err != nil || v != "a" {
		t.Fatalf("first: %v, %v", v, err)
	}
	if err := d.Decode(&v); err != nil || !Equal(v, []any{int64(2)}) {
		t.Fatalf("second: %v, %v", v, err)
	}
	rest, _ := io.ReadAll(d.Buffered())
	if string(rest) != "x" {
		t.Fatalf("Buffered: %q", rest)
	}
	if err := d.Decode(&v); err == nil || err == io.EOF {
		t.Fatalf("trailing garbage: %v", err)
	}
	d = NewBytesDecoder(a)
	d.Decode(&v)
	if err := d.Decode(&v); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
}

// A long protocol 0 line arriving a byte at a time is read in linear time
// (this test would take minutes if each byte rescanned the line).
func TestDecodeStreamLongLine(t *testing.T) {
	data := "V" + strings.Repeat("x", 1<<20) + "\n."
	var v any
	if err := NewDecoder(&oneByteReader{strings.NewReader(data)}).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if s, _ := v.(string); len(s) != 1<<20 {
		t.Fatalf("got %d bytes", len(s))
	}
}

func TestZeroCopy(t *testing.T) {
	data, _ := MarshalProtocol([]any{[]byte("abc"), ByteArray("de")}, 5)
	d := NewBytesDecoder(data)
	d.SetZeroCopy(true)
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	l := v.([]any)
	b, ba := l[0].([]byte), l[1].(ByteArray)
	if string(b) != "abc" || string(ba) != "de" || cap(b) != 3 {
		t.Fatalf("got %q %q cap %d", b, ba, cap(b))
	}
	i := bytes.Index(data, []byte("abc"))
	if &data[i] != &b[0] {
		t.Fatal("bytes were copied")
	}
	// A reused Decoder.
	b2, _ := Marshal([]byte("xyz"))
	d.ResetBytes(b2)
	if err := d.Decode(&v); err != nil || string(v.([]byte)) != "xyz" {
		t.Fatalf("after ResetBytes: %v, %v", v, err)
	}
	// Without it, values are copies.
	Unmarshal(data, &v)
	if b := v.([]any)[0].([]byte); &data[i] == &b[0] {
		t.Fatal("Unmarshal shares memory with its input")
	}
}
