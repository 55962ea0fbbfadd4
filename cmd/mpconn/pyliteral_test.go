package main

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/mpconn/mpconn/pickle"
)

// literalCases are literals with the repr Python 3 prints for them.
// json marks the JSON spellings Python's eval does not take; every other
// row is checked against CPython by TestLiteralReprCPython. Sets hold only
// members whose order in Python (by hash) does not depend on the hash seed
// and is the order written.
var literalCases = []struct {
	lit  string
	repr string
	json bool // JSON-only: not valid Python
}{
	{lit: "None", repr: "None"},
	{lit: "True", repr: "True"},
	{lit: "False", repr: "False"},
	{lit: "null", repr: "None", json: true},
	{lit: "true", repr: "True", json: true},
	{lit: "false", repr: "False", json: true},
	{lit: "0", repr: "0"},
	{lit: "000", repr: "0"},
	{lit: "42", repr: "42"},
	{lit: "-7", repr: "-7"},
	{lit: "+7", repr: "7"},
	{lit: "- 7", repr: "-7"},
	{lit: "1_000_000", repr: "1000000"},
	{lit: "0x1F", repr: "31"},
	{lit: "0XfF", repr: "255"},
	{lit: "0o17", repr: "15"},
	{lit: "0b101", repr: "5"},
	{lit: "0x_ff_ff", repr: "65535"},
	{lit: "-0x10", repr: "-16"},
	{lit: "9223372036854775807", repr: "9223372036854775807"},
	{lit: "-9223372036854775808", repr: "-9223372036854775808"},
	{lit: "9223372036854775808", repr: "9223372036854775808"},
	{lit: "-9223372036854775809", repr: "-9223372036854775809"},
	{lit: "123456789012345678901234567890", repr: "123456789012345678901234567890"},
	{lit: "0xffffffffffffffffffff", repr: "1208925819614629174706175"},
	{lit: "1.5", repr: "1.5"},
	{lit: "-2e10", repr: "-20000000000.0"},
	{lit: "1.", repr: "1.0"},
	{lit: ".5", repr: "0.5"},
	{lit: "1e16", repr: "1e+16"},
	{lit: "1e15", repr: "1000000000000000.0"},
	{lit: "123456789012345.6", repr: "123456789012345.6"},
	{lit: "1e-5", repr: "1e-05"},
	{lit: "0.0001", repr: "0.0001"},
	{lit: "0.1", repr: "0.1"},
	{lit: "1_0.2_5", repr: "10.25"},
	{lit: "01.5", repr: "1.5"},
	{lit: "1E+3", repr: "1000.0"},
	{lit: "1.5e300", repr: "1.5e+300"},
	{lit: "1e400", repr: "inf"},
	{lit: "-1e400", repr: "-inf"},
	{lit: "5e-324", repr: "5e-324"},
	{lit: "1.7976931348623157e308", repr: "1.7976931348623157e+308"},
	{lit: "-0.0", repr: "-0.0"},
	{lit: "0.0", repr: "0.0"},
	{lit: "float('inf')", repr: "inf"},
	{lit: "float('-inf')", repr: "-inf"},
	{lit: "-float('inf')", repr: "-inf"},
	{lit: `float("nan")`, repr: "nan"},
	{lit: "float('Infinity')", repr: "inf"},
	{lit: "''", repr: "''"},
	{lit: `"abc"`, repr: "'abc'"},
	{lit: `'it''s'`, repr: "'its'"},
	{lit: `"it's"`, repr: `"it's"`},
	{lit: `'say "hi"'`, repr: `'say "hi"'`},
	{lit: `'both \' and "'`, repr: `'both \' and "'`},
	{lit: `'a\nb\tc\\d\re'`, repr: `'a\nb\tc\\d\re'`},
	{lit: `'\x00\x1f\x7f\x80\xa0\xad\xe9\xff'`, repr: `'\x00\x1f\x7f\x80\xa0\xad` + "\u00e9\u00ff'"},
	{lit: `'\a\b\f\v'`, repr: `'\x07\x08\x0c\x0b'`},
	{lit: `'\101\0\7'`, repr: `'A\x00\x07'`},
	{lit: `'\u00e9\u20ac\u2028\ufeff'`, repr: "'\u00e9\u20ac" + `\u2028\ufeff'`},
	{lit: `'\U0001F600\U0010ffff'`, repr: "'\U0001F600" + `\U0010ffff'`},
	{lit: `'\ud800'`, repr: `'\ud800'`},
	{lit: `'\ud83d\ude00'`, repr: `'\ud83d\ude00'`},
	{lit: `'\ue000'`, repr: `'\ue000'`},
	{lit: "'\u00e9 \u20ac \u65e5\u672c'", repr: "'\u00e9 \u20ac \u65e5\u672c'"},
	{lit: `'\q\d'`, repr: `'\\q\\d'`},
	{lit: `r'\d+\n'`, repr: `'\\d+\\n'`},
	{lit: `R"\'"`, repr: `"\\'"`},
	{lit: `u'x'`, repr: `'x'`},
	{lit: `'a' "b" r'\c'`, repr: `'ab\\c'`},
	{lit: `'''multi
line'''`, repr: `'multi\nline'`},
	{lit: `"""a"b"""`, repr: `'a"b'`},
	{lit: "'a\\\nb'", repr: "'ab'"},
	{lit: `b''`, repr: `b''`},
	{lit: `b'abc'`, repr: `b'abc'`},
	{lit: `b'\x00\xff\n\t\\'`, repr: `b'\x00\xff\n\t\\'`},
	{lit: `b"it's"`, repr: `b"it's"`},
	{lit: `b'\u00e9'`, repr: `b'\\u00e9'`},
	{lit: `B'a' b'b'`, repr: `b'ab'`},
	{lit: `rb'\x'`, repr: `b'\\x'`},
	{lit: `Br'\n'`, repr: `b'\\n'`},
	{lit: `bytearray(b'a\x00')`, repr: `bytearray(b'a\x00')`},
	{lit: `bytearray()`, repr: `bytearray(b'')`},
	{lit: "[]", repr: "[]"},
	{lit: "[1, 2, 3]", repr: "[1, 2, 3]"},
	{lit: "[1, 2,]", repr: "[1, 2]"},
	{lit: " [ 1 ,\n 'a' ] ", repr: "[1, 'a']"},
	{lit: "()", repr: "()"},
	{lit: "(1,)", repr: "(1,)"},
	{lit: "(1)", repr: "1"},
	{lit: "((1, 2), [3])", repr: "((1, 2), [3])"},
	{lit: "(1, 2,)", repr: "(1, 2)"},
	{lit: "{}", repr: "{}"},
	{lit: "{'a': 1, 'b': [2.5, None]}", repr: "{'a': 1, 'b': [2.5, None]}"},
	{lit: "{1: 'x', (1, 2): b'y', None: True,}", repr: "{1: 'x', (1, 2): b'y', None: True}"},
	{lit: "{'a': 1, 'a': 2}", repr: "{'a': 2}"},
	{lit: "{1}", repr: "{1}"},
	{lit: "{1: 'a', True: 'b', 1.0: 'c'}", repr: "{1: 'c'}"},
	{lit: "{0, False, 0.0, -0.0, True, 1, 1.0}", repr: "{0, True}"},
	{lit: "{(1, 2): 0, (1.0, 2.0): 1}", repr: "{(1, 2): 1}"},
	{lit: "{1, 2, (3,)}", repr: "{1, 2, (3,)}"},
	{lit: "{1, 2, 2}", repr: "{1, 2}"},
	{lit: "set()", repr: "set()"},
	{lit: "set([1, 2])", repr: "{1, 2}"},
	{lit: "frozenset()", repr: "frozenset()"},
	{lit: "frozenset({1, (2,)})", repr: "frozenset({1, (2,)})"},
	{lit: "[[[]], {'k': {'n': (None,)}}]", repr: "[[[]], {'k': {'n': (None,)}}]"},
	{lit: `{"json": [1, -2.5e-3, "s\"q", true, false, null, {}]}`, repr: `{'json': [1, -0.0025, 's"q', True, False, None, {}]}`, json: true},
	{lit: `[{"a": {"b": [1E2]}}]`, repr: `[{'a': {'b': [100.0]}}]`},
}

