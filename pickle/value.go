package pickle

import (
	"math/big"
)

// The Go values that decoding into an interface value (any) produces, and
// that encoding accepts, for each Python type:
//
//	None                 nil
//	bool                 bool
//	int                  int64, or *big.Int outside the int64 range
//	float                float64
//	str                  string
//	bytes                []byte
//	bytearray            ByteArray
//	str (Python 2)       ByteString
//	list                 []any
//	tuple                Tuple
//	dict                 *Dict (insertion order kept, any hashable key)
//	set                  *Set
//	frozenset            *FrozenSet
//	a class or function  Global (a reference such as builtins.float)
//	anything else        *Object (class instances, datetime, Decimal,
//	                     complex, OrderedDict, exceptions, ...)
//
// Nothing a pickle names is ever imported, called or executed: a Global is
// only a name, and an *Object only records how the pickle said to build it,
// so that it can be held, inspected and encoded back unchanged.

// Tuple is a Python tuple.
type Tuple []any

// ByteArray is a Python bytearray. A plain []byte is a Python bytes.
type ByteArray []byte

// ByteString is a Python 2 str: an 8-bit string, which the STRING,
// BINSTRING and SHORT_BINSTRING opcodes carry. It encodes back to those
// opcodes, so a Python 2 peer gets a str (not a unicode) back.
type ByteString string

// Global is a reference to a module-level Python object, usually a class or
// a function, by module and qualified name (GLOBAL and STACK_GLOBAL). It is
// never resolved.
type Global struct {
	Module string
	Name   string
}

// String returns "module.name".
func (g Global) String() string { return g.Module + "." + g.Name }

// ObjectKind says which opcode built an [Object].
type ObjectKind uint8

const (
	// Reduce: Callable(*Args), from REDUCE.
	Reduce ObjectKind = iota
	// NewObj: Callable.__new__(Callable, *Args), from NEWOBJ.
	NewObj
	// NewObjEx: Callable.__new__(Callable, *Args, **Kwargs), from NEWOBJ_EX.
	NewObjEx
)

// Object is a Python object that Go cannot build, recorded inertly as the
// pickle describes it: a callable (usually a [Global]) with its arguments,
// plus the state given to BUILD and any items appended or set on it. It
// encodes back to the same opcodes.
type Object struct {
	Kind     ObjectKind
	Callable any   // usually a Global
	Args     Tuple // positional arguments
	Kwargs   *Dict // keyword arguments (NewObjEx only)

	HasState bool // BUILD was applied (State may be nil: BUILD with None)
	State    any  // the BUILD argument: a *Dict, or a Tuple of (dict, slots dict)

	ListItems []any  // items APPENDed to the object (list subclasses)
	DictItems []Item // items SETITEMed on the object (dict subclasses, OrderedDict)
}

// Class returns the object's class when its callable is a Global, as
// "module.name", or "" otherwise.
func (o *Object) Class() string {
	if g, ok := o.Callable.(Global); ok {
		return g.String()
	}
	return ""
}

// Item is one key and value of a [Dict].
type Item struct {
	Key   any
	Value any
}

// Dict is a Python dict: insertion-ordered, keyed by any hashable Python
// value (tuples included) with Python's equality (1, 1.0 and True are the
// same key).
type Dict struct {
	items []Item
	index map[hashKey]int
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{} }

// Len returns the number of items.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.items)
}

// Items returns the items in insertion order. The slice is the Dict's own:
// do not modify it.
func (d *Dict) Items() []Item {
	if d == nil {
		return nil
	}
	return d.items
}

// Get returns the value for key.
func (d *Dict) Get(key any) (any, bool) {
	if d == nil {
		return nil, false
	}
	k, ok := keyOf(key)
	if !ok {
		return nil, false
	}
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.items[i].Value, true
}

