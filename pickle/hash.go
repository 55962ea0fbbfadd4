package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"sort"
	"unsafe"
)

// maxKeyBytes bounds the size of the hash key computed for one dict key or
// set member (a tuple key is hashed through all its members; shared
// sub-tuples would otherwise make that exponential).
const maxKeyBytes = 64 << 20

// Kinds of hash keys. Values Python considers equal get equal keys.
const (
	kNone uint8 = iota + 1
	kInt        // bool, int, and floats with an integral value in the int64 range
	kFloat
	kBigInt // ints (and integral floats) outside the int64 range
	kStr
	kBytes
	kByteString
	kTuple
	kGlobal
	kFrozen
	kObject
)

// hashKey is a comparable Go value with Python's equality for hashable
// Python values.
type hashKey struct {
	kind uint8
	s    string // string form for str, bytes, big ints, tuples, ...
	n    int64
	f    float64
}

// simple reports whether the key is cheap to recompute (no tuple or
// frozenset), so that small dicts need no index.
func (k hashKey) simple() bool { return k.kind != kTuple && k.kind != kFrozen }

// keyOf returns the hash key of v, and false when v is not hashable (or its
// key exceeds maxKeyBytes).
func keyOf(v any) (hashKey, bool) {
	budget := int64(maxKeyBytes)
	k, err := keyOfBudget(v, &budget)
	return k, err == nil
}

// keyOfBudget returns the hash key of v, charging the bytes it builds to
// *budget and failing when the budget runs out.
func keyOfBudget(v any, budget *int64) (hashKey, error) {
	switch x := v.(type) {
	case Tuple:
		b, err := appendTupleKey(nil, x, budget, 0)
		if err != nil {
			return hashKey{}, err
		}
		return hashKey{kind: kTuple, s: string(b)}, nil
	case *FrozenSet:
		s, err := x.hashKey(budget)
		return hashKey{kind: kFrozen, s: s}, err
	}
	k, ok := scalarKey(v)
	if !ok {
		return hashKey{}, &UnhashableError{Value: v}
	}
	if *budget -= int64(len(k.s)); *budget < 0 {
		return hashKey{}, errKeyTooLarge
	}
	return k, nil
}

// scalarKey returns the key of a hashable value other than a tuple or
// frozenset.
func scalarKey(v any) (hashKey, bool) {
	switch x := v.(type) {
	case nil:
		return hashKey{kind: kNone}, true
	case string:
		return hashKey{kind: kStr, s: x}, true
	case int64:
		return hashKey{kind: kInt, n: x}, true
	case bool:
		if x {
			return hashKey{kind: kInt, n: 1}, true
		}
		return hashKey{kind: kInt}, true
	case int:
		return hashKey{kind: kInt, n: int64(x)}, true
	case int8:
		return hashKey{kind: kInt, n: int64(x)}, true
	case int16:
		return hashKey{kind: kInt, n: int64(x)}, true
	case int32:
		return hashKey{kind: kInt, n: int64(x)}, true
	case uint8:
		return hashKey{kind: kInt, n: int64(x)}, true
	case uint16:
		return hashKey{kind: kInt, n: int64(x)}, true
	case uint32:
		return hashKey{kind: kInt, n: int64(x)}, true
	case uint:
		return uintKey(uint64(x)), true
	case uint64:
		return uintKey(x), true
	case float32:
		return floatKey(float64(x)), true
	case float64:
		return floatKey(x), true
	case *big.Int:
		if x == nil {
			return hashKey{}, false
		}
		if x.IsInt64() {
			return hashKey{kind: kInt, n: x.Int64()}, true
		}
		return hashKey{kind: kBigInt, s: x.String()}, true
	case []byte:
		return hashKey{kind: kBytes, s: string(x)}, true
	case ByteString:
		return hashKey{kind: kByteString, s: string(x)}, true
	case Global:
		return hashKey{kind: kGlobal, s: x.Module + "\x00" + x.Name}, true
	case *Object:
		// Arbitrary objects hash by identity in Python (unless they
		// define __hash__, which we cannot run). Go's heap does not move.
		return hashKey{kind: kObject, n: int64(uintptr(unsafe.Pointer(x)))}, true
	}
	return hashKey{}, false
}

