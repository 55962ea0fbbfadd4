package managers

import (
	"context"
	"fmt"
	"sync"

	"github.com/mpconn/mpconn/pickle"
)

var listExposed = []string{"__add__", "__contains__", "__delitem__", "__getitem__", "__len__",
	"__mul__", "__reversed__", "__rmul__", "__setitem__",
	"append", "count", "extend", "index", "insert", "pop", "remove",
	"reverse", "sort", "__imul__",
	"__getslice__", "__setslice__", "__delslice__"} // (the last three: Python 2's ListProxy)

// listObj is a list.
type listObj struct {
	limit int
	mu    sync.Mutex
	items []any
}

func newListObj(s *Server, args []any) (Object, error) {
	l := &listObj{limit: s.opts.MaxItems}
	if args[0] != nil {
		items, ok := iterable(args[0])
		if !ok {
			return nil, typeError("'%s' object is not iterable", typeName(args[0]))
		}
		if len(items) > l.limit {
			return nil, l.full()
		}
		l.items = append([]any(nil), items...)
	}
	return l, nil
}

func (l *listObj) full() error {
	return NewException("builtins", "MemoryError", fmt.Sprintf("mpconn manager: limit of %d items per object reached", l.limit))
}

// py2Slice turns Python 2's slice methods (__getslice__(i, j),
// __setslice__(i, j, seq), __delslice__(i, j)) into the item method with
// a slice object; it returns nil for other methods.
func py2Slice(c *Call) (*Call, error) {
	switch c.Method {
	case "__getslice__", "__setslice__", "__delslice__":
	default:
		return nil, nil
	}
	names := []string{"i", "j"}
	if c.Method == "__setslice__" {
		names = append(names, "sequence")
	}
	a, err := c.Bind(names)
	if err != nil {
		return nil, err
	}
	sl := &pickle.Object{Kind: pickle.Reduce, Callable: pickle.Global{Module: "builtins", Name: "slice"}, Args: pickle.Tuple{a[0], a[1], nil}}
	inner := &Call{Method: "__" + c.Method[2:5] + "item__", Args: pickle.Tuple{sl}, Kwargs: pickle.NewDict(), Caller: c.Caller}
	if c.Method == "__setslice__" {
		inner.Args = append(inner.Args, a[2])
	}
	return inner, nil
}

// sliceOf reads a pickled slice object (builtins.slice(start, stop, step)).
func sliceOf(v any) (start, stop, step any, ok bool) {
	o, isObj := v.(*pickle.Object)
	if !isObj || o.Class() != "builtins.slice" || len(o.Args) != 3 {
		return nil, nil, nil, false
	}
	return o.Args[0], o.Args[1], o.Args[2], true
}

// sliceIndices returns the indices a slice selects in a sequence of n, as
// slice.indices does.
func sliceIndices(v any, n int) ([]int, int, error) {
	startV, stopV, stepV, _ := sliceOf(v)
	step := int64(1)
	if stepV != nil {
		var ok bool
		if step, ok = toInt(stepV); !ok {
			return nil, 0, typeError("slice indices must be integers or None or have an __index__ method")
		}
		if step == 0 {
			return nil, 0, valueError("slice step cannot be zero")
		}
	}
	clamp := func(v any, def int64) (int64, error) {
		if v == nil {
			return def, nil
		}
		i, ok := toInt(v)
		if !ok {
			return 0, typeError("slice indices must be integers or None or have an __index__ method")
		}
		if i < 0 {
			i += int64(n)
			if i < 0 {
				if step < 0 {
					return -1, nil
				}
				return 0, nil
			}
		}
		if i >= int64(n) {
			if step < 0 {
				return int64(n) - 1, nil
			}
			return int64(n), nil
		}
		return i, nil
	}
	var start, stop int64
	var err error
	if step > 0 {
		start, err = clamp(startV, 0)
		if err == nil {
			stop, err = clamp(stopV, int64(n))
		}
	} else {
		start, err = clamp(startV, int64(n)-1)
		if err == nil {
			stop, err = clamp(stopV, -1)
		}
	}
	if err != nil {
		return nil, 0, err
	}
	var idx []int
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		idx = append(idx, int(i))
	}
	return idx, int(step), nil
}

