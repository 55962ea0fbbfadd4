package pickle

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Repr returns the text Python 3's repr() prints for the object v stands
// for. v is a value Unmarshal decodes into an any (the model types of
// this package, nil, bool, int64, *big.Int, float64, string, []byte,
// []any), or any Go value Marshal encodes, which prints as the Python
// value it pickles to. The model types print this way with fmt too:
// fmt.Print of a *Dict prints {'a': 1}, as Python's print does.
//
// For the built-in types (None, bool, int, float, str, bytes, bytearray,
// list, tuple, dict, set, frozenset) the text is what CPython 3 prints,
// with two differences by nature: a set prints in the order its members
// arrived (Python's order follows hashes), and whether a non-ASCII
// character is printable follows Go's Unicode tables, which may be newer
// or older than the Python's. A recursive list, dict or set prints [...],
// {...} or set(...) where it contains itself, as Python does.
//
// The other values have no Python repr that can be computed without
// running the class's code, so they print in a form of this package:
//
//	a Python 2 str (ByteString)  '...', as Python 2 prints it (bytes escapes)
//	a class or function (Global) <global module.name>
//	any other object (*Object)   module.Name(arg, ..., key=value)
//	                             then .__setstate__(STATE) if it had state,
//	                             .extend([...]) for appended items and
//	                             .update({...}) for set items
//
// so that ValueError('x') prints builtins.ValueError('x'),
// Decimal('1.5') decimal.Decimal('1.5'), and an instance of a plain class
// __main__.Point().__setstate__({'x': 1}). An object met again inside
// itself prints as "...". The datetime module's date, datetime, time,
// timedelta and timezone.utc print as Python 3.7+ prints them
// (datetime.date(2024, 1, 2)), decoded from the fields their pickles
// carry. A Go value that Marshal cannot encode prints as <Go TYPE VALUE>.
func Repr(v any) string {
	r := reprWriter{active: map[uintptr]bool{}}
	r.value(v)
	return r.b.String()
}

type reprWriter struct {
	b      strings.Builder
	active map[uintptr]bool // containers being printed, by identity
}

// enter marks the container id as being printed; it returns false if it
// already is (a recursion).
func (r *reprWriter) enter(id uintptr) bool {
	if r.active[id] {
		return false
	}
	r.active[id] = true
	return true
}

func (r *reprWriter) leave(id uintptr) { delete(r.active, id) }

func (r *reprWriter) value(v any) {
	b := &r.b
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case *big.Int:
		if x == nil {
			b.WriteString("None")
		} else {
			b.WriteString(x.String())
		}
	case float64:
		b.WriteString(pyFloat(x))
	case string:
		b.WriteString(pyStr(x))
	case []byte:
		b.WriteByte('b')
		b.WriteString(pyBytes(x))
	case ByteArray:
		b.WriteString("bytearray(b")
		b.WriteString(pyBytes(x))
		b.WriteString(")")
	case ByteString:
		b.WriteString(pyBytes([]byte(x)))
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		id := uintptr(unsafe.Pointer(&x[0]))
		if !r.enter(id) {
			b.WriteString("[...]")
			return
		}
		b.WriteByte('[')
		r.items(x)
		b.WriteByte(']')
		r.leave(id)
	case Tuple:
		b.WriteByte('(')
		r.items(x)
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case *Dict:
		if x == nil {
			b.WriteString("None")
			return
		}
		id := uintptr(unsafe.Pointer(x))
		if !r.enter(id) {
			b.WriteString("{...}")
			return
		}
		r.dictItems(x.Items())
		r.leave(id)
	case *Set:
		if x == nil {
			b.WriteString("None")
			return
		}
		r.set("set", uintptr(unsafe.Pointer(x)), x.Items())
	case *FrozenSet:
		if x == nil {
			b.WriteString("None")
			return
		}
		r.set("frozenset", uintptr(unsafe.Pointer(x)), x.Items())
	case Global:
		b.WriteString("<global " + x.Module + "." + x.Name + ">")
	case *Object:
		if x == nil {
			b.WriteString("None")
			return
		}
		r.object(x)
	default:
		r.goValue(v)
	}
}

func (r *reprWriter) items(xs []any) {
	for i, v := range xs {
		if i > 0 {
			r.b.WriteString(", ")
		}
		r.value(v)
	}
}

func (r *reprWriter) dictItems(items []Item) {
	r.b.WriteByte('{')
	for i, it := range items {
		if i > 0 {
			r.b.WriteString(", ")
		}
		r.value(it.Key)
		r.b.WriteString(": ")
		r.value(it.Value)
	}
	r.b.WriteByte('}')
}