func TestParseLiteral(t *testing.T) {
	for _, tc := range literalCases {
		v, err := parseLiteral(tc.lit)
		if err != nil {
			t.Errorf("parseLiteral(%q): %v", tc.lit, err)
			continue
		}
		if got := pyRepr(v); got != tc.repr {
			t.Errorf("pyRepr(parseLiteral(%q)) = %s, want %s", tc.lit, got, tc.repr)
		}
	}
}

// TestParseLiteralTypes checks the model types that repr does not tell
// apart.
func TestParseLiteralTypes(t *testing.T) {
	for _, tc := range []struct {
		lit   string
		check func(v any) bool
	}{
		{"9223372036854775807", func(v any) bool { return v == any(int64(math.MaxInt64)) }},
		{"-9223372036854775808", func(v any) bool { return v == any(int64(math.MinInt64)) }},
		{"9223372036854775808", func(v any) bool {
			b, ok := v.(*big.Int)
			return ok && b.String() == "9223372036854775808"
		}},
		{"-0x8000000000000001", func(v any) bool {
			b, ok := v.(*big.Int)
			return ok && b.String() == "-9223372036854775809"
		}},
		{"1e400", func(v any) bool { return v == any(math.Inf(1)) }},
		{"-0.0", func(v any) bool { f, ok := v.(float64); return ok && f == 0 && math.Signbit(f) }},
		{"float('nan')", func(v any) bool { f, ok := v.(float64); return ok && math.IsNaN(f) }},
		{"'\\ud800x'", func(v any) bool { return v == any("\xed\xa0\x80x") }},
		{"'\\xe9'", func(v any) bool { return v == any("\u00e9") }},
		{"b'\\xe9'", func(v any) bool { b, ok := v.([]byte); return ok && string(b) == "\xe9" }},
		{"bytearray(b'')", func(v any) bool { b, ok := v.(pickle.ByteArray); return ok && len(b) == 0 }},
		{"[]", func(v any) bool { l, ok := v.([]any); return ok && l != nil && len(l) == 0 }},
		{"()", func(v any) bool { l, ok := v.(pickle.Tuple); return ok && len(l) == 0 }},
		{"{1: 2}", func(v any) bool { d, ok := v.(*pickle.Dict); return ok && d.Len() == 1 }},
		{"{1}", func(v any) bool { s, ok := v.(*pickle.Set); return ok && s.Has(int64(1)) }},
		{"frozenset([1])", func(v any) bool { s, ok := v.(*pickle.FrozenSet); return ok && s.Has(int64(1)) }},
	} {
		v, err := parseLiteral(tc.lit)
		if err != nil {
			t.Errorf("parseLiteral(%q): %v", tc.lit, err)
			continue
		}
		if !tc.check(v) {
			t.Errorf("parseLiteral(%q) = %#v (%T): wrong value or type", tc.lit, v, v)
		}
	}
}

