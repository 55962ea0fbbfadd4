package pickle

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/big"
	"strconv"
	"unsafe"
)

// listBuilder is a list under construction. Python lists are mutable and
// shared by reference, so the decoder keeps a pointer to a builder wherever
// the list is stored and turns every builder into one []any when the
// pickle ends (so shared lists keep one backing array and a list can hold
// itself).
type listBuilder struct {
	// The items are chunks (full earlier batches, kept to avoid copying
	// as the list grows) followed by items; all() joins them.
	chunks [][]any
	nchunk int // items in chunks
	items  []any
	final  any   // the finished []any, boxed once
	shared bool  // fetched from the memo or DUPed: identity matters
	start  int64 // input offset of the opcode that made the list
	sized  bool  // items was given capacity by listCap
}

type fixKind uint8

const (
	fixPtr     fixKind = iota // *ptr
	fixList                   // list.items[idx]
	fixDict                   // dict.items[idx].Value
	fixObjList                // obj.ListItems[idx]
	fixObjDict                // obj.DictItems[idx].Value
)

// all joins the builder's chunks into items and returns them.
func (b *listBuilder) all() []any {
	if len(b.chunks) > 0 {
		l := make([]any, 0, b.nchunk+len(b.items))
		for _, c := range b.chunks {
			l = append(l, c...)
		}
		b.items = append(l, b.items...)
		b.chunks, b.nchunk = nil, 0
	}
	return b.items
}

// fixup records a slot that holds a *listBuilder.
type fixup struct {
	kind fixKind
	idx  int
	ptr  *any
	list *listBuilder
	dict *Dict
	obj  *Object
}

// emptyTuple is the boxed empty Tuple (Python has one empty tuple).
var emptyTuple any = Tuple{}

// tuple boxes t.
func (st *decodeState) tuple(t Tuple) any {
	return st.boxSlice(tupleType, unsafe.Pointer(unsafe.SliceData(t)), len(t), cap(t))
}

// boxBytes boxes b as a value of the byte slice type typ.
func (st *decodeState) boxBytes(typ unsafe.Pointer, b []byte) any {
	return st.boxSlice(typ, unsafe.Pointer(unsafe.SliceData(b)), len(b), cap(b))
}

// hole marks an unset memo slot.
type hole struct{}

// decodeState is the pickle virtual machine.
type decodeState struct {
	in         input
	limits     Limits
	buffers    [][]byte
	hasBuffers bool
	zeroCopy   bool

	start     int64 // offset of the pickle's first byte
	opOff     int64 // offset of the current opcode
	proto     int
	stack     []any
	heights   []int32 // nesting height of each stack value
	markH     int32   // greatest height of the items popMark returned
	sawRef    bool    // a value was fetched from the memo or DUPed
	depthMemo map[unsafe.Pointer]int32
	marks     []int
	memo      []any
	memoMap   map[uint64]any // sparse PUT indices
	memoLen   int
	used      int64 // allocation budget units spent
	hashUsed  int64 // hashing budget units spent
	mem       int64 // bytes of structure allocated (chargeMem)
	hash      hasher
	spec      int64 // list slots allocated ahead of their items (listCap)
	builders  []*listBuilder
	nb        int
	fixups    []fixup
	boxes     boxes
	one       [1]any // APPEND's item, without allocating
	stackHW   int    // high-water mark of the stack
}

// arenaMax is the length up to which strings are copied into shared
// blocks (boxes) rather than allocated one by one.
const arenaMax = 64

// newString copies b into a string, sharing a block for short ones.
func (st *decodeState) newString(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if n > arenaMax {
		return string(b)
	}
	p := st.takeBytes(n)
	copy(unsafe.Slice((*byte)(p), n), b)
	return unsafe.String((*byte)(p), n)
}

func (st *decodeState) syntax(msg string) error {
	return &SyntaxError{Offset: st.opOff, Msg: msg}
}

func (st *decodeState) readErr(err error) error {
	if err == io.ErrUnexpectedEOF {
		return &SyntaxError{Offset: st.in.offset(), Msg: "pickle data was truncated", Err: err}
	}
	return err
}

func (st *decodeState) limit(what string, max int) error {
	return &LimitError{Limit: what, Max: int64(max), Offset: st.opOff}
}

// charge spends n budget units.
func (st *decodeState) charge(n int) error {
	st.used += int64(n)
	if st.used > budgetBase+budgetPerByte*(st.in.offset()-st.start) {
		return &LimitError{Limit: "allocation", Max: budgetBase + budgetPerByte*(st.in.offset()-st.start), Offset: st.opOff}
	}
	return nil
}

// hasher returns the decode's hasher, its budget set to what is left of
// the hashing budget: hashBudgetBase units plus hashBudgetPerByte per
// input byte read so far (a unit is about a byte copied or hashed).
func (st *decodeState) hasher() *hasher {
	st.hash.budget = hashBudgetBase + hashBudgetPerByte*(st.in.offset()-st.start) - st.hashUsed
	st.hash.caching = true
	return &st.hash
}

// hashed records what the hasher spent, and places its error.
func (st *decodeState) hashed(err error) error {
	max := hashBudgetBase + hashBudgetPerByte*(st.in.offset()-st.start)
	st.hashUsed = max - st.hash.budget
	if le, ok := err.(*LimitError); ok && le == errKeyTooDeep {
		return &LimitError{Limit: le.Limit, Max: le.Max, Offset: st.opOff}
	}
	if err == errKeyTooLarge {
		return &LimitError{Limit: "hash work", Max: max, Offset: st.opOff}
	}
	return err
}

