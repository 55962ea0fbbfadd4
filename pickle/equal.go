package pickle

import (
	"bytes"
	"math"
	"math/big"
	"unsafe"
)

// Equal reports whether a and b are the same Python value: equal types and
// contents, compared recursively (dicts and sets as Python compares them;
// NaN equal to NaN; shared and self-referencing values compared once per
// pair, so cycles terminate). Objects compare by kind, callable, arguments,
// state and items. It is meant for tests and tools.
func Equal(a, b any) bool {
	return (&equaler{seen: map[[2]unsafe.Pointer]bool{}}).eq(a, b)
}

type equaler struct {
	seen map[[2]unsafe.Pointer]bool
}

// visit reports whether the pair was already (or is being) compared.
func (q *equaler) visit(a, b unsafe.Pointer) bool {
	k := [2]unsafe.Pointer{a, b}
	if q.seen[k] {
		return true
	}
	q.seen[k] = true
	return false
}

func sliceData(s []any) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(s)) }

func (q *equaler) eq(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool, int64, string, Global:
		return a == b
	case ByteString:
		y, ok := b.(ByteString)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case ByteArray:
		y, ok := b.(ByteArray)
		return ok && bytes.Equal(x, y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		if len(x) > 0 && q.visit(sliceData(x), sliceData(y)) {
			return true
		}
		return q.all(x, y)
	case Tuple:
		y, ok := b.(Tuple)
		if !ok || len(x) != len(y) {
			return false
		}
		if len(x) > 0 && q.visit(sliceData(x), sliceData(y)) {
			return true
		}
		return q.all(x, y)
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Len() != y.Len() {
			return false
		}
		if q.visit(unsafe.Pointer(x), unsafe.Pointer(y)) {
			return true
		}
		// Same order first (objects as keys hash by identity, so a
		// lookup cannot find them in a copy), then any order.
		inOrder := true
		for i, it := range x.Items() {
			jt := y.items[i]
			if !q.eq(it.Key, jt.Key) || !q.eq(it.Value, jt.Value) {
				inOrder = false
				break
			}
		}
		if inOrder {
			return true
		}
		for _, it := range x.Items() {
			w, ok := y.Get(it.Key)
			if !ok || !q.eq(it.Value, w) {
				return false
			}
		}
		return true
	case *Set:
		y, ok := b.(*Set)
		return ok && q.sameMembers(&x.set, &y.set)
	case *FrozenSet:
		y, ok := b.(*FrozenSet)
		return ok && q.sameMembers(&x.set, &y.set)
	case *Object:
		y, ok := b.(*Object)
		if !ok {
			return false
		}
		if q.visit(unsafe.Pointer(x), unsafe.Pointer(y)) {
			return true
		}
		if x.Kind != y.Kind || x.HasState != y.HasState || len(x.ListItems) != len(y.ListItems) ||
			len(x.DictItems) != len(y.DictItems) || len(x.Args) != len(y.Args) {
			return false
		}
		if !q.eq(x.Callable, y.Callable) || !q.all(x.Args, y.Args) || !q.all(x.ListItems, y.ListItems) {
			return false
		}
		if (x.Kwargs.Len() != 0 || y.Kwargs.Len() != 0) && !q.eq(x.Kwargs, y.Kwargs) {
			return false
		}
		for i := range x.DictItems {
			if !q.eq(x.DictItems[i].Key, y.DictItems[i].Key) || !q.eq(x.DictItems[i].Value, y.DictItems[i].Value) {
				return false
			}
		}
		return !x.HasState || q.eq(x.State, y.State)
	}
	return false
}

func (q *equaler) all(x, y []any) bool {
	for i := range x {
		if !q.eq(x[i], y[i]) {
			return false
		}
	}
	return true
}

func (q *equaler) sameMembers(x, y *set) bool {
	if x.Len() != y.Len() {
		return false
	}
	if q.all(x.items, y.items) {
		return true
	}
	for _, v := range x.items {
		if !y.Has(v) {
			return false
		}
	}
	return true
}
