package pickle

import (
	"math"
	"unsafe"
)

// Boxing decoded values into interface values.
//
// Converting a string, a slice, a float64 or an int64 (outside 0..255) to
// any makes Go allocate a small heap object for the value each time.
// Decoded messages are mostly such values, so the decoder instead stores
// them in blocks shared by many values and makes the interface value
// point into a block: the same representation the conversion would
// produce, with one allocation per block instead of one per value. Three
// kinds of blocks are used:
//
//   - pointer-free memory (bytes): the bytes of short strings and the
//     8-byte words of floats and ints;
//   - headers: the (pointer, length, capacity) words of strings (which use
//     the first two) and of slices ([]any, Tuple, []byte, ByteArray), and
//     Dicts;
//   - interface slots: the items of small lists, tuples and dicts.
//
// A decoder keeps its current blocks from one message to the next (so
// that small messages share them and most decode calls allocate only
// values too large to share), within the limits endMessage explains. A
// retained value keeps its blocks alive: a few blocks of at most memMax
// bytes, hdrMax headers and anyMax interface slots. Block sizes grow
// geometrically, from small blocks for a decoder's first messages.

// eface is the layout of an interface value with no methods.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	stringType    = typeOf("")
	float64Type   = typeOf(float64(0))
	int64Type     = typeOf(int64(0))
	listType      = typeOf([]any(nil))
	tupleType     = typeOf(Tuple(nil))
	bytesType     = typeOf([]byte(nil))
	byteArrayType = typeOf(ByteArray(nil))
)

// header holds a string header (p, n), a slice header (p, n, c) or a
// [Dict] (whose items slice and index map have the layout of p, n, c and
// q). Only p and q are pointers, as in all three.
type header struct {
	p    unsafe.Pointer
	n, c int
	q    unsafe.Pointer
}

// A Dict must have the layout of a header (checked at compile time: both
// differences must be non-negative constants).
var (
	_ [unsafe.Sizeof(header{}) - unsafe.Sizeof(Dict{})]struct{}
	_ [unsafe.Sizeof(Dict{}) - unsafe.Sizeof(header{})]struct{}
	_ [unsafe.Offsetof(header{}.q) - unsafe.Offsetof(Dict{}.index)]struct{}
	_ [unsafe.Offsetof(Dict{}.index) - unsafe.Offsetof(header{}.q)]struct{}
)

const (
	memMin = 64
	memMax = 4096
	hdrMin = 8
	hdrMax = 256
	anyMin = 16
	anyMax = 256
)

func makeAny(typ, data unsafe.Pointer) (v any) {
	e := (*eface)(unsafe.Pointer(&v))
	e.typ = typ
	e.data = data
	return v
}

// boxes holds the decoder's current blocks.
type boxes struct {
	mem     []byte
	memNext int
	hdrs    []header
	hdrNext int
	anys    []any
	anyNext int
	// hdrSplit and anySplit are set when a message filled a header or
	// slot block and went on in a new one.
	hdrSplit, anySplit bool
	// Headers and slots used since the current blocks were started, not
	// counting the current blocks.
	usedHdrs, usedAnys int
}

// endMessage is called after each message. The header and slot blocks
// hold pointers, so sharing them between messages could chain blocks
// together without end: a block holding values of a message whose other
// values are in an older block keeps that block alive, which holds
// values of earlier messages, and so on. So a decoder keeps them only
// while every message since it started them fitted in them: after a
// message that went on in a new block, the next message starts new
// blocks, and a retained value keeps alive at most the blocks of its own
// message and of the messages that shared them. (The pointer-free block
// links to nothing and is always kept.)
//
// The next blocks are sized in proportion to what the messages used, so
// that both fill at about the same time (what is left of the other one is
// wasted).
func (b *boxes) endMessage() {
	if !b.hdrSplit && !b.anySplit {
		return
	}
	h, a := b.usedHdrs+len(b.hdrs), b.usedAnys+len(b.anys)
	if h > 0 && a > 0 {
		if h*anyMax >= a*hdrMax {
			b.hdrNext = hdrMax
			b.anyNext = min(max(a*hdrMax/h, anyMin), anyMax)
		} else {
			b.anyNext = anyMax
			b.hdrNext = min(max(h*anyMax/a, hdrMin), hdrMax)
		}
	}
	b.hdrs, b.anys, b.hdrSplit, b.anySplit = nil, nil, false, false
	b.usedHdrs, b.usedAnys = 0, 0
}

// takeSlow returns the first n bytes of a new pointer-free block (8-byte
// aligned).
func (b *boxes) takeSlow(n int) unsafe.Pointer {
	size := max(b.memNext, memMin)
	if size < memMax {
		b.memNext = 2 * size
	}
	// At least 16 bytes: smaller blocks may come from the tiny allocator,
	// which does not align them to 8 bytes; larger ones are, so offsets
	// rounded up to 8 are 8-byte aligned.
	size = max(size, n, 16)
	b.mem = make([]byte, n, size)
	return unsafe.Pointer(&b.mem[0])
}

// takeBytes returns n bytes of pointer-free memory.
func (st *decodeState) takeBytes(n int) unsafe.Pointer {
	b := &st.boxes
	if off := len(b.mem); n <= cap(b.mem)-off {
		b.mem = b.mem[:off+n]
		return unsafe.Pointer(&b.mem[off])
	}
	return b.takeSlow(n)
}