func (st *decodeState) fence() int {
	if n := len(st.marks); n > 0 {
		return st.marks[n-1]
	}
	return 0
}

func (st *decodeState) underflow() error {
	if len(st.marks) > 0 && len(st.stack) == st.fence() {
		return st.syntax("unexpected MARK found")
	}
	return st.syntax("unpickling stack underflow")
}

// push pushes a value that is not a container (height 0).
func (st *decodeState) push(v any) error { return st.pushH(v, 0) }

// pushH pushes v, whose nesting height is h.
func (st *decodeState) pushH(v any, h int32) error {
	n := len(st.stack)
	if n < cap(st.stack) && n < cap(st.heights) && n < st.limits.MaxItems && h <= int32(st.limits.MaxDepth) {
		st.stack = st.stack[:n+1]
		st.stack[n] = v
		st.heights = st.heights[:n+1]
		st.heights[n] = h
		if n >= st.stackHW {
			st.stackHW = n + 1
		}
		return nil
	}
	return st.pushSlow(v, h)
}

func (st *decodeState) pushSlow(v any, h int32) error {
	if len(st.stack) >= st.limits.MaxItems {
		return st.limit("items", st.limits.MaxItems)
	}
	if h > int32(st.limits.MaxDepth) {
		return st.limit("depth", st.limits.MaxDepth)
	}
	st.stack = append(st.stack, v)
	st.heights = append(st.heights, h)
	if len(st.stack) > st.stackHW {
		st.stackHW = len(st.stack)
	}
	return nil
}

func (st *decodeState) pop() (any, error) {
	v, _, err := st.popH()
	return v, err
}

// popH pops a value and its height.
func (st *decodeState) popH() (any, int32, error) {
	n := len(st.stack)
	if n <= st.fence() {
		return nil, 0, st.underflow()
	}
	v := st.stack[n-1]
	h := st.heights[n-1]
	st.stack[n-1] = nil
	st.stack = st.stack[:n-1]
	st.heights = st.heights[:n-1]
	return v, h, nil
}

func (st *decodeState) top() (*any, error) {
	n := len(st.stack)
	if n <= st.fence() {
		return nil, st.underflow()
	}
	return &st.stack[n-1], nil
}

// topHeight returns the height slot of the top value (after top succeeded).
func (st *decodeState) topHeight() *int32 { return &st.heights[len(st.heights)-1] }

// grow records that the container whose height is *p now holds a value of
// height h.
func (st *decodeState) grow(p *int32, h int32) error {
	if h+1 > *p {
		*p = h + 1
		if *p > int32(st.limits.MaxDepth) {
			return st.limit("depth", st.limits.MaxDepth)
		}
	}
	return nil
}

func maxHeight(hs []int32) int32 {
	var m int32
	for _, h := range hs {
		m = max(m, h)
	}
	return m
}

// popMark returns the items above the topmost mark (a view of the stack,
// valid until the next push) and removes them and the mark; st.markH is
// set to their greatest height.
func (st *decodeState) popMark() ([]any, error) {
	n := len(st.marks)
	if n == 0 {
		return nil, st.syntax("could not find MARK")
	}
	m := st.marks[n-1]
	st.marks = st.marks[:n-1]
	items := st.stack[m:]
	st.markH = maxHeight(st.heights[m:])
	st.stack = st.stack[:m]
	st.heights = st.heights[:m]
	return items, nil
}

// newList returns a new list builder for the list made by the opcode at
// input offset start.
func (st *decodeState) newList(start int64) *listBuilder {
	if st.nb == len(st.builders) {
		st.builders = append(st.builders, new(listBuilder))
	}
	b := st.builders[st.nb]
	st.nb++
	b.start = start
	return b
}

// listCap returns the capacity to give a list's array for its first batch
// of n items: for in-memory input, the list's whole size estimated from
// the input bytes the batch took, so that a long list is built in one
// array rather than in chunks joined at the end. The extra capacity is
// bounded by a multiple of the batch, by the bytes left and, over the
// whole message, by its size.
func (st *decodeState) listCap(b *listBuilder, n int) int {
	if st.in.r != nil || n < 64 {
		return n
	}
	used := st.in.offset() - b.start
	avail := int64(st.in.avail())
	if used <= 0 || avail == 0 {
		return n
	}
	// At most 16 times the batch, half a slot per byte left, and over
	// the message half a slot (8 bytes) per byte.
	extra := min(avail*int64(n)/used+int64(n)/8, avail/2, 16*int64(n))
	if st.spec+extra > (st.in.offset()-st.start+avail)/2 {
		return n
	}
	st.spec += extra
	return n + int(extra)
}

// note records slot p for fixing when it holds a list builder.
func (st *decodeState) note(p *any) {
	if _, ok := (*p).(*listBuilder); ok {
		st.fixups = append(st.fixups, fixup{kind: fixPtr, ptr: p})
	}
}

// memoGapMax is the widest gap of unset slots a PUT may open in the memo
// array; a PUT further out goes to the sparse map, so that a few bytes of
// input never allocate memory in proportion to an index.
const memoGapMax = 16

