package pickle

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

// specVectors are the protocol 4 test vectors of the wire-protocol spec
// (§4.2, §4.3), verified there against CPython 3.8, 3.11 and 3.13.
func specVectors() []struct {
	name string
	val  any
	hex  string
} {
	l := []any{int64(1)}
	set12 := NewSet()
	set12.Add(int64(1))
	set12.Add(int64(2))
	fs1 := NewFrozenSet()
	fs1.Add(int64(1))
	ab := NewDict()
	ab.Set("a", 1.5)
	ab.Set("b", []byte("x"))
	return []struct {
		name string
		val  any
		hex  string
	}{
		{"list", []any{int64(1), "hello", nil}, "80049510000000000000005d94284b018c0568656c6c6f944e652e"},
		{"dict", ab, "8004951a000000000000007d94288c016194473ff80000000000008c01629443017894752e"},
		{"None", nil, "80044e2e"},
		{"True", true, "8004882e"},
		{"False", false, "8004892e"},
		{"255", int64(255), "80044bff2e"},
		{"65535", int64(65535), "80049504000000000000004dffff2e"},
		{"-1", int64(-1), "80049506000000000000004affffffff2e"},
		{"2**31", int64(1 << 31), "80049508000000000000008a0500000080002e"},
		{"-2**31-1", int64(-1<<31 - 1), "80049508000000000000008a05ffffff7fff2e"},
		{"1.5", 1.5, "8004950a00000000000000473ff80000000000002e"},
		{"x", "x", "80049505000000000000008c0178942e"},
		{"é", "é", "80049506000000000000008c02c3a9942e"},
		{"x*300", strings.Repeat("x", 300), "8004953301000000000000582c010000" + strings.Repeat("78", 300) + "942e"},
		{"b'y'", []byte("y"), "8004950500000000000000430179942e"},
		{"b'y'*300", bytes.Repeat([]byte("y"), 300), "8004953301000000000000422c010000" + strings.Repeat("79", 300) + "942e"},
		{"[]", []any{}, "80045d942e"},
		{"{}", NewDict(), "80047d942e"},
		{"()", Tuple{}, "8004292e"},
		{"(1,2)", Tuple{int64(1), int64(2)}, "80049507000000000000004b014b0286942e"},
		{"(1,2,3,4)", Tuple{int64(1), int64(2), int64(3), int64(4)}, "8004950c00000000000000284b014b024b034b0474942e"},
		{"{1,2}", set12, "80049509000000000000008f94284b014b02902e"},
		{"frozenset({1})", fs1, "8004950600000000000000284b0191942e"},
		{"[l,l]", []any{l, l}, "8004950c000000000000005d94285d944b01616801652e"},
		{"bytearray", ByteArray("ab"), "80049523000000000000008c086275696c74696e73948c096279746561727261799493944302616294859452942e"},
		{"3+4j", &Object{Callable: Global{"builtins", "complex"}, Args: Tuple{3.0, 4.0}},
			"8004952e000000000000008c086275696c74696e73948c07636f6d706c6578949394474008000000000000474010000000000000869452942e"},
		{"ValueError", &Object{Callable: Global{"builtins", "ValueError"}, Args: Tuple{"boom"}},
			"80049526000000000000008c086275696c74696e73948c0a56616c75654572726f729493948c04626f6f6d94859452942e"},
	}
}

func TestSpecVectors(t *testing.T) {
	for _, tc := range specVectors() {
		t.Run(tc.name, func(t *testing.T) {
			want, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(tc.val)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal:\n got %x\nwant %x", got, want)
			}
			var v any
			if err := Unmarshal(want, &v); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !Equal(v, tc.val) {
				t.Errorf("Unmarshal: got %#v, want %#v", v, tc.val)
			}
			// Protocol 5 differs only in byte 1, except for bytearray.
			if tc.name != "bytearray" {
				want[1] = 5
				got, err := MarshalProtocol(tc.val, 5)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("protocol 5: got %x, %v; want %x", got, err, want)
				}
			}
		})
	}
}

func TestSpecBytearrayProtocol5(t *testing.T) {
	want, _ := hex.DecodeString("8005950d000000000000009602000000000000006162942e")
	got, err := MarshalProtocol(ByteArray("ab"), 5)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %x, %v; want %x", got, err, want)
	}
	var v any
	if err := Unmarshal(want, &v); err != nil || !reflect.DeepEqual(v, ByteArray("ab")) {
		t.Fatalf("Unmarshal: %#v, %v", v, err)
	}
}

func TestFramelessAccepted(t *testing.T) {
	data, _ := hex.DecodeString("80045d94284b018c0568656c6c6f944e652e")
	var v any
	if err := Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if !Equal(v, []any{int64(1), "hello", nil}) {
		t.Fatalf("got %#v", v)
	}
}

func TestSharedListIdentity(t *testing.T) {
	data, _ := hex.DecodeString("8004950c000000000000005d94285d944b01616801652e")
	var v any
	if err := Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	l := v.([]any)
	a, b := l[0].([]any), l[1].([]any)
	if &a[0] != &b[0] {
		t.Fatal("shared list decoded as two lists")
	}
	_ = big.NewInt
}
