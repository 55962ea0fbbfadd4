package pickle

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"sort"
	"unsafe"
)

// maxKeyBytes bounds the work (bytes copied or hashed) of computing one
// key outside a decode (Dict.Set, Set.Add and friends).
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
	kLong // a long str, bytes or int, or a tuple or frozenset with a long key: a digest
)

// longKey is the size above which the key of a str, bytes, int, tuple or
// frozenset is a digest (SHA-256 of its kind and content) rather than its
// content. A digest is made once per value in a decode (hasher.cache), so
// that a long key used again through memo references costs a constant
// amount, not its length, each time: map lookups hash 33 bytes, and a
// tuple's key holds its members' digests, not their content. Equal values
// get equal digests; distinct ones equal digests only by a SHA-256
// collision.
const longKey = 256

// longKeyTop is longKey for a dict key or set member itself (not inside a
// tuple or frozenset key).
const longKeyTop = 1024

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
func (k hashKey) simple() bool { return k.kind != kTuple && k.kind != kFrozen && k.kind != kLong }

// hasher computes hash keys, charging the work to a budget, with a cache
// of the digests of long values by identity (nil outside a decode, where
// values may change between calls).
type hasher struct {
	budget  int64
	caching bool // a decode: cache is made when first needed
	cache   map[idKey]string
}

// remember caches the digest s of the value id.
func (h *hasher) remember(id idKey, s string) {
	if !h.caching {
		return
	}
	if h.cache == nil {
		h.cache = make(map[idKey]string)
	}
	h.cache[id] = s
}

// idKey identifies a value by its address, length and kind.
type idKey struct {
	p    unsafe.Pointer
	n    int
	kind uint8
}

func (h *hasher) charge(n int) error {
	if h.budget -= int64(n); h.budget < 0 {
		return errKeyTooLarge
	}
	return nil
}

// keyOf returns the hash key of v, and false when v is not hashable (or its
// key exceeds maxKeyBytes).
func keyOf(v any) (hashKey, bool) {
	h := hasher{budget: maxKeyBytes}
	k, err := h.key(v, 0)
	return k, err == nil
}

// key returns the hash key of v, at the given depth in a tuple or
// frozenset key (0: the key itself).
func (h *hasher) key(v any, depth int) (hashKey, error) {
	long := longKey
	if depth == 0 {
		// A key of its own is compared and hashed by the map as it is:
		// up to longKeyTop bytes, its content is cheaper than a digest.
		// (Keys of one depth are only ever compared with keys of the same
		// depth, so the two forms never meet.)
		long = longKeyTop
	}
	switch x := v.(type) {
	case Tuple:
		return h.tupleKey(x, depth)
	case *FrozenSet:
		return h.frozenKey(x, depth)
	case string:
		if len(x) > long {
			return h.long(kStr, unsafe.Pointer(unsafe.StringData(x)), len(x), func(b []byte) []byte { return append(b, x...) })
		}
	case []byte:
		if len(x) > long {
			return h.long(kBytes, unsafe.Pointer(unsafe.SliceData(x)), len(x), func(b []byte) []byte { return append(b, x...) })
		}
	case ByteString:
		if len(x) > long {
			return h.long(kByteString, unsafe.Pointer(unsafe.StringData(string(x))), len(x), func(b []byte) []byte { return append(b, x...) })
		}
	case *big.Int:
		if x != nil && x.BitLen() > 8*long {
			return h.long(kBigInt, unsafe.Pointer(x), 0, func(b []byte) []byte { return append(b, bigKey(x).s...) })
		}
	}
	k, ok := scalarKey(v)
	if !ok {
		return hashKey{}, &UnhashableError{Value: v}
	}
	return k, h.charge(len(k.s))
}

// long returns the digest key of a long value of the given kind, whose
// content appendContent appends, made once per value (p, n) when h has a
// cache.
func (h *hasher) long(kind uint8, p unsafe.Pointer, n int, appendContent func([]byte) []byte) (hashKey, error) {
	id := idKey{p, n, kind}
	if s, ok := h.cache[id]; ok {
		return hashKey{kind: kLong, s: s}, h.charge(1)
	}
	b := appendContent([]byte{kind})
	// SHA-256 costs a few times a copy: charge it so.
	if err := h.charge(4 * len(b)); err != nil {
		return hashKey{}, err
	}
	s := digestKey(b)
	h.remember(id, s)
	return hashKey{kind: kLong, s: s}, nil
}

func digestKey(b []byte) string {
	sum := sha256.Sum256(b)
	return string(sum[:])
}