func (st *decodeState) memoPut(idx uint64, v any) error {
	if idx == uint64(len(st.memo)) && st.memoLen < st.limits.MaxMemo {
		// MEMOIZE, and PUT in order: the common case.
		st.memo = append(st.memo, v)
		st.memoLen++
		return nil
	}
	if idx < uint64(len(st.memo)) {
		if _, ok := st.memo[idx].(hole); ok {
			st.memoLen++
		}
		st.memo[idx] = v
	} else if idx < uint64(len(st.memo))+memoGapMax {
		// Holes cost memory without input: charge them.
		if err := st.charge(16 * int(idx-uint64(len(st.memo)))); err != nil {
			return err
		}
		for uint64(len(st.memo)) < idx {
			st.memo = append(st.memo, hole{})
		}
		st.memo = append(st.memo, v)
		st.memoLen++
	} else {
		if st.memoMap == nil {
			st.memoMap = make(map[uint64]any)
		}
		if _, ok := st.memoMap[idx]; !ok {
			st.memoLen++
		}
		st.memoMap[idx] = v
	}
	if st.memoLen > st.limits.MaxMemo {
		return st.limit("memo", st.limits.MaxMemo)
	}
	return nil
}

func (st *decodeState) memoGet(idx uint64) (any, error) {
	var v any = hole{}
	if idx < uint64(len(st.memo)) {
		v = st.memo[idx]
	} else if st.memoMap != nil {
		if w, ok := st.memoMap[idx]; ok {
			v = w
		}
	}
	if _, ok := v.(hole); ok {
		return nil, st.syntax("memo value not found at index " + strconv.FormatUint(idx, 10))
	}
	if b, ok := v.(*listBuilder); ok {
		b.shared = true
	}
	return v, nil
}

// reset drops every reference the state holds, keeping its buffers. (The
// opcodes leave popped stack slots as they are; they are cleared here, up
// to the stack's high-water mark.)
func (st *decodeState) reset() {
	clear(st.stack[:max(st.stackHW, len(st.stack))])
	st.stack = st.stack[:0]
	st.heights = st.heights[:0]
	st.stackHW = 0
	st.sawRef = false
	st.boxes.endMessage()
	st.marks = st.marks[:0]
	clear(st.memo)
	st.memo = st.memo[:0]
	st.memoMap = nil
	st.memoLen = 0
	st.hashUsed = 0
	st.mem = 0
	if len(st.hash.cache) > 1<<10 {
		st.hash.cache = nil
	} else {
		clear(st.hash.cache)
	}
	for _, b := range st.builders[:st.nb] {
		*b = listBuilder{}
	}
	st.nb = 0
	clear(st.fixups)
	st.fixups = st.fixups[:0]
	if cap(st.stack) > 1<<16 {
		st.stack = nil
	}
	if cap(st.memo) > 1<<16 {
		st.memo = nil
	}
	if cap(st.fixups) > 1<<16 {
		st.fixups = nil
	}
	if len(st.builders) > 1<<12 {
		st.builders = nil
	}
}

// decode runs the machine over one pickle.
func (st *decodeState) decode() (any, error) {
	st.start = st.in.offset()
	st.opOff = st.start
	st.proto = 0
	st.used = 0
	st.spec = 0
	v, err := st.run()
	if err == nil {
		v = st.finish(v)
		if st.sawRef {
			err = st.checkDepth(v)
		}
	}
	st.reset()
	return v, err
}

// finish turns every list builder into its []any and stores it wherever
// the builder was stored.
func (st *decodeState) finish(v any) any {
	for _, b := range st.builders[:st.nb] {
		b.all()
		var l []any
		if len(b.items) == 0 {
			if b.shared {
				l = make([]any, 0, 1) // a distinct array: identity
			} else {
				l = []any{}
			}
		} else if n := len(b.items); b.sized && cap(b.items)-n > n/8+8 {
			// listCap guessed too large: keep only what is used (in
			// b.items, which the fixups below write into).
			l = append(make([]any, 0, n), b.items...)
			b.items = l
		} else {
			l = b.items[:n:n]
		}
		b.final = st.boxSlice(listType, unsafe.Pointer(unsafe.SliceData(l)), len(l), cap(l))
	}
	for _, f := range st.fixups {
		var p *any
		switch f.kind {
		case fixPtr:
			p = f.ptr
		case fixList:
			p = &f.list.items[f.idx]
		case fixDict:
			p = &f.dict.items[f.idx].Value
		case fixObjList:
			p = &f.obj.ListItems[f.idx]
		case fixObjDict:
			p = &f.obj.DictItems[f.idx].Value
		}
		if b, ok := (*p).(*listBuilder); ok {
			*p = b.final
		}
	}
	if b, ok := v.(*listBuilder); ok {
		v = b.final
	}
	return v
}

