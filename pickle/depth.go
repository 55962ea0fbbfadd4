package pickle

import "unsafe"

// Nesting depth of decoded values.
//
// Code that walks a decoded value recursively (the typed layer, fmt, user
// code) must not be able to overflow its stack, which in Go is a fatal
// error. The decoder therefore bounds the height of what it returns by
// Limits.MaxDepth: the longest chain of containers (lists, tuples, dicts,
// sets, objects), not counting a reference back to a container the chain
// already passes through (cycles). For pickles without memo references the
// VM tracks heights as it builds values; when the memo was used (shared or
// recursive values), the finished value is measured once, visiting each
// container once.

type depthChecker struct {
	max  int32
	memo map[unsafe.Pointer]int32 // container -> height; -1 while on the path
}

// errTooDeep is returned (and turned into a LimitError) when a chain
// exceeds the maximum.
type errTooDeep struct{}

func (errTooDeep) Error() string { return "too deep" }

// height returns the height of v reached at the given depth.
func (c *depthChecker) height(v any, depth int32) (int32, error) {
	if depth > c.max {
		return 0, errTooDeep{}
	}
	var key unsafe.Pointer
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return 1, nil
		}
		key = unsafe.Pointer(unsafe.SliceData(x))
	case Tuple:
		if len(x) == 0 {
			return 1, nil
		}
		key = unsafe.Pointer(unsafe.SliceData(x))
	case *Dict:
		key = unsafe.Pointer(x)
	case *Set:
		key = unsafe.Pointer(x)
	case *FrozenSet:
		key = unsafe.Pointer(x)
	case *Object:
		key = unsafe.Pointer(x)
	default:
		return 0, nil
	}
	if h, ok := c.memo[key]; ok {
		if h < 0 {
			return 0, nil // a cycle: not a longer chain
		}
		if depth+h-1 > c.max {
			return 0, errTooDeep{}
		}
		return h, nil
	}
	c.memo[key] = -1
	var m int32
	child := func(w any) error {
		h, err := c.height(w, depth+1)
		m = max(m, h)
		return err
	}
	var err error
	switch x := v.(type) {
	case []any:
		err = c.all(x, child)
	case Tuple:
		err = c.all(x, child)
	case *Dict:
		for _, it := range x.items {
			if err = child(it.Key); err != nil {
				break
			}
			if err = child(it.Value); err != nil {
				break
			}
		}
	case *Set:
		err = c.all(x.items, child)
	case *FrozenSet:
		err = c.all(x.items, child)
	case *Object:
		err = child(x.Callable)
		if err == nil {
			err = child(x.Args)
		}
		if err == nil && x.Kwargs != nil {
			err = child(x.Kwargs)
		}
		if err == nil {
			err = child(x.State)
		}
		if err == nil {
			err = c.all(x.ListItems, child)
		}
		for i := 0; err == nil && i < len(x.DictItems); i++ {
			if err = child(x.DictItems[i].Key); err == nil {
				err = child(x.DictItems[i].Value)
			}
		}
	}
	if err != nil {
		return 0, err
	}
	c.memo[key] = m + 1
	return m + 1, nil
}

func (c *depthChecker) all(items []any, child func(any) error) error {
	for _, w := range items {
		if err := child(w); err != nil {
			return err
		}
	}
	return nil
}

// checkDepth measures a finished value that may share containers.
func (st *decodeState) checkDepth(v any) error {
	if st.depthMemo == nil {
		st.depthMemo = make(map[unsafe.Pointer]int32)
	}
	c := depthChecker{max: int32(st.limits.MaxDepth), memo: st.depthMemo}
	_, err := c.height(v, 1)
	if len(st.depthMemo) > 1<<16 {
		st.depthMemo = nil
	} else {
		clear(st.depthMemo)
	}
	if err != nil {
		return &LimitError{Limit: "depth", Max: int64(st.limits.MaxDepth), Offset: st.in.offset()}
	}
	return nil
}
