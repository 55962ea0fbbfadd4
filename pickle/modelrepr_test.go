package pickle

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Test helpers that render model values as text: goRepr is a strict,
// type-tagged form for comparing values in Go tests, and pySource is a
// Python expression that builds the same value in CPython.

// goRepr renders a model value so that two values render the same exactly
// when they have the same model types and contents (dict order included).
func goRepr(v any) string {
	var b strings.Builder
	writeGoRepr(&b, v, 0)
	return b.String()
}

func writeGoRepr(b *strings.Builder, v any, depth int) {
	if depth > 50 {
		b.WriteString("...")
		return
	}
	if nilModel(v) {
		fmt.Fprintf(b, "nil(%T)", v)
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
	case *big.Int:
		b.WriteString("big(" + x.String() + ")")
	case float64:
		b.WriteString("float(" + strconv.FormatFloat(x, 'g', -1, 64) + ")")
	case string:
		b.WriteString(strconv.Quote(x))
	case []byte:
		b.WriteString("b" + strconv.Quote(string(x)))
	case ByteArray:
		b.WriteString("bytearray(b" + strconv.Quote(string(x)) + ")")
	case ByteString:
		b.WriteString("py2str(" + strconv.Quote(string(x)) + ")")
	case []any:
		b.WriteString("[")
		writeGoReprList(b, x, depth)
		b.WriteString("]")
	case Tuple:
		b.WriteString("(")
		writeGoReprList(b, x, depth)
		b.WriteString(")")
	case *Dict:
		b.WriteString("{")
		for i, it := range x.Items() {
			if i > 0 {
				b.WriteString(", ")
			}
			writeGoRepr(b, it.Key, depth+1)
			b.WriteString(": ")
			writeGoRepr(b, it.Value, depth+1)
		}
		b.WriteString("}")
	case *Set:
		b.WriteString("set{")
		writeGoReprList(b, x.Items(), depth)
		b.WriteString("}")
	case *FrozenSet:
		b.WriteString("frozenset{")
		writeGoReprList(b, x.Items(), depth)
		b.WriteString("}")
	case Global:
		b.WriteString("global(" + x.String() + ")")
	case *Object:
		fmt.Fprintf(b, "object[%d](", x.Kind)
		writeGoRepr(b, x.Callable, depth+1)
		b.WriteString(", ")
		writeGoRepr(b, x.Args, depth+1)
		if x.Kwargs != nil {
			b.WriteString(", kwargs=")
			writeGoRepr(b, x.Kwargs, depth+1)
		}
		if x.HasState {
			b.WriteString(", state=")
			writeGoRepr(b, x.State, depth+1)
		}
		if len(x.ListItems) > 0 {
			b.WriteString(", list=[")
			writeGoReprList(b, x.ListItems, depth)
			b.WriteString("]")
		}
		if len(x.DictItems) > 0 {
			b.WriteString(", dict={")
			for i, it := range x.DictItems {
				if i > 0 {
					b.WriteString(", ")
				}
				writeGoRepr(b, it.Key, depth+1)
				b.WriteString(": ")
				writeGoRepr(b, it.Value, depth+1)
			}
			b.WriteString("}")
		}
		b.WriteString(")")
	default:
		fmt.Fprintf(b, "GO<%T %v>", v, v)
	}
}

func writeGoReprList(b *strings.Builder, items []any, depth int) {
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		writeGoRepr(b, it, depth+1)
	}
}

// pyPrelude defines the helpers pySource's expressions use. It runs on
// Python 2.7 and 3.x.
const pyPrelude = `
import sys, importlib
PY2 = sys.version_info[0] == 2
def _g(module, name):
    # What unpickling GLOBAL/STACK_GLOBAL finds; at protocols below 3 an
    # encoder maps Python 3's builtins to Python 2's __builtin__, as
    # CPython's fix_imports does.
    if PY2 and module == 'builtins':
        module = '__builtin__'
    obj = importlib.import_module(module)
    for part in name.split('.'):
        obj = getattr(obj, part)
    return obj
def _reduce(f, args):
    return f(*args)
def _newobj(cls, args):
    return cls.__new__(cls, *args)
`

// pySource renders a model value as a Python expression (for pyPrelude)
// that evaluates to what unpickling it gives.
func pySource(v any) (string, error) {
	var b strings.Builder
	err := writePySource(&b, v)
	return b.String(), err
}

func writePySource(b *strings.Builder, v any) error {
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
	case *big.Int:
		// A literal with L would be needed on 2.7 for a long; int(...)
		// gives an int or a long as the value needs, like unpickling.
		b.WriteString("int('" + x.String() + "')")
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("float('nan')")
		case math.IsInf(x, 1):
			b.WriteString("float('inf')")
		case math.IsInf(x, -1):
			b.WriteString("float('-inf')")
		default:
			b.WriteString("float('" + strconv.FormatFloat(x, 'g', -1, 64) + "')")
		}
	case string:
		b.WriteString("u'")
		for _, r := range x {
			fmt.Fprintf(b, "\\U%08x", r)
		}
		b.WriteString("'")
	case []byte:
		writePyBytes(b, x)
	case ByteArray:
		b.WriteString("bytearray(")
		writePyBytes(b, x)
		b.WriteString(")")
	case []any:
		b.WriteString("[")
		if err := writePyList(b, x); err != nil {
			return err
		}
		b.WriteString("]")
	case Tuple:
		b.WriteString("(")
		if err := writePyList(b, x); err != nil {
			return err
		}
		if len(x) == 1 {
			b.WriteString(",")
		}
		b.WriteString(")")
	case *Dict:
		b.WriteString("{")
		for i, it := range x.Items() {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writePySource(b, it.Key); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := writePySource(b, it.Value); err != nil {
				return err
			}
		}
		b.WriteString("}")
	case *Set:
		b.WriteString("set([")
		if err := writePyList(b, x.Items()); err != nil {
			return err
		}
		b.WriteString("])")
	case *FrozenSet:
		b.WriteString("frozenset([")
		if err := writePyList(b, x.Items()); err != nil {
			return err
		}
		b.WriteString("])")
	case Global:
		fmt.Fprintf(b, "_g(%q, %q)", x.Module, x.Name)
	case *Object:
		if x.HasState || len(x.ListItems) > 0 || len(x.DictItems) > 0 || x.Kwargs != nil || x.Kind == NewObjEx {
			return fmt.Errorf("pySource: objects with state or items are not rendered")
		}
		if x.Kind == Reduce {
			b.WriteString("_reduce(")
		} else {
			b.WriteString("_newobj(")
		}
		if err := writePySource(b, x.Callable); err != nil {
			return err
		}
		b.WriteString(", ")
		if err := writePySource(b, x.Args); err != nil {
			return err
		}
		b.WriteString(")")
	default:
		return fmt.Errorf("pySource: %T is not a model value", v)
	}
	return nil
}

func writePyList(b *strings.Builder, items []any) error {
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := writePySource(b, it); err != nil {
			return err
		}
	}
	return nil
}

func writePyBytes(b *strings.Builder, p []byte) {
	b.WriteString("b'")
	for _, c := range p {
		fmt.Fprintf(b, "\\x%02x", c)
	}
	b.WriteString("'")
}

// dictOf builds a *Dict from alternating keys and values.
func dictOf(kv ...any) *Dict {
	d := NewDict()
	for i := 0; i < len(kv); i += 2 {
		if err := d.Set(kv[i], kv[i+1]); err != nil {
			panic(err)
		}
	}
	return d
}
