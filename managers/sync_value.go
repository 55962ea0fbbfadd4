package managers

import (
	"context"
	"fmt"

	"sort"
	"strings"
	"sync"

	"github.com/mpconn/mpconn/pickle"
)

// valueObj is multiprocessing.managers.Value(typecode, value, lock=True):
// it stores the value as given (CPython does not convert it either).
type valueObj struct {
	typecode any
	mu       sync.Mutex
	value    any
}

var valueExposed = []string{"get", "set"}

func (v *valueObj) CallMethod(ctx context.Context, c *Call) (any, error) {
	switch c.Method {
	case "get":
		if err := c.noArgs(); err != nil {
			return nil, err
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.value, nil
	case "set":
		a, err := c.Bind([]string{"value"})
		if err != nil {
			return nil, err
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		v.value = a[0]
		return nil, nil
	}
	return nil, NewException("builtins", "AttributeError", fmt.Sprintf("'Value' object has no attribute %s", strRepr(c.Method)))
}

func (v *valueObj) PyRepr() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return "Value(" + repr(v.typecode) + ", " + repr(v.value) + ")"
}

func (v *valueObj) GetValue() (any, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := pickle.NewDict()
	st.Set("_typecode", v.typecode)
	st.Set("_value", v.value)
	return &pickle.Object{Kind: pickle.NewObj, Callable: pickle.Global{Module: "multiprocessing.managers", Name: "Value"},
		Args: pickle.Tuple{}, HasState: true, State: st}, nil
}

// arrayObj is array.array(typecode, sequence), for the Array typeid.
type arrayObj struct {
	typecode string
	limit    int
	mu       sync.Mutex
	items    []any
}

var arrayExposed = []string{"__len__", "__getitem__", "__setitem__", "__getslice__", "__setslice__"} // (the last two: Python 2's ArrayProxy)

var intRanges = map[string][2]float64{
	"b": {-128, 127}, "B": {0, 255}, "h": {-32768, 32767}, "H": {0, 65535},
	"i": {-2147483648, 2147483647}, "I": {0, 4294967295},
	"l": {-9223372036854775808, 9223372036854775807}, "L": {0, 18446744073709551615},
	"q": {-9223372036854775808, 9223372036854775807}, "Q": {0, 18446744073709551615},
}

func newArray(s *Server, args []any) (Object, error) {
	tc, ok := pyString(args[0])
	if !ok {
		return nil, typeError("array() argument 1 must be a unicode character, not %s", typeName(args[0]))
	}
	if _, isInt := intRanges[tc]; !isInt && tc != "f" && tc != "d" && tc != "u" {
		return nil, valueError("bad typecode (must be b, B, u, h, H, i, I, l, L, q, Q, f or d)")
	}
	a := &arrayObj{typecode: tc, limit: s.opts.MaxItems}
	items, ok := iterable(args[1])
	if !ok {
		if n, isInt := toInt(args[1]); isInt {
			// multiprocessing's Array(typecode, size) makes zeros.
			if n < 0 || n > int64(a.limit) {
				return nil, a.fullErr()
			}
			items = make([]any, n)
			for i := range items {
				items[i] = a.zero()
			}
		} else {
			return nil, typeError("'%s' object is not iterable", typeName(args[1]))
		}
	}
	if len(items) > a.limit {
		return nil, a.fullErr()
	}
	for _, it := range items {
		v, err := a.convert(it)
		if err != nil {
			return nil, err
		}
		a.items = append(a.items, v)
	}
	return a, nil
}

func (a *arrayObj) fullErr() error {
	return NewException("builtins", "MemoryError", fmt.Sprintf("mpconn manager: limit of %d items per object reached", a.limit))
}

func (a *arrayObj) zero() any {
	switch a.typecode {
	case "f", "d":
		return 0.0
	case "u":
		return "\x00"
	}
	return int64(0)
}

// convert checks v fits the array's type, as array.array does.
func (a *arrayObj) convert(v any) (any, error) {
	switch a.typecode {
	case "f", "d":
		f, ok := toFloat(v)
		if !ok {
			return nil, typeError("must be real number, not %s", typeName(v))
		}
		if a.typecode == "f" {
			f = float64(float32(f))
		}
		return f, nil
	case "u":
		s, ok := v.(string)
		if !ok || len([]rune(s)) != 1 {
			return nil, typeError("array item must be unicode character")
		}
		return s, nil
	}
	if _, isFloat := v.(float64); isFloat {
		return nil, typeError("'float' object cannot be interpreted as an integer")
	}
	i, ok := toInt(v)
	if !ok {
		return nil, typeError("an integer is required (got type %s)", typeName(v))
	}
	r := intRanges[a.typecode]
	if float64(i) < r[0] || float64(i) > r[1] {
		return nil, NewException("builtins", "OverflowError", "value out of range for array type "+a.typecode)
	}
	return i, nil
}

func (a *arrayObj) CallMethod(ctx context.Context, c *Call) (any, error) {
	if inner, err := py2Slice(c); inner != nil || err != nil {
		if err != nil {
			return nil, err
		}
		return a.CallMethod(ctx, inner)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n := len(a.items)
	switch c.Method {
	case "__len__":
		if err := c.noArgs(); err != nil {
			return nil, err
		}
		return n, nil
	case "__getitem__":
		args, err := c.Bind([]string{"index"})
		if err != nil {
			return nil, err
		}
		if _, _, _, ok := sliceOf(args[0]); ok {
			idx, _, err := sliceIndices(args[0], n)
			if err != nil {
				return nil, err
			}
			out := make([]any, len(idx))
			for j, i := range idx {
				out[j] = a.items[i]
			}
			return a.pickled(out), nil
		}
		i, err := index(args[0], n, "array")
		if err != nil {
			return nil, err
		}
		return a.items[i], nil
	case "__setitem__":
		args, err := c.Bind([]string{"index", "value"})
		if err != nil {
			return nil, err
		}
		if _, _, _, ok := sliceOf(args[0]); ok {
			idx, _, err := sliceIndices(args[0], n)
			if err != nil {
				return nil, err
			}
			vals, ok := iterable(args[1])
			if o, isObj := args[1].(*pickle.Object); isObj && o.Class() == "array.array" && len(o.Args) == 2 {
				vals, ok = iterable(o.Args[1])
			}
			if !ok || len(vals) != len(idx) {
				return nil, NewException("builtins", "NotImplementedError", "mpconn manager: array slice assignment must keep the length")
			}
			conv := make([]any, len(vals))
			for j, v := range vals {
				if conv[j], err = a.convert(v); err != nil {
					return nil, err
				}
			}
			for j, i := range idx {
				a.items[i] = conv[j]
			}
			return nil, nil
		}
		i, err := index(args[0], n, "array assignment")
		if err != nil {
			return nil, err
		}
		v, err := a.convert(args[1])
		if err != nil {
			return nil, err
		}
		a.items[i] = v
		return nil, nil
	}
	return nil, NewException("builtins", "AttributeError", fmt.Sprintf("'array.array' object has no attribute %s", strRepr(c.Method)))
}

// pickled returns an array as CPython's managers pickle one:
// array.array(typecode, items).
func (a *arrayObj) pickled(items []any) any {
	if a.typecode == "u" {
		var b strings.Builder
		for _, it := range items {
			b.WriteString(it.(string))
		}
		return &pickle.Object{Kind: pickle.Reduce, Callable: pickle.Global{Module: "array", Name: "array"}, Args: pickle.Tuple{a.typecode, b.String()}}
	}
	return &pickle.Object{Kind: pickle.Reduce, Callable: pickle.Global{Module: "array", Name: "array"}, Args: pickle.Tuple{a.typecode, append([]any{}, items...)}}
}

func (a *arrayObj) PyRepr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.items) == 0 {
		return "array(" + strRepr(a.typecode) + ")"
	}
	return "array(" + strRepr(a.typecode) + ", " + repr(a.items) + ")"
}