// Set sets key to value, keeping the position of an existing equal key. It
// returns an error if key is not hashable in Python (a list, dict, set or
// bytearray).
func (d *Dict) Set(key, value any) error {
	k, ok := keyOf(key)
	if !ok {
		return &UnhashableError{Value: key}
	}
	if d.index == nil {
		d.index = make(map[hashKey]int)
	}
	if i, ok := d.index[k]; ok {
		d.items[i].Value = value
		return nil
	}
	d.index[k] = len(d.items)
	d.items = append(d.items, Item{key, value})
	return nil
}

// Set is a Python set: insertion-ordered here (Python's own order is by
// hash), with Python's equality.
type Set struct{ set }

// FrozenSet is a Python frozenset.
type FrozenSet struct{ set }

type set struct {
	items []any
	index map[hashKey]struct{}
}

// NewSet returns an empty Set.
func NewSet() *Set { return &Set{} }

// NewFrozenSet returns an empty FrozenSet.
func NewFrozenSet() *FrozenSet { return &FrozenSet{} }

// Len returns the number of members.
func (s *set) Len() int { return len(s.items) }

// Items returns the members in insertion order. The slice is the set's
// own: do not modify it.
func (s *set) Items() []any { return s.items }

// Has reports whether v is a member.
func (s *set) Has(v any) bool {
	k, ok := keyOf(v)
	if !ok {
		return false
	}
	_, ok = s.index[k]
	return ok
}

// Add adds v; it returns an error if v is not hashable in Python.
func (s *set) Add(v any) error {
	k, ok := keyOf(v)
	if !ok {
		return &UnhashableError{Value: v}
	}
	if s.index == nil {
		s.index = make(map[hashKey]struct{})
	}
	if _, ok := s.index[k]; ok {
		return nil
	}
	s.index[k] = struct{}{}
	s.items = append(s.items, v)
	return nil
}

// UnhashableError reports a value used as a dict key or set member that
// Python cannot hash.
type UnhashableError struct {
	Value any
}

func (e *UnhashableError) Error() string {
	return "pickle: unhashable type used as a dict key or set member: " + typeName(e.Value)
}

// hashKey is a comparable Go value with Python's equality for hashable
// Python values.
type hashKey struct {
	kind uint8
	s    string // string form for str, bytes, big ints, tuples, ...
	n    int64
	f    float64
}

// keyOf returns the hash key of v, and false when v is not hashable.
func keyOf(v any) (hashKey, bool) {
	switch x := v.(type) {
	case nil:
		return hashKey{kind: 1}, true
	case bool:
		if x {
			return hashKey{kind: 2, n: 1}, true
		}
		return hashKey{kind: 2}, true
	case int64:
		return hashKey{kind: 2, n: x}, true
	case int:
		return hashKey{kind: 2, n: int64(x)}, true
	case float64:
		if x == float64(int64(x)) && x >= -9.2e18 && x <= 9.2e18 {
			return hashKey{kind: 2, n: int64(x)}, true
		}
		return hashKey{kind: 3, f: x}, true
	case *big.Int:
		if x.IsInt64() {
			return hashKey{kind: 2, n: x.Int64()}, true
		}
		return hashKey{kind: 4, s: x.String()}, true
	case string:
		return hashKey{kind: 5, s: x}, true
	case []byte:
		return hashKey{kind: 6, s: string(x)}, true
	case ByteString:
		return hashKey{kind: 7, s: string(x)}, true
	case Tuple:
		b := make([]byte, 0, 16*len(x))
		for _, e := range x {
			k, ok := keyOf(e)
			if !ok {
				return hashKey{}, false
			}
			b = appendKey(b, k)
		}
		return hashKey{kind: 8, s: string(b)}, true
	case Global:
		return hashKey{kind: 9, s: x.Module + "\x00" + x.Name}, true
	case *FrozenSet:
		// Order-independent: the members' keys, sorted.
		return frozenKey(x), true
	case *Object:
		// Arbitrary objects hash by identity in Python (unless they
		// define __hash__, which we cannot run).
		return hashKey{kind: 11, s: ptrString(x)}, true
	}
	return hashKey{}, false
}