// takeWord returns 8 bytes of pointer-free memory, 8-byte aligned.
func (st *decodeState) takeWord() unsafe.Pointer {
	b := &st.boxes
	if off := (len(b.mem) + 7) &^ 7; off+8 <= cap(b.mem) {
		b.mem = b.mem[:off+8]
		return unsafe.Pointer(&b.mem[off])
	}
	return b.takeSlow(8)
}

// header stores h in a header block and returns its address.
func (b *boxes) header(h header) unsafe.Pointer {
	if n := len(b.hdrs); n < cap(b.hdrs) {
		b.hdrs = b.hdrs[:n+1]
		b.hdrs[n] = h
		return unsafe.Pointer(&b.hdrs[n])
	}
	return b.headerSlow(h)
}

func (b *boxes) headerSlow(h header) unsafe.Pointer {
	b.usedHdrs += len(b.hdrs)
	size := max(b.hdrNext, hdrMin)
	b.hdrNext = min(2*size, hdrMax)
	if b.hdrs != nil && !b.hdrSplit {
		// The message goes on in a new block, which endMessage drops:
		// start with a small one.
		b.hdrSplit, size = true, hdrMin
	}
	b.hdrs = newHeaders(size)[:1]
	b.hdrs[0] = h
	return unsafe.Pointer(&b.hdrs[0])
}

// newHeaders and newAnys allocate blocks of at least n elements. Small
// blocks are allocated as arrays, not slices: Go then writes the block's
// pointer bitmap in one step instead of element by element.
func newHeaders(n int) []header {
	switch {
	case n <= 4:
		return new([4]header)[:0]
	case n <= 8:
		return new([8]header)[:0]
	case n <= 16:
		return new([16]header)[:0]
	}
	return make([]header, 0, n)
}

func newAnys(n int) []any {
	switch {
	case n <= 8:
		return new([8]any)[:0]
	case n <= 12:
		return new([12]any)[:0]
	case n <= 16:
		return new([16]any)[:0]
	case n <= 32:
		return new([32]any)[:0]
	}
	return make([]any, 0, n)
}

// newDict returns an empty Dict stored in a header block.
func (st *decodeState) newDict() *Dict {
	return (*Dict)(st.boxes.header(header{}))
}

// anys returns n zeroed slots (length and capacity n) for the items of a
// list, tuple or dict, from a block shared by the containers of the
// message when n is small.
func (st *decodeState) anys(n int) []any {
	if n == 0 {
		return []any{}
	}
	b := &st.boxes
	if off := len(b.anys); n <= cap(b.anys)-off {
		b.anys = b.anys[:off+n]
		return b.anys[off : off+n : off+n]
	}
	if n > anyMax/2 {
		return make([]any, n)
	}
	size := max(b.anyNext, anyMin)
	b.anyNext = min(2*size, anyMax)
	b.usedAnys += len(b.anys)
	if b.anys != nil && !b.anySplit {
		b.anySplit, size = true, anyMin // as in headerSlow
	}
	b.anys = newAnys(max(size, n))[:n]
	return b.anys[:n:n]
}

// items returns room for n dict items (length 0, capacity n).
func (st *decodeState) items(n int) []Item {
	a := st.anys(2 * n)
	if n == 0 {
		return []Item{}
	}
	return unsafe.Slice((*Item)(unsafe.Pointer(unsafe.SliceData(a))), n)[:0]
}

// boxStr returns s as an interface value.
func (st *decodeState) boxStr(s string) any {
	if len(s) == 0 {
		return ""
	}
	h := header{p: unsafe.Pointer(unsafe.StringData(s)), n: len(s)}
	b := &st.boxes
	if n := len(b.hdrs); n < cap(b.hdrs) {
		b.hdrs = b.hdrs[:n+1]
		b.hdrs[n] = h
		return makeAny(stringType, unsafe.Pointer(&b.hdrs[n]))
	}
	return makeAny(stringType, b.headerSlow(h))
}

// shortStr returns b, a valid str of 1 to 255 bytes, copied and boxed:
// newString and boxStr in one, for the decoder's fast loop.
func (st *decodeState) shortStr(b []byte) any {
	n := len(b)
	bx := &st.boxes
	var p unsafe.Pointer
	if off := len(bx.mem); n <= arenaMax && n <= cap(bx.mem)-off {
		bx.mem = bx.mem[:off+n]
		copy(bx.mem[off:], b)
		p = unsafe.Pointer(&bx.mem[off])
	} else {
		p = unsafe.Pointer(unsafe.StringData(st.newString(b)))
	}
	if k := len(bx.hdrs); k < cap(bx.hdrs) {
		bx.hdrs = bx.hdrs[:k+1]
		h := &bx.hdrs[k]
		h.p, h.n = p, n
		return makeAny(stringType, unsafe.Pointer(h))
	}
	return makeAny(stringType, bx.headerSlow(header{p: p, n: n}))
}

// boxSlice returns the slice with element pointer p, length n and
// capacity c, of the slice type typ, as an interface value.
func (st *decodeState) boxSlice(typ, p unsafe.Pointer, n, c int) any {
	return makeAny(typ, st.boxes.header(header{p: p, n: n, c: c}))
}

func (st *decodeState) boxFloat(f float64) any {
	p := st.takeWord()
	*(*uint64)(p) = math.Float64bits(f)
	return makeAny(float64Type, p)
}

func (st *decodeState) boxInt(i int64) any {
	if i >= 0 && i < 256 {
		return i // Go boxes these without allocating
	}
	p := st.takeWord()
	*(*int64)(p) = i
	return makeAny(int64Type, p)
}
