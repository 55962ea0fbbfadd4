package mpconn

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

// The wire constants, pinned: CPython's framing (spec §1).
func TestHeaderBytes(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{0, "00000000"},
		{5, "00000005"},
		{16384, "00004000"},
		{0x7fffffff, "7fffffff"},
		{0x80000000, "ffffffff0000000080000000"},
		{1<<31 + 5, "ffffffff0000000080000005"},
	}
	for _, c := range cases {
		var b [longHeaderLen]byte
		h := putHeader(b[:], c.n)
		if got := hex.EncodeToString(b[:h]); got != c.want {
			t.Errorf("header(%d) = %s, want %s", c.n, got, c.want)
		}
		n, hl, err := parseHeader(b[:h])
		if err != nil || hl != h || n != c.n {
			t.Errorf("parseHeader(%s) = %d, %d, %v", c.want, n, hl, err)
		}
	}
}

func TestParseHeaderEdges(t *testing.T) {
	mustHex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The escape with a small length is accepted, as CPython does.
	n, hl, err := parseHeader(mustHex("ffffffff0000000000000005"))
	if err != nil || n != 5 || hl != 12 {
		t.Errorf("escape with small length: %d %d %v", n, hl, err)
	}
	// Incomplete headers ask for more bytes.
	for _, s := range []string{"", "00", "000000", "ffffffff", "ffffffff00000000000000"} {
		if _, hl, err := parseHeader(mustHex(s)); hl != 0 || err != nil {
			t.Errorf("parseHeader(%q) = hlen %d, %v; want more bytes", s, hl, err)
		}
	}
	// Negative lengths other than -1 are protocol errors (CPython reads
	// them as empty messages).
	for _, s := range []string{"fffffffe", "80000000"} {
		_, _, err := parseHeader(mustHex(s))
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("parseHeader(%s) = %v, want *ProtocolError", s, err)
		}
	}
	// A 64-bit length over 2^63-1.
	if _, _, err := parseHeader(mustHex("ffffffff8000000000000000")); err == nil {
		t.Error("length 2^63 accepted")
	}
}

// What SendBytes writes is exactly CPython's frame.
func TestSendWireFormat(t *testing.T) {
	c, raw := rawPair(t, nil)
	ctx := testCtx(t)
	for _, p := range [][]byte{{}, []byte("zzzzz"), bytes.Repeat([]byte{1}, 16385)} {
		if err := c.SendBytes(ctx, p); err != nil {
			t.Fatal(err)
		}
		want := append(hdr(len(p)), p...)
		got := make([]byte, len(want))
		if _, err := io.ReadFull(raw, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("wire bytes for %d-byte payload differ", len(p))
		}
	}
	// send_bytes(bytearray(b'0123456789'), 2, 3) → 00000003 323334
	if err := c.SendBytesRange(ctx, []byte("0123456789"), 2, 3); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 7)
	if _, err := io.ReadFull(raw, got); err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != "00000003323334" {
		t.Fatalf("SendBytesRange wrote %x", got)
	}
}

func hdr(n int) []byte {
	var b [longHeaderLen]byte
	return append([]byte(nil), b[:putHeader(b[:], int64(n))]...)
}