func uintKey(x uint64) hashKey {
	if x <= math.MaxInt64 {
		return hashKey{kind: kInt, n: int64(x)}
	}
	return hashKey{kind: kBigInt, s: new(big.Int).SetUint64(x).String()}
}

func floatKey(x float64) hashKey {
	if x == math.Trunc(x) && !math.IsInf(x, 0) {
		if x >= -(1<<63) && x < 1<<63 {
			return hashKey{kind: kInt, n: int64(x)}
		}
		i, _ := big.NewFloat(x).Int(nil)
		return hashKey{kind: kBigInt, s: i.String()}
	}
	return hashKey{kind: kFloat, f: x}
}

func appendKey(b []byte, k hashKey) []byte {
	b = append(b, k.kind)
	b = binary.LittleEndian.AppendUint64(b, uint64(k.n))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(k.f))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(k.s)))
	return append(b, k.s...)
}

var (
	errKeyTooLarge = &LimitError{Limit: "hash key size", Max: maxKeyBytes}
	errKeyTooDeep  = &LimitError{Limit: "hash key depth", Max: maxKeyDepth}
)

// maxKeyDepth bounds the nesting of tuples in a hash key (Python would
// exceed its recursion limit hashing deeper ones).
const maxKeyDepth = 10000

// appendTupleKey appends the keys of t's members to b, unambiguously.
func appendTupleKey(b []byte, t Tuple, budget *int64, depth int) ([]byte, error) {
	if depth > maxKeyDepth {
		return nil, errKeyTooDeep
	}
	for _, e := range t {
		n := len(b)
		switch x := e.(type) {
		case Tuple:
			b = append(b, kTuple, 0, 0, 0, 0, 0, 0, 0, 0)
			var err error
			if b, err = appendTupleKey(b, x, budget, depth+1); err != nil {
				return nil, err
			}
			binary.LittleEndian.PutUint64(b[n+1:], uint64(len(b)-n-9))
		case *FrozenSet:
			s, err := x.hashKey(budget)
			if err != nil {
				return nil, err
			}
			b = appendKey(b, hashKey{kind: kFrozen, s: s})
		default:
			k, ok := scalarKey(e)
			if !ok {
				return nil, &UnhashableError{Value: e}
			}
			b = appendKey(b, k)
		}
		if *budget -= int64(len(b) - n); *budget < 0 {
			return nil, errKeyTooLarge
		}
	}
	return b, nil
}

// hashKey returns the frozenset's order-independent key (its members'
// keys, sorted), computed once.
func (s *FrozenSet) hashKey(budget *int64) (string, error) {
	if s.keyOK {
		return s.key, nil
	}
	keys := make([]string, 0, len(s.items))
	n := 0
	for _, v := range s.items {
		k, err := keyOfBudget(v, budget)
		if err != nil {
			return "", err
		}
		ks := string(appendKey(nil, k))
		n += len(ks)
		if *budget -= int64(len(ks)); *budget < 0 {
			return "", errKeyTooLarge
		}
		keys = append(keys, ks)
	}
	sort.Strings(keys)
	b := make([]byte, 0, n)
	for _, k := range keys {
		b = append(b, k...)
	}
	s.key, s.keyOK = string(b), true
	return s.key, nil
}

func typeName(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case *listBuilder:
		return "list"
	case *Dict:
		return "dict"
	case *Set:
		return "set"
	case ByteArray:
		return "bytearray"
	case Tuple:
		return "tuple"
	}
	return fmt.Sprintf("%T", v)
}