// invalidLiterals are refused, with the byte offset of the mistake.
// pythonAccepts marks what Python would take but this parser does not
// (expressions, complex numbers, \N escapes).
var invalidLiterals = []struct {
	lit           string
	offset        int
	msg           string
	pythonAccepts bool
}{
	{"", 0, "expected a value, found end of input", false},
	{"   ", 3, "expected a value", false},
	{"[1, 2", 5, "expected ',' or ']', found end of input", false},
	{"[1 2]", 3, `expected ',' or ']', found '2'`, false},
	{"[,]", 1, "unexpected ','", false},
	{"(1, 2", 5, "expected ',' or ')'", false},
	{"{1: 2", 5, "expected ',' or '}'", false},
	{"{1: 2, 3}", 8, "expected ':'", false},
	{"{1, 2: 3}", 5, `expected ',' or '}'`, false},
	{"{[1]: 2}", 1, "unhashable", false},
	{"{1: 2, [3]: 4}", 7, "unhashable", false},
	{"{{}}", 1, "unhashable", false},
	{"1 2", 2, "unexpected '2' after the value", false},
	{"01", 0, "leading zeros", false},
	{"1__0", 2, "misplaced '_'", false},
	{"1_", 2, "trailing '_'", false},
	{"0x", 2, "invalid hexadecimal literal", false},
	{"0b102", 4, "invalid digit '2'", false},
	{"0o8", 2, "invalid digit '8'", false},
	{"12abc", 2, "invalid number", false},
	{"1e", 1, "exponent without digits", false},
	{"1.2.3", 3, "invalid number", false},
	{".", 0, "unexpected '.'", false},
	{"-", 1, "expected a number after '-'", false},
	{"-'a'", 1, "expected a number", false},
	{"1j", 1, "complex numbers are not supported", true},
	{"'abc", 0, "unterminated string literal", false},
	{"'ab\ncd'", 0, "unterminated string literal", false},
	{`'''abc''`, 0, "unterminated string literal", false},
	{`r'\'`, 1, "unterminated string literal", false},
	{`'\x4'`, 1, `truncated \x escape`, false},
	{`'\u12g4'`, 1, `truncated \u escape`, false},
	{`'\U00110000'`, 1, "illegal Unicode character", false},
	{`'\N{BULLET}'`, 1, `\N{...} escapes are not supported`, true},
	{"b'\u00e9'", 2, "bytes can only contain ASCII literal characters", false},
	{`b'a' 'b'`, 5, "cannot mix bytes and str literals", false},
	{`f'x'`, 0, `unknown string prefix "f"`, true},
	{"none", 0, `unknown name "none"`, false},
	{"nan", 0, `unknown name "nan"`, false},
	{"len([])", 0, "unknown call len()", true},
	{"float(1)", 6, "float() takes a string", true},
	{"float('1.5')", 6, "want 'inf', '-inf' or 'nan'", true},
	{"set(1)", 4, "set() takes a list", false},
	{"set([[1]])", 4, "unhashable", false},
	{"1 + 2", 2, "unexpected '+' after the value", true},
	{"[1] [0]", 4, "unexpected '['", true},
	{"\xff", 0, "not UTF-8", false},
	{strings.Repeat("[", 300), 201, "nested more than 200 deep", false},
}