// set prints a set as Python does: set() when empty, {1, 2} for a set,
// frozenset({1, 2}) for a frozenset, and NAME(...) for a recursion.
func (r *reprWriter) set(name string, id uintptr, items []any) {
	b := &r.b
	if len(items) == 0 {
		b.WriteString(name + "()")
		return
	}
	if !r.enter(id) {
		b.WriteString(name + "(...)")
		return
	}
	if name != "set" {
		b.WriteString(name + "(")
	}
	b.WriteByte('{')
	r.items(items)
	b.WriteByte('}')
	if name != "set" {
		b.WriteByte(')')
	}
	r.leave(id)
}

func (r *reprWriter) object(o *Object) {
	b := &r.b
	id := uintptr(unsafe.Pointer(o))
	if !r.enter(id) {
		b.WriteString("...")
		return
	}
	defer r.leave(id)
	if r.reprDatetime(o) {
		return
	}
	if g, ok := o.Callable.(Global); ok {
		b.WriteString(g.Module + "." + g.Name)
	} else {
		r.value(o.Callable)
	}
	b.WriteByte('(')
	r.items(o.Args)
	if o.Kwargs != nil {
		for i, it := range o.Kwargs.Items() {
			if i > 0 || len(o.Args) > 0 {
				b.WriteString(", ")
			}
			if k, ok := it.Key.(string); ok && isIdentifier(k) {
				b.WriteString(k)
			} else {
				b.WriteString("**{")
				r.value(it.Key)
				b.WriteString(": ")
				r.value(it.Value)
				b.WriteString("}")
				continue
			}
			b.WriteByte('=')
			r.value(it.Value)
		}
	}
	b.WriteByte(')')
	if o.HasState {
		b.WriteString(".__setstate__(")
		r.value(o.State)
		b.WriteByte(')')
	}
	if len(o.ListItems) > 0 {
		b.WriteString(".extend([")
		r.items(o.ListItems)
		b.WriteString("])")
	}
	if len(o.DictItems) > 0 {
		b.WriteString(".update(")
		r.dictItems(o.DictItems)
		b.WriteByte(')')
	}
}

func isIdentifier(s string) bool {
	for i, c := range s {
		if !(c == '_' || unicode.IsLetter(c) || i > 0 && unicode.IsDigit(c)) {
			return false
		}
	}
	return s != ""
}

// pyFloat formats f as Python's repr(float): the shortest digits that
// read back as f, in fixed notation when the decimal exponent is from -5
// to 15 (with ".0" when integral) and in scientific notation otherwise,
// with a signed exponent of at least two digits.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±XX
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	if exp < -4 || exp >= 16 {
		return e
	}
	sign := ""
	if mant[0] == '-' {
		sign, mant = "-", mant[1:]
	}
	digits := strings.Replace(mant, ".", "", 1)
	point := exp + 1 // digits before the decimal point
	var s string
	switch {
	case point <= 0:
		s = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		s = digits + strings.Repeat("0", point-len(digits)) + ".0"
	default:
		s = digits[:point] + "." + digits[point:]
	}
	return sign + s
}

// pyStr formats s as Python 3's repr(str). Lone surrogates, which the
// pickle package keeps as 3-byte sequences, print as \udXXX; any other
// byte that is not UTF-8 (which no decoded str contains) prints as \xNN.
func pyStr(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			if sr, ok := surrogateAt(s[i:]); ok {
				fmt.Fprintf(&b, "\\u%04x", sr)
				i += 3
				continue
			}
			fmt.Fprintf(&b, "\\x%02x", s[i])
			i++
			continue
		}
		i += n
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r < 0x7f || unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r < 0x10000:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			fmt.Fprintf(&b, "\\U%08x", r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// surrogateAt decodes a surrogate written as a 3-byte sequence (ED A0 80
// to ED BF BF) at the start of s.
func surrogateAt(s string) (rune, bool) {
	if len(s) < 3 || s[0] != 0xED || s[1] < 0xA0 || s[1] > 0xBF || s[2]&0xC0 != 0x80 {
		return 0, false
	}
	return 0xD000 | rune(s[1]&0x3F)<<6 | rune(s[2]&0x3F), true
}

// pyBytes formats p as Python's repr(bytes) without the b prefix.
func pyBytes(p []byte) string {
	quote := byte('\'')
	if strings.IndexByte(string(p), '\'') >= 0 && strings.IndexByte(string(p), '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(p) + 2)
	b.WriteByte(quote)
	const hexDigits = "0123456789abcdef"
	for _, c := range p {
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < ' ' || c >= 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// goValue prints a Go value that is not a model value as the Python value
// it pickles to.
func (r *reprWriter) goValue(v any) {
	if !r.enter(0) {
		// Already inside a Go value's model: never recurse again.
		fmt.Fprintf(&r.b, "<Go %T>", v)
		return
	}
	defer r.leave(0)
	var m any
	p, err := Marshal(v)
	if err == nil {
		err = Unmarshal(p, &m)
	}
	if err != nil {
		fmt.Fprintf(&r.b, "<Go %T %v>", v, v)
		return
	}
	r.value(m)
}
