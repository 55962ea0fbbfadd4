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
// produce, with one allocation per block instead of one per value. Two
// kinds of blocks are used:
//
//   - pointer-free memory (bytes): the bytes of short strings and the
//     8-byte words of floats and ints;
//   - headers: the (pointer, length, capacity) words of strings (which use
//     the first two) and of slices ([]any, Tuple, []byte, ByteArray).
//
// A retained value keeps its blocks (at most memMax bytes and hdrMax
// headers) alive. Block sizes grow geometrically and, for in-memory input,
// never exceed what the rest of the message could need.

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

// header holds a string header (p, n) or a slice header (p, n, c). Only
// its first word is a pointer, as in both.
type header struct {
	p    unsafe.Pointer
	n, c int
}

const (
	memMin = 64
	memMax = 4096
	hdrMin = 8
	hdrMax = 256
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
}

func (b *boxes) reset() { *b = boxes{} }

// take returns n bytes of pointer-free memory aligned to align (1 or 8).
// bound, when positive, is the most memory the rest of the message may
// need, used to size a new block.
func (b *boxes) take(n, align, bound int) unsafe.Pointer {
	off := len(b.mem)
	if off < cap(b.mem) {
		addr := uintptr(unsafe.Pointer(unsafe.SliceData(b.mem))) + uintptr(off)
		off += int(-addr & uintptr(align-1))
	}
	if off+n > cap(b.mem) {
		size := max(b.memNext, memMin)
		if size < memMax {
			b.memNext = 2 * size
		}
		if bound > 0 && bound < size {
			size = bound
		}
		// At least 16 bytes: smaller blocks may not be 8-aligned.
		size = max(size, n, 16)
		b.mem = make([]byte, 0, size)
		off = 0
	}
	b.mem = b.mem[:off+n]
	return unsafe.Pointer(&b.mem[off])
}

// header stores h in a header block; bound, when positive, is the most
// headers the rest of the message may need.
func (b *boxes) header(h header, bound int) unsafe.Pointer {
	if len(b.hdrs) == cap(b.hdrs) {
		size := max(b.hdrNext, hdrMin)
		if size < hdrMax {
			b.hdrNext = 2 * size
		}
		if bound > 0 && bound < size {
			size = bound
		}
		b.hdrs = make([]header, 0, size)
	}
	b.hdrs = append(b.hdrs, h)
	return unsafe.Pointer(&b.hdrs[len(b.hdrs)-1])
}

// memBound bounds the pointer-free memory the rest of an in-memory
// message may need beyond n bytes (a number costs at least 3 input bytes
// and takes 8), or returns -1 for a stream.
func (st *decodeState) memBound(n int) int {
	if st.in.r != nil {
		return -1
	}
	return n + 8 + 3*st.in.avail()
}

// hdrBound bounds the headers the rest of an in-memory message may need
// (each value takes at least one input byte), or returns -1 for a stream.
func (st *decodeState) hdrBound() int {
	if st.in.r != nil {
		return -1
	}
	return st.in.avail() + 1
}

// boxStr returns s as an interface value.
func (st *decodeState) boxStr(s string) any {
	if len(s) == 0 {
		return ""
	}
	return makeAny(stringType, st.boxes.header(header{p: unsafe.Pointer(unsafe.StringData(s)), n: len(s)}, st.hdrBound()))
}

// boxSlice returns the slice with element pointer p, length n and
// capacity c, of the slice type typ, as an interface value; bound is
// passed to header.
func (st *decodeState) boxSlice(typ, p unsafe.Pointer, n, c, bound int) any {
	return makeAny(typ, st.boxes.header(header{p: p, n: n, c: c}, bound))
}

func (st *decodeState) boxFloat(f float64) any {
	p := st.boxes.take(8, 8, st.memBound(0))
	*(*uint64)(p) = math.Float64bits(f)
	return makeAny(float64Type, p)
}

func (st *decodeState) boxInt(i int64) any {
	if i >= 0 && i < 256 {
		return i // Go boxes these without allocating
	}
	p := st.boxes.take(8, 8, st.memBound(0))
	*(*int64)(p) = i
	return makeAny(int64Type, p)
}