// tupleKey returns the key of a tuple: its members' keys, one after the
// other (long members by their digests), or the digest of that when it is
// long.
func (h *hasher) tupleKey(t Tuple, depth int) (hashKey, error) {
	if len(t) == 0 {
		return hashKey{kind: kTuple}, nil
	}
	if depth > maxKeyDepth {
		return hashKey{}, errKeyTooDeep
	}
	id := idKey{unsafe.Pointer(unsafe.SliceData(t)), len(t), kTuple}
	if s, ok := h.cache[id]; ok {
		return hashKey{kind: kLong, s: s}, h.charge(1)
	}
	b := []byte{kTuple}
	for _, e := range t {
		k, err := h.key(e, depth+1)
		if err != nil {
			return hashKey{}, err
		}
		n := len(b)
		b = appendKey(b, k)
		if err := h.charge(len(b) - n); err != nil {
			return hashKey{}, err
		}
	}
	return h.composite(id, b)
}

// composite returns the key of a tuple or frozenset whose members' keys
// are b: b itself when short, else its digest, cached under id.
func (h *hasher) composite(id idKey, b []byte) (hashKey, error) {
	if len(b) <= longKey {
		return hashKey{kind: b[0], s: string(b[1:])}, nil
	}
	if err := h.charge(4 * len(b)); err != nil {
		return hashKey{}, err
	}
	s := digestKey(b)
	h.remember(id, s)
	return hashKey{kind: kLong, s: s}, nil
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
		return bigKey(x), true
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
	return shiftedKey(false, x, 0)
}

// shiftedKey is the key of a nonzero int outside the int64 range equal to
// ±m·2^e, whose odd part fits in 64 bits (every integral float outside
// the int64 range is one): the odd part and the exponent, so that floats
// and ints get their keys without big arithmetic.
func shiftedKey(neg bool, m uint64, e int) hashKey {
	tz := bits.TrailingZeros64(m)
	m >>= tz
	e += tz
	sign := "+"
	if neg {
		sign = "-"
	}
	return hashKey{kind: kBigInt, n: int64(m), f: float64(e), s: sign}
}

// bigKey is the key of an int outside the int64 range: shiftedKey when
// its odd part fits in 64 bits, else its sign and magnitude as bytes,
// made in time linear in its size (a decimal string would take
// superlinear time). Equal values give equal keys, as Python equality
// requires; the two forms never meet (one sign byte against at least
// nine bytes).
func bigKey(x *big.Int) hashKey {
	if tz := x.TrailingZeroBits(); x.BitLen()-int(tz) <= 64 {
		w := x.Bits()
		i, sh := int(tz/bits.UintSize), tz%bits.UintSize
		var m uint64
		if bits.UintSize == 64 {
			m = uint64(w[i]) >> sh
			if sh > 0 && i+1 < len(w) {
				m |= uint64(w[i+1]) << (64 - sh)
			}
		} else {
			// 32-bit words: gather up to three.
			for j := 2; j >= 0; j-- {
				if i+j < len(w) {
					m = m<<32 | uint64(w[i+j])
				}
			}
			m >>= sh
		}
		return shiftedKey(x.Sign() < 0, m, int(tz))
	}
	n := (x.BitLen() + 7) / 8
	b := make([]byte, n+1)
	if x.Sign() < 0 {
		b[0] = '-'
	} else {
		b[0] = '+'
	}
	x.FillBytes(b[1:])
	return hashKey{kind: kBigInt, s: unsafe.String(&b[0], len(b))}
}

func floatKey(x float64) hashKey {
	if x == math.Trunc(x) && !math.IsInf(x, 0) {
		if x >= -(1<<63) && x < 1<<63 {
			return hashKey{kind: kInt, n: int64(x)}
		}
		frac, exp := math.Frexp(math.Abs(x)) // |x| = frac·2^exp, frac in [0.5, 1)
		return shiftedKey(x < 0, uint64(frac*(1<<53)), exp-53)
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
	errKeyTooLarge = &LimitError{Limit: "hash work", Max: maxKeyBytes}
	errKeyTooDeep  = &LimitError{Limit: "hash key depth", Max: maxKeyDepth}
)

// maxKeyDepth bounds the nesting of tuples in a hash key (Python would
// exceed its recursion limit hashing deeper ones).
const maxKeyDepth = 10000

// frozenKey returns the frozenset's order-independent key (its members'
// keys, sorted), computed once per frozenset.
func (h *hasher) frozenKey(s *FrozenSet, depth int) (hashKey, error) {
	if s.keyOK {
		return s.hkey, h.charge(1)
	}
	if depth > maxKeyDepth {
		return hashKey{}, errKeyTooDeep
	}
	keys := make([]string, 0, len(s.items))
	n := 1
	for _, v := range s.items {
		k, err := h.key(v, depth+1)
		if err != nil {
			return hashKey{}, err
		}
		ks := string(appendKey(nil, k))
		n += len(ks)
		if err := h.charge(len(ks)); err != nil {
			return hashKey{}, err
		}
		keys = append(keys, ks)
	}
	sort.Strings(keys)
	b := make([]byte, 1, n)
	b[0] = kFrozen
	for _, k := range keys {
		b = append(b, k...)
	}
	k, err := h.composite(idKey{unsafe.Pointer(s), 0, kFrozen}, b)
	if err != nil {
		return hashKey{}, err
	}
	s.hkey, s.keyOK = k, true
	return k, nil
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