// index resolves an item index (negative from the end).
func index(v any, n int, what string) (int, error) {
	i, ok := toInt(v)
	if !ok {
		return 0, typeError("%s indices must be integers or slices, not %s", what, typeName(v))
	}
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, NewException("builtins", "IndexError", what+" index out of range")
	}
	return int(i), nil
}

func (l *listObj) CallMethod(ctx context.Context, c *Call) (any, error) {
	if inner, err := py2Slice(c); inner != nil || err != nil {
		if err != nil {
			return nil, err
		}
		return l.CallMethod(ctx, inner)
	}
	var a []any
	var err error
	switch c.Method {
	case "__len__", "__reversed__", "reverse":
		err = c.noArgs()
	case "__setitem__", "insert":
		a, err = c.Bind([]string{"index", "value"})
	case "pop":
		a, err = c.Bind([]string{"index"}, int64(-1))
	case "index":
		a, err = c.Bind([]string{"value", "start", "stop"}, int64(0), nil)
	case "sort":
		if len(c.Args) > 0 {
			return nil, typeError("sort() takes no positional arguments")
		}
		a, err = c.Bind([]string{"key", "reverse"}, nil, false)
	default:
		a, err = c.Bind([]string{"value"})
	}
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.items)
	switch c.Method {
	case "__len__":
		return n, nil
	case "__contains__", "count":
		cnt := 0
		for _, x := range l.items {
			if pyEqual(x, a[0]) {
				if c.Method == "__contains__" {
					return true, nil
				}
				cnt++
			}
		}
		if c.Method == "__contains__" {
			return false, nil
		}
		return cnt, nil
	case "__getitem__":
		if _, _, _, ok := sliceOf(a[0]); ok {
			idx, _, err := sliceIndices(a[0], n)
			if err != nil {
				return nil, err
			}
			out := make([]any, len(idx))
			for j, i := range idx {
				out[j] = l.items[i]
			}
			return out, nil
		}
		i, err := index(a[0], n, "list")
		if err != nil {
			return nil, err
		}
		return l.items[i], nil
	case "__setitem__":
		if _, _, _, ok := sliceOf(a[0]); ok {
			vals, ok := iterable(a[1])
			if !ok {
				return nil, typeError("can only assign an iterable")
			}
			idx, step, err := sliceIndices(a[0], n)
			if err != nil {
				return nil, err
			}
			if step != 1 {
				if len(vals) != len(idx) {
					return nil, valueError("attempt to assign sequence of size %d to extended slice of size %d", len(vals), len(idx))
				}
				for j, i := range idx {
					l.items[i] = vals[j]
				}
				return nil, nil
			}
			start, _, _, _ := sliceOf(a[0])
			lo := 0
			if len(idx) > 0 {
				lo = idx[0]
			} else if s, ok := toInt(start); ok {
				lo = int(max(0, min(int64(n), s)))
				if s < 0 {
					lo = int(max(0, s+int64(n)))
				}
			}
			if n-len(idx)+len(vals) > l.limit {
				return nil, l.full()
			}
			rest := append(append([]any(nil), vals...), l.items[lo+len(idx):]...)
			l.items = append(l.items[:lo], rest...)
			return nil, nil
		}
		i, err := index(a[0], n, "list assignment")
		if err != nil {
			return nil, err
		}
		l.items[i] = a[1]
		return nil, nil
	case "__delitem__":
		if _, _, _, ok := sliceOf(a[0]); ok {
			idx, _, err := sliceIndices(a[0], n)
			if err != nil {
				return nil, err
			}
			drop := map[int]bool{}
			for _, i := range idx {
				drop[i] = true
			}
			out := l.items[:0:0]
			for i, x := range l.items {
				if !drop[i] {
					out = append(out, x)
				}
			}
			l.items = out
			return nil, nil
		}
		i, err := index(a[0], n, "list assignment")
		if err != nil {
			return nil, err
		}
		l.items = append(l.items[:i], l.items[i+1:]...)
		return nil, nil
	case "__add__":
		other, ok := a[0].([]any)
		if !ok {
			return nil, typeError("can only concatenate list (not \"%s\") to list", typeName(a[0]))
		}
		if n+len(other) > l.limit {
			return nil, l.full()
		}
		return append(append([]any(nil), l.items...), other...), nil
	case "__mul__", "__rmul__", "__imul__":
		k, ok := toInt(a[0])
		if !ok {
			return nil, typeError("can't multiply sequence by non-int of type '%s'", typeName(a[0]))
		}
		if k < 0 {
			k = 0
		}
		if n > 0 && k > int64(l.limit/n) {
			return nil, l.full()
		}
		out := make([]any, 0, n*int(k))
		for range k {
			out = append(out, l.items...)
		}
		if c.Method == "__imul__" {
			l.items = out
			return append([]any(nil), out...), nil
		}
		return out, nil
	case "__reversed__":
		out := make([]any, n)
		for i, x := range l.items {
			out[n-1-i] = x
		}
		return out, nil
	case "append":
		if n >= l.limit {
			return nil, l.full()
		}
		l.items = append(l.items, a[0])
		return nil, nil
	case "extend":
		vals, ok := iterable(a[0])
		if !ok {
			return nil, typeError("'%s' object is not iterable", typeName(a[0]))
		}
		if n+len(vals) > l.limit {
			return nil, l.full()
		}
		l.items = append(l.items, vals...)
		return nil, nil
	case "index":
		idx, _, err := sliceIndices(&pickle.Object{Callable: pickle.Global{Module: "builtins", Name: "slice"}, Args: pickle.Tuple{a[1], a[2], nil}}, n)
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			if pyEqual(l.items[i], a[0]) {
				return i, nil
			}
		}
		return nil, valueError("%s is not in list", repr(a[0]))
	case "insert":
		i, ok := toInt(a[0])
		if !ok {
			return nil, typeError("'%s' object cannot be interpreted as an integer", typeName(a[0]))
		}
		if n >= l.limit {
			return nil, l.full()
		}
		if i < 0 {
			i = max(0, i+int64(n))
		}
		i = min(i, int64(n))
		l.items = append(l.items, nil)
		copy(l.items[i+1:], l.items[i:])
		l.items[i] = a[1]
		return nil, nil
	case "pop":
		if n == 0 {
			return nil, NewException("builtins", "IndexError", "pop from empty list")
		}
		i, err := index(a[0], n, "pop")
		if err != nil {
			return nil, err
		}
		v := l.items[i]
		l.items = append(l.items[:i], l.items[i+1:]...)
		return v, nil
	case "remove":
		for i, x := range l.items {
			if pyEqual(x, a[0]) {
				l.items = append(l.items[:i], l.items[i+1:]...)
				return nil, nil
			}
		}
		return nil, valueError("list.remove(x): x not in list")
	case "reverse":
		for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
			l.items[i], l.items[j] = l.items[j], l.items[i]
		}
		return nil, nil
	case "sort":
		if a[0] != nil {
			return nil, NewException("builtins", "NotImplementedError", "mpconn manager: sort(key=...) would run Python code, which a Go server cannot do")
		}
		tmp := append([]any(nil), l.items...)
		if err := sortValues(tmp, truth(a[1])); err != nil {
			return nil, err
		}
		l.items = tmp
		return nil, nil
	}
	return nil, NewException("builtins", "AttributeError", fmt.Sprintf("'list' object has no attribute %s", strRepr(c.Method)))
}

func (l *listObj) PyRepr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return repr(l.items)
}

func (l *listObj) GetValue() (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]any{}, l.items...), nil
}
