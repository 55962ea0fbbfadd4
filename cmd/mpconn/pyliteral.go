package main

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mpconn/mpconn/pickle"
)

// Values on the command line (send's VALUEs, listen's --reply) are Python
// literals, or JSON, parsed into pickle model values by a small
// recursive-descent parser:
//
//	None True False              nil, bool (JSON null true false too)
//	42 -7 0x1F 0o17 0b101 1_000  int64, *big.Int past the int64 range
//	1.5 -2e10 .5 1_0.25          float64 (1e400 is inf, as in Python)
//	float('inf') float('nan')    float64 (also '-inf', 'infinity')
//	'a' "b" '''c''' r'\d' u'x'   string; escapes as in Python
//	b'\x00' rb'\d'               []byte (ASCII characters only)
//	bytearray(b'..')             pickle.ByteArray
//	[1, 2] (1,) () (1)           []any, pickle.Tuple, a parenthesised value
//	{'k': v} {}                  *pickle.Dict
//	{1, 2} set() set([1])        *pickle.Set
//	frozenset({1})               *pickle.FrozenSet
//
// Adjacent string literals are concatenated, as in Python. Strings follow
// Python's rules, also when written as JSON: "\/" keeps its backslash, and
// "\ud83d\ude00" is two lone surrogates (sent as CPython sends them), not
// one character. Complex numbers, \N{...} escapes and any expression
// other than the calls above are refused.

// maxLiteralDepth bounds the nesting of a literal.
const maxLiteralDepth = 200

// A literalError is a mistake in a literal, at a byte offset.
type literalError struct {
	Offset int // byte offset in the literal, from 0
	Msg    string
}

func (e *literalError) Error() string {
	return fmt.Sprintf("invalid literal at offset %d: %s", e.Offset, e.Msg)
}

// parseLiteral parses s, a Python literal or a JSON value, into a pickle
// model value.
func parseLiteral(s string) (any, error) {
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, &literalError{i, "not UTF-8"}
	}
	p := &litParser{s: s}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(s) {
		return nil, p.errorf("unexpected %s after the value", p.describe())
	}
	return v, nil
}

type litParser struct {
	s string
	i int
}

func (p *litParser) errorf(format string, a ...any) error {
	return &literalError{p.i, fmt.Sprintf(format, a...)}
}

func (p *litParser) errorAt(at int, format string, a ...any) error {
	return &literalError{at, fmt.Sprintf(format, a...)}
}

// describe names what is at the current position, for error messages.
func (p *litParser) describe() string {
	if p.i >= len(p.s) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.i:])
	return strconv.QuoteRune(r)
}

func (p *litParser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.i++
		default:
			return
		}
	}
}

