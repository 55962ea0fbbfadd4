package pickle

import (
	"math"
	"unsafe"
)

// Boxing decoded scalars into interface values.
//
// Converting a string, a float64 or an int64 (outside 0..255) to any makes
// Go allocate a small heap object for the value each time. Decoded
// messages are mostly such values, so the decoder instead stores them in
// slabs (small arrays allocated a few at a time) and makes the interface
// value point into the slab: the same representation the conversion would
// produce, with one allocation per slab instead of one per value. A
// retained value keeps its slab (at most slabMax values) alive.

// eface is the layout of an interface value with no methods.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	stringType  = typeOf("")
	float64Type = typeOf(float64(0))
	int64Type   = typeOf(int64(0))
)

const (
	slabMin = 8
	slabMax = 256
)

// slab hands out stable slots of T.
type slab[T any] struct {
	s    []T
	next int // size of the next block
}

func (b *slab[T]) slot(v T) unsafe.Pointer {
	if len(b.s) == cap(b.s) {
		if b.next < slabMin {
			b.next = slabMin
		}
		b.s = make([]T, 0, b.next)
		if b.next < slabMax {
			b.next *= 2
		}
	}
	b.s = append(b.s, v)
	return unsafe.Pointer(&b.s[len(b.s)-1])
}

func (b *slab[T]) reset() { b.s, b.next = nil, 0 }

func makeAny(typ, data unsafe.Pointer) (v any) {
	e := (*eface)(unsafe.Pointer(&v))
	e.typ = typ
	e.data = data
	return v
}

// boxes holds the decoder's slabs. Floats and ints share one slab of
// 8-byte words (neither holds pointers; the type in the interface value
// says how to read the word).
type boxes struct {
	strs  slab[string]
	words slab[uint64]
}

func (b *boxes) reset() {
	b.strs.reset()
	b.words.reset()
}

func (b *boxes) str(s string) any {
	return makeAny(stringType, b.strs.slot(s))
}

func (b *boxes) float(f float64) any {
	return makeAny(float64Type, b.words.slot(math.Float64bits(f)))
}

func (b *boxes) int(i int64) any {
	if i >= 0 && i < 256 {
		return i // Go boxes these without allocating
	}
	return makeAny(int64Type, b.words.slot(uint64(i)))
}