func TestParseLiteralErrors(t *testing.T) {
	for _, tc := range invalidLiterals {
		v, err := parseLiteral(tc.lit)
		if err == nil {
			t.Errorf("parseLiteral(%q) = %s, want an error", tc.lit, pyRepr(v))
			continue
		}
		var le *literalError
		if !errors.As(err, &le) {
			t.Errorf("parseLiteral(%q): %T %v, want a *literalError", tc.lit, err, err)
			continue
		}
		if le.Offset != tc.offset || !strings.Contains(le.Msg, tc.msg) {
			t.Errorf("parseLiteral(%q): offset %d %q, want offset %d and %q", tc.lit, le.Offset, le.Msg, tc.offset, tc.msg)
		}
		if !strings.HasPrefix(err.Error(), "invalid literal at offset ") {
			t.Errorf("parseLiteral(%q): message %q does not say where", tc.lit, err)
		}
	}
}

// FuzzParseLiteral: the parser never panics, and what it parses can be
// pickled and printed.
func FuzzParseLiteral(f *testing.F) {
	for _, tc := range literalCases {
		f.Add(tc.lit)
	}
	for _, tc := range invalidLiterals {
		f.Add(tc.lit)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseLiteral(s)
		if err != nil {
			return
		}
		if _, err := pickle.Marshal(v); err != nil {
			t.Fatalf("parseLiteral(%q) gave a value that does not pickle: %v", s, err)
		}
		_ = pyRepr(v)
	})
}
