package managers

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/mpconn/mpconn/pickle"
)

// This file holds the bits of Python semantics the served objects need:
// repr, equality, ordering and truthiness of decoded values.

// repr returns a Python repr of a decoded value (objects it cannot show
// are written as <module.Class object>).
func repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v, 0)
	return b.String()
}

func writeRepr(b *strings.Builder, v any, depth int) {
	if depth > 100 {
		b.WriteString("...")
		return
	}
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
		b.WriteString(x.String())
	case float64:
		b.WriteString(floatRepr(x))
	case string:
		b.WriteString(strRepr(x))
	case pickle.ByteString:
		b.WriteString(strRepr(string(x)))
	case []byte:
		b.WriteString("b" + bytesRepr(x))
	case pickle.ByteArray:
		b.WriteString("bytearray(b" + bytesRepr(x) + ")")
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e, depth+1)
		}
		b.WriteByte(']')
	case pickle.Tuple:
		b.WriteByte('(')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e, depth+1)
		}
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case *pickle.Dict:
		b.WriteByte('{')
		for i, it := range x.Items() {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, it.Key, depth+1)
			b.WriteString(": ")
			writeRepr(b, it.Value, depth+1)
		}
		b.WriteByte('}')
	case *pickle.Set:
		writeSetRepr(b, "set", x.Items(), depth)
	case *pickle.FrozenSet:
		writeSetRepr(b, "frozenset", x.Items(), depth)
	case pickle.Global:
		b.WriteString("<class '" + x.String() + "'>")
	case *pickle.Object:
		if e := x.Class(); e != "" {
			g := x.Callable.(pickle.Global)
			if strings.HasSuffix(g.Name, "Error") || strings.HasSuffix(g.Name, "Exception") {
				b.WriteString(g.Name)
				writeRepr(b, x.Args, depth+1)
				return
			}
			b.WriteString("<" + e + " object>")
			return
		}
		b.WriteString("<object>")
	case *Exception:
		b.WriteString(x.Class.Name)
		writeRepr(b, x.Args, depth+1)
	default:
		fmt.Fprintf(b, "%v", x)
	}
}

func writeSetRepr(b *strings.Builder, name string, items []any, depth int) {
	if len(items) == 0 {
		b.WriteString(name + "()")
		return
	}
	if name != "set" {
		b.WriteString(name + "(")
	}
	b.WriteByte('{')
	for i, e := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		writeRepr(b, e, depth+1)
	}
	b.WriteByte('}')
	if name != "set" {
		b.WriteByte(')')
	}
}

// floatRepr formats f as Python's repr does.
func floatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	exp := 0
	if f != 0 {
		exp = int(math.Floor(math.Log10(math.Abs(f))))
	}
	if exp < -4 || exp >= 16 {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		mant, e, _ := strings.Cut(s, "e")
		if e[0] == '+' {
			e = e[1:]
			e = strings.TrimLeft(e, "0")
			if len(e) < 2 {
				e = "0" + e
			}
			return mant + "e+" + e
		}
		e = strings.TrimLeft(e[1:], "0")
		if len(e) < 2 {
			e = "0" + e
		}
		return mant + "e-" + e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// strRepr quotes s as Python's str repr does (for printable text; other
// characters are escaped).
func strRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

func bytesRepr(p []byte) string {
	q := byte('\'')
	if bytes.IndexByte(p, '\'') >= 0 && bytes.IndexByte(p, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, c := range p {
		switch {
		case c == q || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// typeName returns the Python type name of a decoded value.
func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, int, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case pickle.ByteString:
		return "str"
	case []byte:
		return "bytes"
	case pickle.ByteArray:
		return "bytearray"
	case []any:
		return "list"
	case pickle.Tuple:
		return "tuple"
	case *pickle.Dict:
		return "dict"
	case *pickle.Set:
		return "set"
	case *pickle.FrozenSet:
		return "frozenset"
	case *pickle.Object:
		if g, ok := x.Callable.(pickle.Global); ok {
			return g.Name
		}
	}
	return "object"
}

// hashable reports whether v can be a dict key.
func hashable(v any) bool {
	return pickle.NewFrozenSet().Add(v) == nil
}

// pyEqual reports whether a == b in Python, for decoded values.
func pyEqual(a, b any) bool {
	if hashable(a) && hashable(b) {
		s := pickle.NewFrozenSet()
		if s.Add(a) == nil {
			return s.Has(b)
		}
	}
	la, oka := sequence(a)
	lb, okb := sequence(b)
	if oka && okb && typeName(a) == typeName(b) {
		if len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !pyEqual(la[i], lb[i]) {
				return false
			}
		}
		return true
	}
	return pickle.Equal(a, b)
}

func sequence(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case pickle.Tuple:
		return x, true
	}
	return nil, false
}

// number returns v as a float and big int for comparisons.
func number(v any) (*big.Float, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return big.NewFloat(1), true
		}
		return big.NewFloat(0), true
	case int64:
		return new(big.Float).SetInt64(x), true
	case int:
		return new(big.Float).SetInt64(int64(x)), true
	case *big.Int:
		return new(big.Float).SetInt(x), true
	case float64:
		if math.IsNaN(x) {
			return nil, false
		}
		return big.NewFloat(x), true
	}
	return nil, false
}

// pyCompare compares a and b as Python's < does: -1, 0 or 1, or a
// TypeError for types that do not order.
func pyCompare(a, b any) (int, error) {
	if na, ok := number(a); ok {
		if nb, ok := number(b); ok {
			return na.Cmp(nb), nil
		}
	}
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			return strings.Compare(sa, sb), nil
		}
	}
	if ba, ok := a.([]byte); ok {
		if bb, ok := b.([]byte); ok {
			return bytes.Compare(ba, bb), nil
		}
	}
	la, oka := sequence(a)
	lb, okb := sequence(b)
	if oka && okb && typeName(a) == typeName(b) {
		for i := 0; i < len(la) && i < len(lb); i++ {
			if pyEqual(la[i], lb[i]) {
				continue
			}
			return pyCompare(la[i], lb[i])
		}
		return cmpInt(len(la), len(lb)), nil
	}
	return 0, NewException("builtins", "TypeError",
		fmt.Sprintf("'<' not supported between instances of '%s' and '%s'", typeName(a), typeName(b)))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortValues sorts xs stably as list.sort does, or returns a TypeError.
func sortValues(xs []any, reverse bool) error {
	var err error
	sort.SliceStable(xs, func(i, j int) bool {
		if err != nil {
			return false
		}
		var c int
		if reverse {
			c, err = pyCompare(xs[j], xs[i])
		} else {
			c, err = pyCompare(xs[i], xs[j])
		}
		return c < 0
	})
	return err
}

// truth returns the truth value of a Python value.
func truth(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	case *big.Int:
		return x.Sign() != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case pickle.ByteString:
		return x != ""
	case []byte:
		return len(x) > 0
	case []any:
		return len(x) > 0
	case pickle.Tuple:
		return len(x) > 0
	case *pickle.Dict:
		return x.Len() > 0
	}
	return true
}

// toInt returns v as an int when it is a Python int (or bool).
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// toFloat returns v as a float when it is a Python int or float.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	}
	if i, ok := toInt(v); ok {
		return float64(i), true
	}
	return 0, false
}