func (p *litParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// expect consumes c after optional white space.
func (p *litParser) expect(c byte) error {
	p.skipSpace()
	if p.peek() != c {
		return p.errorf("expected %q, found %s", c, p.describe())
	}
	p.i++
	return nil
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// value parses one value; white space before it is already skipped.
func (p *litParser) value(depth int) (any, error) {
	if depth > maxLiteralDepth {
		return nil, p.errorf("nested more than %d deep", maxLiteralDepth)
	}
	c := p.peek()
	switch {
	case p.i >= len(p.s):
		return nil, p.errorf("expected a value, found end of input")
	case c == '[':
		p.i++
		items, err := p.sequence(']', depth)
		if err != nil {
			return nil, err
		}
		if items == nil {
			items = []any{}
		}
		return items, nil
	case c == '(':
		return p.paren(depth)
	case c == '{':
		return p.brace(depth)
	case c == '-' || c == '+':
		start := p.i
		p.i++
		p.skipSpace()
		if p.i >= len(p.s) || !(isDigit(p.peek()) || p.peek() == '.' || strings.HasPrefix(p.s[p.i:], "float(")) {
			return nil, p.errorf("expected a number after %q, found %s", c, p.describe())
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if c == '+' {
			return v, nil
		}
		switch x := v.(type) {
		case int64:
			if x == math.MinInt64 {
				return new(big.Int).Neg(big.NewInt(x)), nil
			}
			return -x, nil
		case *big.Int:
			return normInt(new(big.Int).Neg(x)), nil
		case float64:
			return -x, nil
		}
		return nil, p.errorAt(start, "%q applies to numbers only", c)
	case isDigit(c) || c == '.':
		return p.number()
	case c == '\'' || c == '"':
		return p.strings()
	case isIdentStart(c):
		return p.name(depth)
	}
	return nil, p.errorf("unexpected %s", p.describe())
}

// sequence parses comma-separated values up to end (the opening bracket
// is consumed), allowing a trailing comma.
func (p *litParser) sequence(end byte, depth int) ([]any, error) {
	var items []any
	for {
		p.skipSpace()
		if p.peek() == end {
			p.i++
			return items, nil
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
		case end:
			p.i++
			return items, nil
		default:
			return nil, p.errorf("expected ',' or %q, found %s", end, p.describe())
		}
	}
}

// paren parses a tuple or a parenthesised value.
func (p *litParser) paren(depth int) (any, error) {
	p.i++
	p.skipSpace()
	if p.peek() == ')' {
		p.i++
		return pickle.Tuple{}, nil
	}
	first, err := p.value(depth + 1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() == ')' {
		p.i++
		return first, nil
	}
	if p.peek() != ',' {
		return nil, p.errorf("expected ',' or ')', found %s", p.describe())
	}
	p.i++
	rest, err := p.sequence(')', depth)
	if err != nil {
		return nil, err
	}
	return append(pickle.Tuple{first}, rest...), nil
}

// brace parses a dict or a set.
func (p *litParser) brace(depth int) (any, error) {
	p.i++
	p.skipSpace()
	if p.peek() == '}' {
		p.i++
		return pickle.NewDict(), nil
	}
	keyAt := p.i
	first, err := p.value(depth + 1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ':' {
		// A set.
		var rest []any
		if p.peek() == ',' {
			p.i++
			if rest, err = p.sequence('}', depth); err != nil {
				return nil, err
			}
		} else if err := p.expect('}'); err != nil {
			return nil, p.errorf("expected ',', ':' or '}', found %s", p.describe())
		}
		s := pickle.NewSet()
		if err := s.Add(first); err != nil {
			return nil, p.errorAt(keyAt, "%v", err)
		}
		for _, v := range rest {
			if err := s.Add(v); err != nil {
				return nil, p.errorAt(keyAt, "%v", err)
			}
		}
		return s, nil
	}
	d := pickle.NewDict()
	key := first
	for {
		p.i++ // the ':'
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := d.Set(key, v); err != nil {
			return nil, p.errorAt(keyAt, "%v", err)
		}
		p.skipSpace()
		switch p.peek() {
		case '}':
			p.i++
			return d, nil
		case ',':
			p.i++
		default:
			return nil, p.errorf("expected ',' or '}', found %s", p.describe())
		}
		p.skipSpace()
		if p.peek() == '}' {
			p.i++
			return d, nil
		}
		keyAt = p.i
		if key, err = p.value(depth + 1); err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.peek() != ':' {
			return nil, p.errorf("expected ':', found %s", p.describe())
		}
	}
}

// name parses a name: a constant, a string prefix, or one of the calls
// listed above.
func (p *litParser) name(depth int) (any, error) {
	start := p.i
	for p.i < len(p.s) && isIdentChar(p.s[p.i]) {
		p.i++
	}
	word := p.s[start:p.i]
	if p.peek() == '\'' || p.peek() == '"' {
		switch strings.ToLower(word) {
		case "r", "u", "b", "br", "rb":
			p.i = start
			return p.strings()
		}
		return nil, p.errorAt(start, "unknown string prefix %q", word)
	}
	switch word {
	case "None", "null":
		return nil, nil
	case "True", "true":
		return true, nil
	case "False", "false":
		return false, nil
	}
	p.skipSpace()
	if p.peek() != '(' {
		return nil, p.errorAt(start, "unknown name %q (want None, True, False or a literal)", word)
	}
	p.i++
	p.skipSpace()
	argAt := p.i
	var arg any
	hasArg := false
	if p.peek() != ')' {
		var err error
		if arg, err = p.value(depth + 1); err != nil {
			return nil, err
		}
		hasArg = true
		p.skipSpace()
		if p.peek() == ',' { // one trailing comma, as in a call
			p.i++
		}
	}
	if err := p.expect(')'); err != nil {
		return nil, err
	}
	switch word {
	case "float":
		s, ok := arg.(string)
		if !ok {
			return nil, p.errorAt(argAt, "float() takes a string here, such as float('inf')")
		}
		f, ok := parseFloatName(s)
		if !ok {
			return nil, p.errorAt(argAt, "float(%q): want 'inf', '-inf' or 'nan'", s)
		}
		return f, nil
	case "bytearray":
		switch b := arg.(type) {
		case nil:
			if !hasArg {
				return pickle.ByteArray{}, nil
			}
		case []byte:
			return pickle.ByteArray(b), nil
		}
		return nil, p.errorAt(argAt, "bytearray() takes a bytes literal here")
	case "set", "frozenset":
		var items []any
		if hasArg {
			var ok bool
			if items, ok = literalItems(arg); !ok {
				return nil, p.errorAt(argAt, "%s() takes a list, tuple or set literal", word)
			}
		}
		var add func(any) error
		var out any
		if word == "set" {
			s := pickle.NewSet()
			add, out = s.Add, s
		} else {
			s := pickle.NewFrozenSet()
			add, out = s.Add, s
		}
		for _, v := range items {
			if err := add(v); err != nil {
				return nil, p.errorAt(argAt, "%v", err)
			}
		}
		return out, nil
	}
	return nil, p.errorAt(start, "unknown call %s() (want float, bytearray, set or frozenset)", word)
}

// literalItems returns the members of a list, tuple, set or frozenset.
func literalItems(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case pickle.Tuple:
		return x, true
	case *pickle.Set:
		return x.Items(), true
	case *pickle.FrozenSet:
		return x.Items(), true
	}
	return nil, false
}

// parseFloatName reads the special values float() accepts.
func parseFloatName(s string) (float64, bool) {
	t := strings.ToLower(strings.TrimSpace(s))
	sign := 1.0
	if rest, ok := strings.CutPrefix(t, "-"); ok {
		sign, t = -1, rest
	} else {
		t = strings.TrimPrefix(t, "+")
	}
	switch t {
	case "inf", "infinity":
		return math.Inf(int(sign)), true
	case "nan":
		return math.Copysign(math.NaN(), sign), true
	}
	return 0, false
}

// normInt returns x as an int64 when it fits.
func normInt(x *big.Int) any {
	if x.IsInt64() {
		return x.Int64()
	}
	return x
}

// number parses an unsigned int or float literal.
func (p *litParser) number() (any, error) {
	start := p.i
	s := p.s
	if s[p.i] == '0' && p.i+1 < len(s) && strings.IndexByte("xXoObB", s[p.i+1]) >= 0 {
		base := map[byte]int{'x': 16, 'o': 8, 'b': 2}[s[p.i+1]|0x20]
		p.i += 2
		digits, err := p.digits(base, true)
		if err != nil {
			return nil, err
		}
		if digits == "" {
			return nil, p.errorf("invalid %s literal", map[int]string{16: "hexadecimal", 8: "octal", 2: "binary"}[base])
		}
		if err := p.endOfNumber(); err != nil {
			return nil, err
		}
		n, _ := new(big.Int).SetString(digits, base)
		return normInt(n), nil
	}
	intPart, err := p.digits(10, false)
	if err != nil {
		return nil, err
	}
	isFloat := false
	text := intPart
	if p.peek() == '.' {
		p.i++
		isFloat = true
		frac := ""
		if isDigit(p.peek()) {
			if frac, err = p.digits(10, false); err != nil {
				return nil, err
			}
		}
		if intPart == "" && frac == "" {
			return nil, p.errorAt(start, "unexpected '.'")
		}
		text += "." + frac
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		save := p.i
		p.i++
		sign := ""
		if c := p.peek(); c == '+' || c == '-' {
			sign = string(c)
			p.i++
		}
		if !isDigit(p.peek()) {
			p.i = save
			return nil, p.errorf("invalid float literal: exponent without digits")
		}
		exp, err := p.digits(10, false)
		if err != nil {
			return nil, err
		}
		isFloat = true
		text += "e" + sign + exp
	}
	if err := p.endOfNumber(); err != nil {
		return nil, err
	}
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, p.errorAt(start, "invalid float literal")
		}
		return f, nil
	}
	if len(intPart) > 1 && strings.Trim(intPart, "0") != "" && intPart[0] == '0' {
		return nil, p.errorAt(start, "leading zeros in decimal integer literals are not permitted; use 0o for octal")
	}
	n, _ := new(big.Int).SetString(intPart, 10)
	return normInt(n), nil
}

// digits reads digits of base with single underscores between them (and,
// after a base prefix, before the first) and returns them without the
// underscores.
func (p *litParser) digits(base int, afterPrefix bool) (string, error) {
	var b strings.Builder
	lastUnderscore := false
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '_' {
			if lastUnderscore || (b.Len() == 0 && !afterPrefix) {
				return "", p.errorf("invalid number: misplaced '_'")
			}
			lastUnderscore = true
			p.i++
			continue
		}
		d := digitValue(c)
		if d < 0 || d >= base {
			if d >= 0 && d < 10 && base < 10 {
				return "", p.errorf("invalid digit %q in a base %d literal", c, base)
			}
			break
		}
		b.WriteByte(c)
		lastUnderscore = false
		p.i++
	}
	if lastUnderscore {
		return "", p.errorf("invalid number: trailing '_'")
	}
	return b.String(), nil
}

func digitValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// endOfNumber checks that no letter or digit sticks to a number.
func (p *litParser) endOfNumber() error {
	c := p.peek()
	if c == 'j' || c == 'J' {
		return p.errorf("complex numbers are not supported")
	}
	if p.i < len(p.s) && (isIdentChar(c) || c == '.') {
		return p.errorf("invalid number: unexpected %s", p.describe())
	}
	return nil
}

// strings parses one or more adjacent string literals of the same kind.
func (p *litParser) strings() (any, error) {
	var str strings.Builder
	var isBytes bool
	for n := 0; ; n++ {
		at := p.i
		b, raw := false, false
		for p.i < len(p.s) && p.s[p.i] != '\'' && p.s[p.i] != '"' {
			switch p.s[p.i] | 0x20 {
			case 'b':
				b = true
			case 'r':
				raw = true
			}
			p.i++
		}
		if n == 0 {
			isBytes = b
		} else if b != isBytes {
			return nil, p.errorAt(at, "cannot mix bytes and str literals")
		}
		if err := p.stringBody(&str, b, raw); err != nil {
			return nil, err
		}
		save := p.i
		p.skipSpace()
		c := p.peek()
		if c == '\'' || c == '"' {
			continue
		}
		if isIdentStart(c) {
			j := p.i
			for j < len(p.s) && isIdentChar(p.s[j]) {
				j++
			}
			if j < len(p.s) && (p.s[j] == '\'' || p.s[j] == '"') {
				switch strings.ToLower(p.s[p.i:j]) {
				case "r", "u", "b", "br", "rb":
					continue
				}
			}
		}
		p.i = save
		break
	}
	if isBytes {
		return []byte(str.String()), nil
	}
	return str.String(), nil
}

// stringBody parses a quoted body at p.i, appending its value: bytes
// (each byte a character) when isBytes, else UTF-8 with lone surrogates
// as 3-byte sequences (as the pickle package keeps them).
func (p *litParser) stringBody(out *strings.Builder, isBytes, raw bool) error {
	start := p.i
	q := p.s[p.i]
	triple := strings.HasPrefix(p.s[p.i:], strings.Repeat(string(q), 3))
	if triple {
		p.i += 3
	} else {
		p.i++
	}
	for {
		if p.i >= len(p.s) {
			return p.errorAt(start, "unterminated string literal")
		}
		c := p.s[p.i]
		if c == q {
			if !triple {
				p.i++
				return nil
			}
			if strings.HasPrefix(p.s[p.i:], strings.Repeat(string(q), 3)) {
				p.i += 3
				return nil
			}
		}
		if (c == '\n' || c == '\r') && !triple {
			return p.errorAt(start, "unterminated string literal (a newline needs a triple-quoted string)")
		}
		if c >= 0x80 {
			if isBytes {
				return p.errorf("bytes can only contain ASCII literal characters")
			}
			_, n := utf8.DecodeRuneInString(p.s[p.i:])
			out.WriteString(p.s[p.i : p.i+n])
			p.i += n
			continue
		}
		if c != '\\' {
			out.WriteByte(c)
			p.i++
			continue
		}
		if raw {
			// A backslash keeps the next character, and both stay.
			out.WriteByte('\\')
			p.i++
			if p.i < len(p.s) && p.s[p.i] < 0x80 {
				out.WriteByte(p.s[p.i])
				p.i++
			}
			continue
		}
		if err := p.escape(out, isBytes); err != nil {
			return err
		}
	}
}

// escape parses one backslash escape.
func (p *litParser) escape(out *strings.Builder, isBytes bool) error {
	at := p.i
	p.i++
	if p.i >= len(p.s) {
		return p.errorAt(at, "unterminated string literal")
	}
	c := p.s[p.i]
	p.i++
	simple := map[byte]byte{'\\': '\\', '\'': '\'', '"': '"', 'a': 7, 'b': 8, 'f': 12, 'n': 10, 'r': 13, 't': 9, 'v': 11}
	if v, ok := simple[c]; ok {
		out.WriteByte(v)
		return nil
	}
	switch {
	case c == '\n':
		return nil // a line continuation
	case c == '\r':
		if p.peek() == '\n' {
			p.i++
		}
		return nil
	case '0' <= c && c <= '7':
		v := int(c - '0')
		for k := 0; k < 2 && p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '7'; k++ {
			v = v*8 + int(p.s[p.i]-'0')
			p.i++
		}
		if isBytes {
			out.WriteByte(byte(v)) // CPython keeps the low 8 bits
		} else {
			writeCodePoint(out, rune(v))
		}
		return nil
	case c == 'x' || (!isBytes && (c == 'u' || c == 'U')):
		n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		if p.i+n > len(p.s) {
			return p.errorAt(at, "truncated \\%cXX escape", c)
		}
		h := p.s[p.i : p.i+n]
		v, err := strconv.ParseUint(h, 16, 32)
		if err != nil || strings.ContainsAny(h, "+-_") {
			return p.errorAt(at, "truncated \\%c escape: want %d hex digits", c, n)
		}
		p.i += n
		if v > utf8.MaxRune {
			return p.errorAt(at, "illegal Unicode character \\%c%s", c, h)
		}
		if isBytes {
			out.WriteByte(byte(v))
		} else {
			writeCodePoint(out, rune(v))
		}
		return nil
	case c == 'N' && !isBytes:
		return p.errorAt(at, "\\N{...} escapes are not supported")
	}
	// An unknown escape keeps its backslash, as in Python.
	out.WriteByte('\\')
	p.i--
	return nil
}

// writeCodePoint writes r as UTF-8, or a surrogate as its 3-byte
// generalized UTF-8 sequence, as CPython's 'surrogatepass' does.
func writeCodePoint(out *strings.Builder, r rune) {
	if 0xD800 <= r && r <= 0xDFFF {
		out.WriteByte(0xE0 | byte(r>>12))
		out.WriteByte(0x80 | byte(r>>6)&0x3F)
		out.WriteByte(0x80 | byte(r)&0x3F)
		return
	}
	out.WriteRune(r)
}