func le16(b []byte) uint64 { return uint64(binary.LittleEndian.Uint16(b)) }
func le32(b []byte) uint64 { return uint64(binary.LittleEndian.Uint32(b)) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// length reads an n-byte little-endian length field and checks it against
// the limits and, for in-memory input, the bytes left.
func (st *decodeState) length(n int) (int, error) {
	b, err := st.in.next(n)
	if err != nil {
		return 0, st.readErr(err)
	}
	var l uint64
	switch n {
	case 1:
		l = uint64(b[0])
	case 4:
		l = le32(b)
	case 8:
		l = le64(b)
	}
	if l > math.MaxInt32 && l > uint64(math.MaxInt-1<<20) {
		return 0, st.syntax("length field too large")
	}
	if st.in.r == nil && l > uint64(st.in.avail()) {
		return 0, &SyntaxError{Offset: st.in.offset(), Msg: "pickle data was truncated", Err: io.ErrUnexpectedEOF}
	}
	return int(l), nil
}

// data reads n payload bytes (valid until the next read).
func (st *decodeState) data(n int) ([]byte, error) {
	b, err := st.in.next(n)
	if err != nil {
		return nil, st.readErr(err)
	}
	return b, nil
}

func (st *decodeState) str(b []byte) (any, error) {
	if !validPyUTF8(b) {
		return nil, st.syntax("str is not valid UTF-8 ('surrogatepass')")
	}
	return st.boxStr(st.newString(b)), nil
}

// payload returns a bytes value read from the input: a copy, or with
// zero-copy decoding, the input's own bytes.
func (st *decodeState) payload(b []byte) []byte {
	if st.zeroCopy && st.in.r == nil {
		return b[:len(b):len(b)]
	}
	return copyBytes(b)
}

// copyBytes copies b into a new non-nil slice. (append does not zero the
// new array first, as make would.)
func copyBytes(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	c := append([]byte(nil), b...)
	return c[:len(b):len(b)]
}

// run executes opcodes until STOP.
func (st *decodeState) run() (any, error) {
	in := &st.in
	for {
		if in.pos < len(in.buf) && fastOps[in.buf[in.pos]] {
			st.fast()
		}
		st.opOff = in.offset()
		var op byte
		if in.pos < len(in.buf) {
			op = in.buf[in.pos]
			in.pos++
		} else {
			b, err := in.next(1)
			if err != nil {
				return nil, st.readErr(err)
			}
			op = b[0]
		}
		if st.mem += int64(opMem[op]); st.mem > st.limits.MaxMemory {
			return nil, st.memLimit()
		}
		var err error
		switch op {
		case opProto:
			var b []byte
			if b, err = st.data(1); err != nil {
				return nil, err
			}
			if b[0] > HighestProtocol {
				return nil, st.syntax("unsupported pickle protocol: " + strconv.Itoa(int(b[0])))
			}
			st.proto = int(b[0])
		case opFrame:
			var b []byte
			if b, err = st.data(8); err != nil {
				return nil, err
			}
			// As CPython, require the frame's bytes to be present (a
			// stream buffers them as they arrive).
			n := le64(b)
			if n > uint64(in.avail()) && (in.r == nil || n > uint64(math.MaxInt-1<<20)) {
				return nil, &SyntaxError{Offset: st.opOff, Msg: "FRAME length exceeds the data", Err: io.ErrUnexpectedEOF}
			}
			if err := in.need(int(n)); err != nil {
				return nil, st.readErr(err)
			}
		case opStop:
			v, err := st.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		case opMark:
			if len(st.marks) >= st.limits.MaxDepth {
				return nil, st.limit("depth", st.limits.MaxDepth)
			}
			st.marks = append(st.marks, len(st.stack))
		case opPop:
			if n := len(st.marks); n > 0 && st.marks[n-1] == len(st.stack) {
				st.marks = st.marks[:n-1]
			} else {
				_, err = st.pop()
			}
		case opPopMark:
			_, err = st.popMark()
		case opDup:
			var p *any
			if p, err = st.top(); err == nil {
				if b, ok := (*p).(*listBuilder); ok {
					b.shared = true
				}
				st.sawRef = true
				err = st.pushH(*p, *st.topHeight())
			}

		// Memo.
		case opMemoize:
			if n := len(st.stack); n > st.fence() && st.memoLen == len(st.memo) && st.memoLen < st.limits.MaxMemo {
				// The common case: the next index, in order.
				st.memo = append(st.memo, st.stack[n-1])
				st.memoLen++
				break
			}
			var p *any
			if p, err = st.top(); err == nil {
				err = st.memoPut(uint64(st.memoLen), *p)
			}
		case opPut, opBinPut, opLongBinPut:
			var idx uint64
			switch op {
			case opPut:
				var line []byte
				if line, err = in.line(); err != nil {
					return nil, st.readErr(err)
				}
				i, perr := strconv.ParseUint(string(line), 10, 64)
				if perr != nil {
					return nil, st.syntax("bad PUT argument")
				}
				idx = i
			case opBinPut:
				var b []byte
				if b, err = st.data(1); err != nil {
					return nil, err
				}
				idx = uint64(b[0])
			default:
				var b []byte
				if b, err = st.data(4); err != nil {
					return nil, err
				}
				idx = le32(b)
			}
			var p *any
			if p, err = st.top(); err == nil {
				err = st.memoPut(idx, *p)
			}
		case opGet, opBinGet, opLongBinGet:
			var idx uint64
			switch op {
			case opGet:
				var line []byte
				if line, err = in.line(); err != nil {
					return nil, st.readErr(err)
				}
				i, perr := strconv.ParseUint(string(line), 10, 64)
				if perr != nil {
					return nil, st.syntax("bad GET argument")
				}
				idx = i
			case opBinGet:
				var b []byte
				if b, err = st.data(1); err != nil {
					return nil, err
				}
				idx = uint64(b[0])
			default:
				var b []byte
				if b, err = st.data(4); err != nil {
					return nil, err
				}
				idx = le32(b)
			}
			var v any
			if v, err = st.memoGet(idx); err == nil {
				// Its height is unknown here: decode checks the
				// finished value instead.
				st.sawRef = true
				err = st.push(v)
			}

		// Scalars.
		case opNone:
			err = st.push(nil)
		case opNewTrue:
			err = st.push(true)
		case opNewFalse:
			err = st.push(false)
		case opBinInt1:
			if in.pos < len(in.buf) {
				v := int64(in.buf[in.pos]) // boxed without allocating
				in.pos++
				err = st.push(v)
				break
			}
			var b []byte
			if b, err = st.data(1); err == nil {
				err = st.push(st.boxInt(int64(b[0])))
			}
		case opBinInt2:
			if in.pos+2 <= len(in.buf) {
				v := st.boxInt(int64(le16(in.buf[in.pos:])))
				in.pos += 2
				err = st.push(v)
				break
			}
			var b []byte
			if b, err = st.data(2); err == nil {
				err = st.push(st.boxInt(int64(le16(b))))
			}
		case opBinInt:
			var b []byte
			if b, err = st.data(4); err == nil {
				err = st.push(st.boxInt(int64(int32(le32(b)))))
			}
		case opLong1, opLong4:
			var n int
			if op == opLong1 {
				n, err = st.length(1)
			} else {
				var b []byte
				if b, err = st.data(4); err != nil {
					return nil, err
				}
				l := int32(le32(b))
				if l < 0 {
					return nil, st.syntax("LONG pickle has negative byte count")
				}
				if in.r == nil && int(l) > in.avail() {
					return nil, &SyntaxError{Offset: in.offset(), Msg: "pickle data was truncated", Err: io.ErrUnexpectedEOF}
				}
				n = int(l)
			}
			if err != nil {
				return nil, err
			}
			var b []byte
			if b, err = st.data(n); err == nil {
				err = st.push(decodeLong(b))
			}
		case opInt:
			var line []byte
			if line, err = in.line(); err != nil {
				return nil, st.readErr(err)
			}
			var v any
			if v, err = st.parseInt(line); err == nil {
				err = st.push(v)
			}
		case opLong:
			var line []byte
			if line, err = in.line(); err != nil {
				return nil, st.readErr(err)
			}
			if n := len(line); n > 0 && line[n-1] == 'L' {
				line = line[:n-1]
			}
			var v any
			if v, err = st.parseLong(line); err == nil {
				err = st.push(v)
			}
		case opBinFloat:
			if in.pos+8 <= len(in.buf) {
				v := st.boxFloat(math.Float64frombits(binary.BigEndian.Uint64(in.buf[in.pos:])))
				in.pos += 8
				err = st.push(v)
				break
			}
			var b []byte
			if b, err = st.data(8); err == nil {
				err = st.push(st.boxFloat(math.Float64frombits(binary.BigEndian.Uint64(b))))
			}
		case opFloat:
			var line []byte
			if line, err = in.line(); err != nil {
				return nil, st.readErr(err)
			}
			f, perr := strconv.ParseFloat(string(line), 64)
			if perr != nil && !errors.Is(perr, strconv.ErrRange) {
				return nil, st.syntax("could not convert string to float")
			}
			err = st.push(f)

		// Text and bytes.
		case opShortBinUnicode, opBinUnicode, opBinUnicode8:
			if op == opShortBinUnicode && in.pos < len(in.buf) {
				// Fast path: the whole short string is buffered.
				if n := int(in.buf[in.pos]); in.pos+1+n <= len(in.buf) {
					b := in.buf[in.pos+1 : in.pos+1+n]
					in.pos += 1 + n
					var v any
					if v, err = st.str(b); err == nil {
						err = st.push(v)
					}
					break
				}
			}
			var n int
			switch op {
			case opShortBinUnicode:
				n, err = st.length(1)
			case opBinUnicode:
				n, err = st.length(4)
			default:
				n, err = st.length(8)
			}
			if err != nil {
				return nil, err
			}
			var b []byte
			if b, err = st.data(n); err != nil {
				return nil, err
			}
			var v any
			if v, err = st.str(b); err == nil {
				err = st.push(v)
			}
		case opUnicode:
			var line []byte
			if line, err = in.line(); err != nil {
				return nil, st.readErr(err)
			}
			s, ok := rawUnicodeEscapeDecode(line)
			if !ok {
				return nil, st.syntax("bad raw-unicode-escape data in UNICODE")
			}
			err = st.push(st.newString(s))
		case opShortBinBytes, opBinBytes, opBinBytes8, opByteArray8:
			var n int
			switch op {
			case opShortBinBytes:
				n, err = st.length(1)
			case opBinBytes:
				n, err = st.length(4)
			default:
				n, err = st.length(8)
			}
			if err != nil {
				return nil, err
			}
			var b []byte
			if b, err = st.data(n); err != nil {
				return nil, err
			}
			if op == opByteArray8 {
				err = st.push(st.boxBytes(byteArrayType, st.payload(b)))
			} else {
				err = st.push(st.boxBytes(bytesType, st.payload(b)))
			}
		case opShortBinString, opBinString:
			var n int
			if op == opShortBinString {
				n, err = st.length(1)
			} else {
				var b []byte
				if b, err = st.data(4); err != nil {
					return nil, err
				}
				l := int32(le32(b))
				if l < 0 {
					return nil, st.syntax("BINSTRING pickle has negative byte count")
				}
				if in.r == nil && int(l) > in.avail() {
					return nil, &SyntaxError{Offset: in.offset(), Msg: "pickle data was truncated", Err: io.ErrUnexpectedEOF}
				}
				n = int(l)
			}
			if err != nil {
				return nil, err
			}
			var b []byte
			if b, err = st.data(n); err == nil {
				err = st.push(ByteString(st.newString(b)))
			}
		case opString:
			var line []byte
			if line, err = in.line(); err != nil {
				return nil, st.readErr(err)
			}
			n := len(line)
			if n < 2 || line[0] != line[n-1] || (line[0] != '\'' && line[0] != '"') {
				return nil, st.syntax("the STRING opcode argument must be quoted")
			}
			s, ok := escapeDecode(line[1 : n-1])
			if !ok {
				return nil, st.syntax("bad escape in STRING")
			}
			err = st.push(ByteString(st.newString(s)))

		// Containers.
		case opEmptyList:
			err = st.pushH(st.newList(st.opOff), 1)
		case opEmptyTuple:
			err = st.pushH(emptyTuple, 1)
		case opEmptyDict:
			err = st.pushH(st.newDict(), 1)
		case opEmptySet:
			err = st.pushH(&Set{}, 1)
		case opTuple1, opTuple2, opTuple3:
			n := int(op-opTuple1) + 1
			if len(st.stack)-st.fence() < n {
				return nil, st.underflow()
			}
			t := Tuple(st.anys(n))
			top := st.stack[len(st.stack)-n:]
			copy(t, top)
			h := maxHeight(st.heights[len(st.heights)-n:]) + 1
			st.stack = st.stack[:len(st.stack)-n]
			st.heights = st.heights[:len(st.heights)-n]
			for i := range t {
				st.note(&t[i])
			}
			err = st.pushH(st.tuple(t), h)
		case opTuple, opList, opFrozenSet, opDict:
			var items []any
			if items, err = st.popMark(); err != nil {
				return nil, err
			}
			if err = st.chargeItems(op, len(items)); err != nil {
				return nil, err
			}
			var v any
			switch op {
			case opTuple:
				t := Tuple(st.anys(len(items)))
				copy(t, items)
				for i := range t {
					st.note(&t[i])
				}
				v = st.tuple(t)
			case opList:
				b := st.newList(st.opOff)
				b.items = st.anys(len(items))
				copy(b.items, items)
				for i := range b.items {
					if _, ok := b.items[i].(*listBuilder); ok {
						st.fixups = append(st.fixups, fixup{kind: fixList, list: b, idx: i})
					}
				}
				v = b
			case opFrozenSet:
				s := &FrozenSet{}
				if err = st.addAll(&s.set, items); err != nil {
					return nil, err
				}
				v = s
			case opDict:
				if len(items)%2 != 0 {
					return nil, st.syntax("odd number of items for DICT")
				}
				d := st.newDict()
				if err = st.setItems(d, items); err != nil {
					return nil, err
				}
				v = d
			}
			err = st.pushH(v, st.markH+1)
		case opAppend:
			var v any
			var h int32
			if v, h, err = st.popH(); err != nil {
				return nil, err
			}
			st.one[0] = v
			if err = st.appendItems(op, st.one[:]); err == nil {
				err = st.grow(st.topHeight(), h)
			}
			st.one[0] = nil
		case opAppends:
			var items []any
			if items, err = st.popMark(); err != nil {
				return nil, err
			}
			if err = st.chargeItems(op, len(items)); err != nil {
				return nil, err
			}
			if err = st.appendItems(op, items); err == nil {
				err = st.grow(st.topHeight(), st.markH)
			}
		case opSetItem:
			if len(st.stack)-st.fence() < 3 {
				return nil, st.underflow()
			}
			n := len(st.stack)
			items := st.stack[n-2:]
			err = st.setItemsOn(st.stack[n-3], items)
			h := max(st.heights[n-2], st.heights[n-1])
			st.stack = st.stack[:n-2]
			st.heights = st.heights[:n-2]
			if err == nil {
				err = st.grow(st.topHeight(), h)
			}
		case opSetItems:
			var items []any
			if items, err = st.popMark(); err != nil {
				return nil, err
			}
			if err = st.chargeItems(op, len(items)); err != nil {
				return nil, err
			}
			if len(items)%2 != 0 {
				return nil, st.syntax("odd number of items for SETITEMS")
			}
			if len(st.stack) <= st.fence() {
				return nil, st.underflow()
			}
			if err = st.setItemsOn(st.stack[len(st.stack)-1], items); err == nil {
				err = st.grow(st.topHeight(), st.markH)
			}
		case opAddItems:
			var items []any
			if items, err = st.popMark(); err != nil {
				return nil, err
			}
			if err = st.chargeItems(op, len(items)); err != nil {
				return nil, err
			}
			if len(st.stack) <= st.fence() {
				return nil, st.underflow()
			}
			s, ok := st.stack[len(st.stack)-1].(*Set)
			if !ok {
				return nil, st.syntax("ADDITEMS on a " + typeName(st.stack[len(st.stack)-1]))
			}
			if err = st.addAll(&s.set, items); err == nil {
				err = st.grow(st.topHeight(), st.markH)
			}

		// Objects.
		case opGlobal:
			var line []byte
			if line, err = in.line(); err != nil {
				return nil, st.readErr(err)
			}
			if !validPyUTF8(line) {
				return nil, st.syntax("GLOBAL module name is not UTF-8")
			}
			module := st.newString(line)
			if line, err = in.line(); err != nil {
				return nil, st.readErr(err)
			}
			if !validPyUTF8(line) {
				return nil, st.syntax("GLOBAL name is not UTF-8")
			}
			err = st.push(st.global(module, st.newString(line)))
		case opStackGlobal:
			var name, module any
			if name, err = st.pop(); err != nil {
				return nil, err
			}
			if module, err = st.pop(); err != nil {
				return nil, err
			}
			m, ok1 := module.(string)
			n, ok2 := name.(string)
			if !ok1 || !ok2 {
				return nil, st.syntax("STACK_GLOBAL requires str")
			}
			err = st.push(st.global(m, n))
		case opReduce:
			var args any
			var h int32
			if args, h, err = st.popH(); err != nil {
				return nil, err
			}
			var p *any
			if p, err = st.top(); err != nil {
				return nil, err
			}
			t, ok := args.(Tuple)
			if !ok {
				return nil, st.syntax("REDUCE arguments must be a tuple, not " + typeName(args))
			}
			var v any
			if v, ok, err = st.reducePattern(*p, t); err != nil {
				return nil, err
			}
			if !ok {
				o := &Object{Kind: Reduce, Callable: *p, Args: t}
				st.note(&o.Callable)
				v = o
			}
			*p = v
			err = st.grow(st.topHeight(), h)
		case opNewObj:
			var args, cls any
			var h1, h2 int32
			if args, h1, err = st.popH(); err != nil {
				return nil, err
			}
			if cls, h2, err = st.popH(); err != nil {
				return nil, err
			}
			t, ok := args.(Tuple)
			if !ok {
				return nil, st.syntax("NEWOBJ arguments must be a tuple")
			}
			o := &Object{Kind: NewObj, Callable: cls, Args: t}
			st.note(&o.Callable)
			err = st.pushH(o, max(h1, h2)+1)
		case opNewObjEx:
			var kwargs, args, cls any
			var h1, h2, h3 int32
			if kwargs, h1, err = st.popH(); err != nil {
				return nil, err
			}
			if args, h2, err = st.popH(); err != nil {
				return nil, err
			}
			if cls, h3, err = st.popH(); err != nil {
				return nil, err
			}
			t, ok1 := args.(Tuple)
			kw, ok2 := kwargs.(*Dict)
			if !ok1 || !ok2 {
				return nil, st.syntax("NEWOBJ_EX arguments must be a tuple and a dict")
			}
			o := &Object{Kind: NewObjEx, Callable: cls, Args: t, Kwargs: kw}
			st.note(&o.Callable)
			err = st.pushH(o, max(h1, h2, h3)+1)
		case opInst, opObj:
			var cls any
			if op == opInst {
				var line []byte
				if line, err = in.line(); err != nil {
					return nil, st.readErr(err)
				}
				if !validPyUTF8(line) {
					return nil, st.syntax("INST module name is not UTF-8")
				}
				module := st.newString(line)
				if line, err = in.line(); err != nil {
					return nil, st.readErr(err)
				}
				if !validPyUTF8(line) {
					return nil, st.syntax("INST name is not UTF-8")
				}
				cls = st.global(module, st.newString(line))
			}
			var items []any
			if items, err = st.popMark(); err != nil {
				return nil, err
			}
			if op == opObj {
				if len(items) == 0 {
					return nil, st.syntax("OBJ without a class")
				}
				cls, items = items[0], items[1:]
			}
			t := make(Tuple, len(items))
			copy(t, items)
			for i := range t {
				st.note(&t[i])
			}
			o := &Object{Kind: Inst, Callable: cls, Args: t}
			st.note(&o.Callable)
			err = st.pushH(o, st.markH+2)
		case opBuild:
			var state any
			var h int32
			if state, h, err = st.popH(); err != nil {
				return nil, err
			}
			var p *any
			if p, err = st.top(); err != nil {
				return nil, err
			}
			if err = st.build(*p, state); err == nil {
				err = st.grow(st.topHeight(), h)
			}

		// Unsupported by design.
		case opPersID, opBinPersID:
			return nil, st.syntax("persistent IDs are not supported (a pickle from a Pickler with persistent_id)")
		case opExt1, opExt2, opExt4:
			return nil, st.syntax("extension registry codes (EXT1/EXT2/EXT4) are not supported")
		case opNextBuffer:
			if !st.hasBuffers {
				return nil, st.syntax("pickle stream refers to out-of-band data but no buffers were given")
			}
			if len(st.buffers) == 0 {
				return nil, st.syntax("not enough out-of-band buffers")
			}
			b := st.buffers[0]
			st.buffers = st.buffers[1:]
			err = st.push(ByteArray(b))
		case opReadonlyBuffer:
			var p *any
			if p, err = st.top(); err != nil {
				return nil, err
			}
			switch b := (*p).(type) {
			case ByteArray:
				*p = []byte(b)
			case []byte:
			default:
				return nil, st.syntax("READONLY_BUFFER on a " + typeName(*p))
			}
		default:
			return nil, st.syntax("invalid opcode 0x" + strconv.FormatUint(uint64(op), 16))
		}
		if err != nil {
			return nil, err
		}
	}
}

// global returns the Global for a GLOBAL, INST or STACK_GLOBAL, mapping
// Python 2 names to Python 3 ones at protocols 0 to 2, as CPython's
// Unpickler does with fix_imports.
func (st *decodeState) global(module, name string) Global {
	g := Global{module, name}
	if st.proto < 3 {
		if h, ok := nameMapping2to3[g]; ok {
			return h
		}
		if m, ok := importMapping2to3[module]; ok {
			g.Module = m
		}
	}
	return g
}

func (st *decodeState) appendItems(op byte, items []any) error {
	if len(st.stack) <= st.fence() {
		return st.underflow()
	}
	switch t := st.stack[len(st.stack)-1].(type) {
	case *listBuilder:
		n := t.nchunk + len(t.items)
		if n+len(items) > st.limits.MaxItems {
			return st.limit("items", st.limits.MaxItems)
		}
		if len(items) > 1 && len(t.items) > 0 && cap(t.items)-len(t.items) < len(items) {
			// A new batch that does not fit: keep what we have as a
			// chunk rather than copying it into a bigger array.
			t.chunks = append(t.chunks, t.items)
			t.nchunk += len(t.items)
			t.items = nil
		}
		if t.items == nil {
			if n == 0 {
				if c := st.listCap(t, len(items)); c > len(items) {
					t.items = make([]any, 0, c)
					t.sized = true
				}
			}
			if t.items == nil {
				t.items = st.anys(len(items))[:0]
			}
		}
		t.items = append(t.items, items...)
		for i, v := range items {
			if _, ok := v.(*listBuilder); ok {
				st.fixups = append(st.fixups, fixup{kind: fixList, list: t, idx: n + i})
			}
		}
	case *Object:
		n := len(t.ListItems)
		t.ListItems = append(t.ListItems, items...)
		for i, v := range items {
			if _, ok := v.(*listBuilder); ok {
				st.fixups = append(st.fixups, fixup{kind: fixObjList, obj: t, idx: n + i})
			}
		}
	default:
		name := "APPEND"
		if op == opAppends {
			name = "APPENDS"
		}
		return st.syntax(name + " on a " + typeName(t))
	}
	return nil
}

func (st *decodeState) setItemsOn(target any, items []any) error {
	switch t := target.(type) {
	case *Dict:
		return st.setItems(t, items)
	case *Object:
		n := len(t.DictItems)
		for i := 0; i < len(items); i += 2 {
			t.DictItems = append(t.DictItems, Item{items[i], items[i+1]})
			if _, ok := items[i+1].(*listBuilder); ok {
				st.fixups = append(st.fixups, fixup{kind: fixObjDict, obj: t, idx: n + i/2})
			}
		}
		return nil
	}
	return st.syntax("SETITEM on a " + typeName(target))
}

func (st *decodeState) setItems(d *Dict, items []any) error {
	if d.Len()+len(items)/2 > st.limits.MaxItems {
		return st.limit("items", st.limits.MaxItems)
	}
	if n := len(items) / 2; d.items == nil && n > 0 && n <= smallDict && distinctStrKeys(items) {
		// The common case: a new dict given a few str keys, none twice.
		d.items = st.items(n)[:n]
		copy(d.items, unsafe.Slice((*Item)(unsafe.Pointer(unsafe.SliceData(items))), n))
		for i := range d.items {
			if _, ok := d.items[i].Value.(*listBuilder); ok {
				st.fixups = append(st.fixups, fixup{kind: fixDict, dict: d, idx: i})
			}
		}
		return nil
	}
	if n := len(items) / 2; cap(d.items)-len(d.items) < n {
		if d.items == nil {
			d.items = st.items(n)
		} else {
			// Grow geometrically: SETITEM adds one item at a time.
			d.items = append(make([]Item, 0, max(len(d.items)+n, 2*len(d.items))), d.items...)
		}
	}
	var h *hasher // set when first needed
	for i := 0; i < len(items); i += 2 {
		key, value := items[i], items[i+1]
		var idx int
		if ks, ok := key.(string); ok && d.index == nil && len(d.items) < smallDict && len(ks) <= cheapKeyMax {
			// The common case, as in Dict.set: a str key in a small
			// dict, found or added without hashing.
			idx = -1
			for j := range d.items {
				if s, ok := d.items[j].Key.(string); ok && s == ks {
					d.items[j].Value = value
					idx = j
					break
				}
			}
			if idx < 0 {
				idx = len(d.items)
				d.items = append(d.items, Item{key, value})
			}
		} else {
			if h == nil {
				h = st.hasher()
			}
			var err error
			if idx, err = d.set(key, value, h); err != nil {
				return st.hashed(err)
			}
		}
		if _, ok := value.(*listBuilder); ok {
			st.fixups = append(st.fixups, fixup{kind: fixDict, dict: d, idx: idx})
		}
	}
	if h != nil {
		return st.hashed(nil)
	}
	return nil
}

// distinctStrKeys reports whether the keys of items (keys and values
// alternately) are all short str (cheapKeyMax), and all different.
func distinctStrKeys(items []any) bool {
	for i := 0; i < len(items); i += 2 {
		k, ok := items[i].(string)
		if !ok || len(k) > cheapKeyMax {
			return false
		}
		for j := 0; j < i; j += 2 {
			if items[j].(string) == k {
				return false
			}
		}
	}
	return true
}

func (st *decodeState) addAll(s *set, items []any) error {
	if s.Len()+len(items) > st.limits.MaxItems {
		return st.limit("items", st.limits.MaxItems)
	}
	if s.items == nil {
		s.items = make([]any, 0, len(items))
		s.index = make(map[hashKey]struct{}, len(items))
	}
	h := st.hasher()
	for _, v := range items {
		if err := s.add(v, h); err != nil {
			return st.hashed(err)
		}
	}
	return st.hashed(nil)
}

// build applies BUILD's state to target.
func (st *decodeState) build(target, state any) error {
	if o, ok := target.(*Object); ok {
		if o.HasState {
			return st.syntax("BUILD applied twice to one object is not supported")
		}
		o.HasState, o.State = true, state
		st.note(&o.State)
		return nil
	}
	// Other targets have no attributes; Python accepts only an empty
	// state for them.
	if isEmptyState(state) {
		return nil
	}
	return st.syntax("BUILD on a " + typeName(target))
}

func isEmptyState(state any) bool {
	switch s := state.(type) {
	case nil:
		return true
	case *Dict:
		return s.Len() == 0
	case Tuple:
		return len(s) == 2 && isEmptyState(s[0]) && isEmptyState(s[1])
	}
	return false
}

// decodeLong decodes a little-endian two's complement integer.
func decodeLong(b []byte) any {
	n := len(b)
	if n == 0 {
		return int64(0)
	}
	if n <= 8 {
		var u uint64
		for i := n - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		if b[n-1]&0x80 != 0 && n < 8 {
			u |= ^uint64(0) << (8 * n) // sign-extend
		}
		return int64(u)
	}
	be := make([]byte, n)
	for i := range b {
		be[n-1-i] = b[i]
	}
	x := new(big.Int).SetBytes(be)
	if b[n-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	return normInt(x)
}

// normInt returns x as an int64 when it fits.
func normInt(x *big.Int) any {
	if x.IsInt64() {
		return x.Int64()
	}
	return x
}
