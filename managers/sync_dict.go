package managers

import (
	"context"
	"fmt"
	"sync"

	"github.com/mpconn/mpconn/pickle"
)

var dictExposed = []string{"__contains__", "__delitem__", "__getitem__", "__iter__", "__len__",
	"__setitem__", "clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault", "update", "values",
	"has_key"} // (Python 2's DictProxy)

// dictObj is a dict.
type dictObj struct {
	limit int
	mu    sync.Mutex
	d     *odict
}

func newDictObj(s *Server, c *Call) (Object, error) {
	d := &dictObj{limit: s.opts.MaxItems, d: newODict()}
	if _, err := d.update(c); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *dictObj) full() error {
	if d.d.n >= d.limit {
		return NewException("builtins", "MemoryError", fmt.Sprintf("mpconn manager: limit of %d items per object reached", d.limit))
	}
	return nil
}

func (d *dictObj) setItem(k, v any) error {
	if _, ok, err := d.d.get(k); err != nil {
		return err
	} else if !ok {
		if err := d.full(); err != nil {
			return err
		}
	}
	return d.d.set(k, v)
}

// update is dict.update(other=(), **kwargs), and dict(other, **kwargs).
func (d *dictObj) update(c *Call) (any, error) {
	if len(c.Args) > 1 {
		return nil, typeError("update expected at most 1 argument, got %d", len(c.Args))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(c.Args) == 1 {
		switch o := c.Args[0].(type) {
		case *pickle.Dict:
			for _, it := range o.Items() {
				if err := d.setItem(it.Key, it.Value); err != nil {
					return nil, err
				}
			}
		default:
			items, ok := iterable(o)
			if !ok {
				return nil, typeError("'%s' object is not iterable", typeName(o))
			}
			for i, it := range items {
				p, ok := sequence(it)
				if !ok || len(p) != 2 {
					return nil, valueError("dictionary update sequence element #%d has wrong length", i)
				}
				if err := d.setItem(p[0], p[1]); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, it := range c.Kwargs.Items() {
		if err := d.setItem(it.Key, it.Value); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// iterable returns the items of a list, tuple, set, frozenset, dict (its
// keys) or str (its characters).
func iterable(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case pickle.Tuple:
		return x, true
	case *pickle.Set:
		return x.Items(), true
	case *pickle.FrozenSet:
		return x.Items(), true
	case *pickle.Dict:
		var ks []any
		for _, it := range x.Items() {
			ks = append(ks, it.Key)
		}
		return ks, true
	case string:
		var out []any
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, true
	case []byte:
		out := make([]any, len(x))
		for i, c := range x {
			out[i] = int64(c)
		}
		return out, true
	}
	return nil, false
}

func keyError(k any) error { return NewException("builtins", "KeyError", k) }

func (d *dictObj) CallMethod(ctx context.Context, c *Call) (any, error) {
	if c.Method == "update" {
		if len(c.Args) > 1 {
			return nil, typeError("update expected at most 1 argument, got %d", len(c.Args))
		}
		return d.update(c)
	}
	var a []any
	var err error
	switch c.Method {
	case "__contains__", "__delitem__", "__getitem__", "has_key":
		a, err = c.Bind([]string{"key"})
	case "__setitem__":
		a, err = c.Bind([]string{"key", "value"})
	case "get", "setdefault":
		a, err = c.Bind([]string{"key", "default"}, nil)
	case "pop":
		if len(c.Args) < 1 || len(c.Args) > 2 || c.Kwargs.Len() > 0 {
			return nil, typeError("pop expected at least 1 argument, got %d", len(c.Args))
		}
		a = c.Args
	default:
		err = c.noArgs()
	}
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch c.Method {
	case "__contains__", "has_key":
		_, ok, err := d.d.get(a[0])
		return ok, err
	case "__getitem__":
		v, ok, err := d.d.get(a[0])
		if err == nil && !ok {
			err = keyError(a[0])
		}
		return v, err
	case "get":
		v, ok, err := d.d.get(a[0])
		if !ok {
			v = a[1]
		}
		return v, err
	case "__setitem__":
		return nil, d.setItem(a[0], a[1])
	case "__delitem__":
		_, ok, err := d.d.del(a[0])
		if err == nil && !ok {
			err = keyError(a[0])
		}
		return nil, err
	case "pop":
		v, ok, err := d.d.del(a[0])
		if err == nil && !ok {
			if len(a) == 2 {
				return a[1], nil
			}
			err = keyError(a[0])
		}
		return v, err
	case "setdefault":
		v, ok, err := d.d.get(a[0])
		if err != nil || ok {
			return v, err
		}
		return a[1], d.setItem(a[0], a[1])
	case "popitem":
		for i := len(d.d.live) - 1; i >= 0; i-- {
			if d.d.live[i] {
				k := d.d.keys[i]
				v, _, err := d.d.del(k)
				return pickle.Tuple{k, v}, err
			}
		}
		return nil, NewException("builtins", "KeyError", "popitem(): dictionary is empty")
	case "__len__":
		return d.d.n, nil
	case "clear":
		d.d.clear()
		return nil, nil
	case "copy":
		return d.d.toDict(), nil
	case "keys", "values", "items", "__iter__":
		out := make([]any, 0, d.d.n)
		d.d.each(func(k, v any) {
			switch c.Method {
			case "values":
				out = append(out, v)
			case "items":
				out = append(out, pickle.Tuple{k, v})
			default:
				out = append(out, k)
			}
		})
		if c.Method == "__iter__" {
			return &iteratorObj{items: out}, nil
		}
		// CPython's managers register views to pickle as lists.
		return out, nil
	}
	return nil, NewException("builtins", "AttributeError", fmt.Sprintf("'dict' object has no attribute %s", strRepr(c.Method)))
}

func (d *dictObj) PyRepr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.d.repr()
}

func (d *dictObj) GetValue() (any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.d.toDict(), nil
}

var iteratorExposed = []string{"__next__", "next", "send", "throw", "close"} // next: Python 2

// iteratorObj iterates over a snapshot, for a dict's __iter__ (an
// Iterator proxy).
type iteratorObj struct {
	mu    sync.Mutex
	items []any
}

func (it *iteratorObj) CallMethod(ctx context.Context, c *Call) (any, error) {
	if c.Method != "__next__" && c.Method != "next" {
		return nil, &RemoteError{Kind: "#TRACEBACK", Traceback: traceback("serve_client",
			NewException("builtins", "AttributeError", fmt.Sprintf("'dict_keyiterator' object has no attribute %s", strRepr(c.Method))))}
	}
	if err := c.noArgs(); err != nil {
		return nil, err
	}
	it.mu.Lock()
	defer it.mu.Unlock()
	if len(it.items) == 0 {
		return nil, NewException("builtins", "StopIteration")
	}
	v := it.items[0]
	it.items[0] = nil
	it.items = it.items[1:]
	return v, nil
}

func (it *iteratorObj) PyRepr() string { return "<dict_keyiterator object>" }
