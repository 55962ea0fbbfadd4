package pickle

import (
	"bytes"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Text arguments of the protocol 0 opcodes, and Python's str encoding.

// parseInt decodes the argument of INT: "00" and "01" are False and True
// (protocol 0 bools), anything else a C strtol / Python int literal in base
// 0, as CPython reads it.
func (st *decodeState) parseInt(line []byte) (any, error) {
	s := string(bytes.TrimSpace(line))
	if x, err := strconv.ParseInt(s, 0, 64); err == nil {
		if len(line) == 2 && (x == 0 || x == 1) {
			return x == 1, nil
		}
		return x, nil
	}
	return st.parseLong(line)
}

// parseLong decodes the argument of LONG (without its "L" suffix).
func (st *decodeState) parseLong(line []byte) (any, error) {
	if len(line) > 10000 { // big.Int parsing is quadratic
		if err := st.charge(len(line) * len(line) / 1000); err != nil {
			return nil, err
		}
	}
	s := string(bytes.TrimSpace(line))
	if x, err := strconv.ParseInt(s, 0, 64); err == nil {
		return x, nil
	}
	x, ok := new(big.Int).SetString(s, 0)
	if !ok {
		return nil, st.syntax("invalid literal for int(): " + strconv.Quote(truncate(s)))
	}
	return normInt(x), nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// validPyUTF8 reports whether b is what CPython's UTF-8 codec with
// 'surrogatepass' accepts: UTF-8, plus the 3-byte sequences of surrogate
// code points (U+D800 to U+DFFF).
func validPyUTF8(b []byte) bool {
	// Short strings are usually ASCII: check that first.
	if len(b) <= 16 && isASCII(b) {
		return true
	}
	if utf8.Valid(b) {
		return true
	}
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			b = b[1:]
			continue
		}
		if len(b) >= 3 && b[0] == 0xed && b[1] >= 0xa0 && b[1] <= 0xbf && b[2]&0xc0 == 0x80 {
			b = b[3:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		b = b[n:]
	}
	return true
}

// validPyUTF8String is validPyUTF8 for a string.
func validPyUTF8String(s string) bool {
	if len(s) <= 16 && isASCII(unsafe.Slice(unsafe.StringData(s), len(s))) {
		return true
	}
	if utf8.ValidString(s) {
		return true
	}
	return validPyUTF8([]byte(s))
}

// appendPyRune appends code point r (surrogates included) in UTF-8 /
// generalized UTF-8.
func appendPyRune(b []byte, r rune) []byte {
	if r >= 0xd800 && r <= 0xdfff {
		return append(b, 0xed, byte(0x80|(r>>6)&0x3f), byte(0x80|r&0x3f))
	}
	return utf8.AppendRune(b, r)
}

// decodePyRune decodes one code point from s, surrogates included.
func decodePyRune(s string) (rune, int) {
	if len(s) >= 3 && s[0] == 0xed && s[1] >= 0xa0 && s[1] <= 0xbf && s[2]&0xc0 == 0x80 {
		return rune(s[1]&0x3f)<<6 | rune(s[2]&0x3f) | 0xd000, 3
	}
	return utf8.DecodeRuneInString(s)
}

// rawUnicodeEscapeDecode decodes Python's raw-unicode-escape codec:
// \uXXXX and \UXXXXXXXX escapes (after an odd number of backslashes), every
// other byte a Latin-1 code point.
func rawUnicodeEscapeDecode(b []byte) ([]byte, bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			out = appendPyRune(out, rune(c))
			i++
			continue
		}
		// A run of backslashes: only the last one of an odd run can start
		// an escape.
		j := i
		for j < len(b) && b[j] == '\\' {
			j++
		}
		run := j - i
		if run%2 == 0 || j >= len(b) || (b[j] != 'u' && b[j] != 'U') {
			out = append(out, b[i:j]...)
			i = j
			continue
		}
		out = append(out, b[i:j-1]...)
		n := 4
		if b[j] == 'U' {
			n = 8
		}
		if j+1+n > len(b) {
			return nil, false
		}
		v, err := strconv.ParseUint(string(b[j+1:j+1+n]), 16, 32)
		if err != nil || v > 0x10ffff {
			return nil, false
		}
		out = appendPyRune(out, rune(v))
		i = j + 1 + n
	}
	return out, true
}

