package pickle

import (
	"strconv"
)

// Tuple is a Python tuple.
type Tuple []any

// ByteArray is a Python bytearray. A plain []byte is a Python bytes.
type ByteArray []byte

// ByteString is a Python 2 str: an 8-bit string, which the STRING,
// BINSTRING and SHORT_BINSTRING opcodes carry. It encodes back to those
// opcodes, so a Python 2 peer gets a str (not a unicode) back. Python 3
// reads those opcodes as a str decoded as ASCII (pickle.loads' default
// encoding), so a ByteString with non-ASCII bytes fails to load there.
// Python 2 attribute names and dict keys of instance state are usually
// ByteStrings.
type ByteString string

// Global is a reference to a module-level Python object, usually a class or
// a function, by module and qualified name (GLOBAL and STACK_GLOBAL). It is
// never resolved.
type Global struct {
	Module string
	Name   string
}

// String returns "<global module.name>" (see [Repr]).
func (g Global) String() string { return "<global " + g.qualName() + ">" }

// qualName returns "module.name".
func (g Global) qualName() string { return g.Module + "." + g.Name }

// ObjectKind says which opcode built an [Object].
type ObjectKind uint8

const (
	// Reduce: Callable(*Args), from REDUCE.
	Reduce ObjectKind = iota
	// NewObj: Callable.__new__(Callable, *Args), from NEWOBJ.
	NewObj
	// NewObjEx: Callable.__new__(Callable, *Args, **Kwargs), from NEWOBJ_EX.
	NewObjEx
	// Inst: an instance built by the protocol 0 and 1 opcodes INST and OBJ
	// (Python 2 old-style classes): Callable(*Args), or, when Args is empty
	// and Callable is a class without __getinitargs__, an instance created
	// without calling __init__. It encodes back to OBJ.
	Inst
)

// String returns the opcode name of the kind.
func (k ObjectKind) String() string {
	switch k {
	case Reduce:
		return "REDUCE"
	case NewObj:
		return "NEWOBJ"
	case NewObjEx:
		return "NEWOBJ_EX"
	case Inst:
		return "OBJ"
	}
	return "ObjectKind(" + strconv.Itoa(int(k)) + ")"
}

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
		return g.qualName()
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
	h := hasher{budget: maxKeyBytes}
	k, err := h.key(key, 0)
	if err != nil {
		return nil, false
	}
	if i := d.find(k); i >= 0 {
		return d.items[i].Value, true
	}
	return nil, false
}

// Set sets key to value, keeping the position of an existing equal key. It
// returns an [*UnhashableError] if key is not hashable in Python (a list,
// dict, set or bytearray, or a tuple holding one).
func (d *Dict) Set(key, value any) error {
	h := hasher{budget: maxKeyBytes}
	_, err := d.set(key, value, &h)
	return err
}

// smallDict is the size up to which a Dict with only cheap keys (see
// cheapKeyMax) is searched linearly instead of through an index.
const smallDict = 8

// cheapKeyMax is the longest str, bytes or big int key a small dict
// without an index holds. Every key of such a dict is cheap, so that
// scanning it costs a bounded amount per lookup whatever the input: a dict
// of long keys of one length that differ only at their ends (or of big
// ints, whose keys are built anew at each scan) would otherwise make every
// lookup pay for them all, uncharged.
const cheapKeyMax = 64

// cheap reports whether k may live in a dict without an index.
func (k hashKey) cheap() bool { return k.simple() && len(k.s) <= cheapKeyMax }

// find returns the position of the item with key k, or -1.
func (d *Dict) find(k hashKey) int {
	if d.index != nil {
		if i, ok := d.index[k]; ok {
			return i
		}
		return -1
	}
	// Without an index every key is cheap (scalarKey makes it quickly).
	if k.kind == kStr {
		for i := range d.items {
			if s, ok := d.items[i].Key.(string); ok && s == k.s {
				return i
			}
		}
		// A str equals no other kind of key.
		return -1
	}
	for i := range d.items {
		if ki, _ := scalarKey(d.items[i].Key); ki == k {
			return i
		}
	}
	return -1
}

// set is Set charging the key computation to budget; it returns the
// item's position.
func (d *Dict) set(key, value any, h *hasher) (int, error) {
	if ks, ok := key.(string); ok && d.index == nil && len(d.items) < smallDict && len(ks) <= cheapKeyMax {
		// The common case: a str key in a small dict.
		for i := range d.items {
			if s, ok := d.items[i].Key.(string); ok && s == ks {
				d.items[i].Value = value
				return i, nil
			}
		}
		d.items = append(d.items, Item{key, value})
		return len(d.items) - 1, nil
	}
	k, err := h.key(key, 0)
	if err != nil {
		return 0, err
	}
	if i := d.find(k); i >= 0 {
		d.items[i].Value = value
		return i, nil
	}
	if d.index == nil && (len(d.items) >= smallDict || !k.cheap()) {
		d.index = make(map[hashKey]int, len(d.items)+1)
		for i := range d.items {
			ki, _ := scalarKey(d.items[i].Key) // cheap (find)
			d.index[ki] = i
		}
	}
	if d.index != nil {
		d.index[k] = len(d.items)
	}
	d.items = append(d.items, Item{key, value})
	return len(d.items) - 1, nil
}

// Set is a Python set: insertion-ordered here (Python's own order is by
// hash), with Python's equality.
type Set struct{ set }

// FrozenSet is a Python frozenset.
type FrozenSet struct{ set }

type set struct {
	items []any
	index map[hashKey]struct{}
	hkey  hashKey // cached hash key of a FrozenSet, valid when keyOK
	keyOK bool
}

// NewSet returns an empty Set.
func NewSet() *Set { return &Set{} }

// NewFrozenSet returns an empty FrozenSet.
func NewFrozenSet() *FrozenSet { return &FrozenSet{} }

// Len returns the number of members.
func (s *set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.items)
}

// Items returns the members in insertion order. The slice is the set's
// own: do not modify it.
func (s *set) Items() []any {
	if s == nil {
		return nil
	}
	return s.items
}

// Has reports whether v is a member.
func (s *set) Has(v any) bool {
	if s == nil {
		return false
	}
	h := hasher{budget: maxKeyBytes}
	k, err := h.key(v, 0)
	if err != nil {
		return false
	}
	_, ok := s.index[k]
	return ok
}

// Add adds v; it returns an [*UnhashableError] if v is not hashable in
// Python.
func (s *set) Add(v any) error {
	h := hasher{budget: maxKeyBytes}
	return s.add(v, &h)
}

func (s *set) add(v any, h *hasher) error {
	k, err := h.key(v, 0)
	if err != nil {
		return err
	}
	if s.index == nil {
		s.index = make(map[hashKey]struct{})
	}
	if _, ok := s.index[k]; ok {
		return nil
	}
	s.index[k] = struct{}{}
	s.items = append(s.items, v)
	s.keyOK = false
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