func (a *arrayObj) GetValue() (any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pickled(a.items), nil
}

// namespaceObj is multiprocessing.managers.Namespace.
type namespaceObj struct {
	limit int
	mu    sync.Mutex
	attrs *odict
}

var namespaceExposed = []string{"__getattribute__", "__setattr__", "__delattr__"}

func (ns *namespaceObj) CallMethod(ctx context.Context, c *Call) (any, error) {
	var a []any
	var err error
	if c.Method == "__setattr__" {
		a, err = c.Bind([]string{"name", "value"})
	} else {
		a, err = c.Bind([]string{"name"})
	}
	if err != nil {
		return nil, err
	}
	name, ok := pyString(a[0])
	if !ok {
		return nil, typeError("attribute name must be string, not '%s'", typeName(a[0]))
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	noAttr := NewException("builtins", "AttributeError", fmt.Sprintf("'Namespace' object has no attribute %s", strRepr(name)))
	switch c.Method {
	case "__getattribute__":
		if name == "__dict__" {
			return ns.attrs.toDict(), nil
		}
		v, ok, _ := ns.attrs.get(name)
		if !ok {
			return nil, noAttr
		}
		return v, nil
	case "__setattr__":
		if _, ok, _ := ns.attrs.get(name); !ok && ns.attrs.n >= ns.limit {
			return nil, NewException("builtins", "MemoryError", fmt.Sprintf("mpconn manager: limit of %d items per object reached", ns.limit))
		}
		return nil, ns.attrs.set(name, a[1])
	case "__delattr__":
		if _, ok, _ := ns.attrs.del(name); !ok {
			return nil, noAttr
		}
		return nil, nil
	}
	return nil, noAttr
}

func (ns *namespaceObj) PyRepr() string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	var parts []string
	ns.attrs.each(func(k, v any) {
		name, _ := pyString(k)
		if !strings.HasPrefix(name, "_") {
			parts = append(parts, name+"="+repr(v))
		}
	})
	sort.Strings(parts)
	return "Namespace(" + strings.Join(parts, ", ") + ")"
}

func (ns *namespaceObj) GetValue() (any, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return &pickle.Object{Kind: pickle.NewObj, Callable: pickle.Global{Module: "multiprocessing.managers", Name: "Namespace"},
		Args: pickle.Tuple{}, HasState: true, State: ns.attrs.toDict()}, nil
}