// escapeDecode decodes the backslash escapes of a Python 2 str literal
// (codecs.escape_decode), as the STRING opcode requires.
func escapeDecode(b []byte) ([]byte, bool) {
	if bytes.IndexByte(b, '\\') < 0 {
		return b, true
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(b) {
			return nil, false // trailing backslash
		}
		switch c = b[i]; c {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, c)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, 10)
		case 'r':
			out = append(out, 13)
		case 't':
			out = append(out, 9)
		case 'v':
			out = append(out, 11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(b[i]-'0')
			}
			out = append(out, byte(v))
		case 'x':
			if i+2 >= len(b) {
				return nil, false
			}
			v, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8)
			if err != nil {
				return nil, false
			}
			out = append(out, byte(v))
			i += 2
		default:
			out = append(out, '\\', c)
		}
	}
	return out, true
}

// latin1 encodes s (a Python str) in Latin-1, failing for code points
// above U+00FF.
func latin1(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			out = append(out, s[i])
			i++
			continue
		}
		r, n := decodePyRune(s[i:])
		if r > 0xff || (r == utf8.RuneError && n <= 1) {
			return nil, false
		}
		out = append(out, byte(r))
		i += n
	}
	return out, true
}

// reducePattern recognises the REDUCE calls CPython writes for built-in
// types at old protocols and returns the value they build, without calling
// anything: bytes as _codecs.encode(str, 'latin1') or bytes(), bytearray
// from bytes or (str, 'latin-1'), set and frozenset from a list, a nested
// class name as getattr(class, name), and copyreg.__newobj_ex__(cls, args,
// kwargs) as a NewObjEx object. It returns false for anything else (which
// becomes an *Object).
func (st *decodeState) reducePattern(callable any, args Tuple) (any, bool, error) {
	g, ok := callable.(Global)
	if !ok {
		return nil, false, nil
	}
	switch g {
	case Global{"builtins", "getattr"}:
		// getattr(class, name): how CPython writes a nested qualified
		// name below protocol 4; protocol 4 writes the same as one global.
		if len(args) == 2 {
			parent, ok1 := args[0].(Global)
			name, ok2 := args[1].(string)
			if ok1 && ok2 && name != "" && !strings.Contains(name, ".") {
				return Global{parent.Module, parent.Name + "." + name}, true, nil
			}
		}
	case Global{"copyreg", "__newobj_ex__"}:
		// cls.__new__(cls, *args, **kwargs) below protocol 4.
		if len(args) == 3 {
			a, ok1 := args[1].(Tuple)
			kw, ok2 := args[2].(*Dict)
			if ok1 && ok2 {
				o := &Object{Kind: NewObjEx, Callable: args[0], Args: a, Kwargs: kw}
				st.note(&o.Callable)
				return o, true, nil
			}
		}
	case Global{"_codecs", "encode"}:
		if len(args) == 2 && isLatin1Name(args[1]) {
			if s, ok := args[0].(string); ok {
				if err := st.charge(len(s)); err != nil {
					return nil, false, err
				}
				if b, ok := latin1(s); ok {
					return b, true, nil
				}
			}
		}
	case Global{"builtins", "bytes"}:
		if len(args) == 0 {
			return []byte{}, true, nil
		}
	case Global{"builtins", "bytearray"}:
		switch len(args) {
		case 0:
			return ByteArray{}, true, nil
		case 1:
			switch b := args[0].(type) {
			case []byte:
				if err := st.charge(len(b)); err != nil {
					return nil, false, err
				}
				return ByteArray(copyBytes(b)), true, nil
			case ByteString:
				if err := st.charge(len(b)); err != nil {
					return nil, false, err
				}
				return ByteArray(b), true, nil
			}
		case 2:
			if s, ok := args[0].(string); ok && isLatin1Name(args[1]) {
				if err := st.charge(len(s)); err != nil {
					return nil, false, err
				}
				if b, ok := latin1(s); ok {
					return ByteArray(b), true, nil
				}
			}
		}
	case Global{"builtins", "set"}, Global{"builtins", "frozenset"}:
		var items []any
		switch len(args) {
		case 0:
		case 1:
			switch l := args[0].(type) {
			case *listBuilder:
				items = l.all()
			case Tuple:
				items = l
			default:
				return nil, false, nil
			}
		default:
			return nil, false, nil
		}
		if err := st.charge(16 * len(items)); err != nil {
			return nil, false, err
		}
		var s *set
		var v any
		if g.Name == "set" {
			x := &Set{}
			s, v = &x.set, x
		} else {
			x := &FrozenSet{}
			s, v = &x.set, x
		}
		if err := st.addAll(s, items); err != nil {
			return nil, false, err
		}
		return v, true, nil
	}
	return nil, false, nil
}

func isLatin1Name(v any) bool {
	switch s := v.(type) {
	case string:
		return s == "latin1" || s == "latin-1"
	case ByteString:
		return s == "latin1" || s == "latin-1"
	}
	return false
}
