package pickle

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
	"unsafe"
)

// fast executes the most common opcodes of protocol 4 and 5 pickles
// (PROTO, FRAME, SHORT_BINUNICODE, BININT1, BININT2, BINFLOAT, MEMOIZE,
// MARK, EMPTY_DICT, EMPTY_LIST, and APPENDS and SETITEMS of a first batch
// of a few items into a new list or dict) in a tight loop, as long as
// their arguments are buffered and nothing can fail: it returns at the
// first opcode that needs more (another opcode, a limit to check, an
// error to report, a case it leaves to run), which run then executes with
// every check.
func (st *decodeState) fast() {
	buf := st.in.buf
	pos := st.in.pos
	stack := st.stack
	heights := st.heights
	bx := &st.boxes
	// Every push below is checked against room, which also bounds it by
	// MaxItems; depth 1 (an empty container) is always within MaxDepth.
	room := min(cap(stack), cap(heights), st.limits.MaxItems)
	// The memory account (chargeMem), in a local; near the limit, run
	// takes over and reports it.
	mem := st.mem
	memMax := st.limits.MaxMemory - 8*memDictIt
loop:
	for pos < len(buf) && len(stack) < room {
		var v any
		var h int32
		c := int64(opMem[buf[pos]])
		if mem+c > memMax {
			break loop
		}
		switch fastKind[buf[pos]] {
		case kShortBinUnicode:
			if pos+1 >= len(buf) {
				break loop
			}
			n := int(buf[pos+1])
			if n > len(buf)-pos-2 {
				break loop
			}
			b := buf[pos+2 : pos+2+n]
			if n > 16 || !isASCII(b) {
				if !validPyUTF8(b) {
					break loop // run reports it
				}
			}
			if n == 0 {
				v = ""
			} else {
				v = st.shortStr(b)
			}
			pos += 2 + n
		case kBinInt1:
			if pos+1 >= len(buf) {
				break loop
			}
			v = smallInts[buf[pos+1]]
			pos += 2
		case kBinInt2:
			if pos+2 >= len(buf) {
				break loop
			}
			x := int64(binary.LittleEndian.Uint16(buf[pos+1:]))
			if x < 256 {
				v = smallInts[x]
			} else if off := (len(bx.mem) + 7) &^ 7; off+8 <= cap(bx.mem) {
				bx.mem = bx.mem[:off+8]
				p := unsafe.Pointer(&bx.mem[off])
				*(*int64)(p) = x
				v = makeAny(int64Type, p)
			} else {
				v = st.boxInt(x)
			}
			pos += 3
		case kBinFloat:
			if pos+8 >= len(buf) {
				break loop
			}
			x := binary.BigEndian.Uint64(buf[pos+1:])
			if off := (len(bx.mem) + 7) &^ 7; off+8 <= cap(bx.mem) {
				bx.mem = bx.mem[:off+8]
				p := unsafe.Pointer(&bx.mem[off])
				*(*uint64)(p) = x
				v = makeAny(float64Type, p)
			} else {
				v = st.boxFloat(math.Float64frombits(x))
			}
			pos += 9
		case kEmptyDict:
			v, h = st.newDict(), 1
			pos++
		case kEmptyList:
			v, h = st.newList(st.in.base+int64(pos)), 1
			pos++
		case kMemoize:
			n := len(stack)
			if n <= st.fence() || st.memoLen != len(st.memo) || st.memoLen >= st.limits.MaxMemo {
				break loop
			}
			st.memo = append(st.memo, stack[n-1])
			st.memoLen++
			mem += memMemo
			pos++
			continue
		case kProto:
			if pos+1 >= len(buf) || buf[pos+1] > HighestProtocol {
				break loop
			}
			st.proto = int(buf[pos+1])
			pos += 2
			continue
		case kFrame:
			// Only a frame whose bytes are all buffered (run checks the
			// others).
			if pos+8 >= len(buf) || binary.LittleEndian.Uint64(buf[pos+1:]) > uint64(len(buf)-pos-9) {
				break loop
			}
			pos += 9
			continue
		case kMark:
			if len(st.marks) >= st.limits.MaxDepth {
				break loop
			}
			st.marks = append(st.marks, len(stack))
			mem += 8
			pos++
			continue
		case kAppends, kSetItems:
			m := st.closeBatch(buf[pos], stack, heights)
			if m < 0 {
				break loop
			}
			if buf[pos] == opAppends {
				mem += int64(len(stack)-m) * memItem
			} else {
				mem += int64(len(stack)-m) / 2 * memDictIt
			}
			stack, heights = stack[:m], heights[:m]
			pos++
			continue
		default:
			break loop
		}
		mem += c
		n := len(stack)
		stack = stack[:n+1]
		stack[n] = v
		heights = heights[:n+1]
		heights[n] = h
		// A value is usually memoized at once: MEMOIZE is done here
		// then, as its case does (v is above any mark).
		if pos < len(buf) && buf[pos] == opMemoize && st.memoLen == len(st.memo) && st.memoLen < st.limits.MaxMemo {
			st.memo = append(st.memo, v)
			st.memoLen++
			mem += memMemo
			pos++
		}
	}
	st.in.pos = pos
	st.mem = mem
	st.stack = stack
	st.heights = heights
	st.stackHW = max(st.stackHW, len(stack))
}

// closeBatch executes APPENDS or SETITEMS (op) for fast when the items
// above the last mark are a first batch of a few items going into a new
// list, or of distinct str keys into a new dict, as popMark, appendItems
// and setItems would; it returns the stack's new length (the mark's), or
// -1 to leave the opcode to run. stack and heights are fast's.
func (st *decodeState) closeBatch(op byte, stack []any, heights []int32) int {
	nm := len(st.marks)
	if nm == 0 {
		return -1
	}
	m := st.marks[nm-1]
	k := len(stack) - m
	if m == 0 || k == 0 || k >= 64 || k > st.limits.MaxItems || nm > 1 && m <= st.marks[nm-2] {
		return -1
	}
	mh := maxHeight(heights[m:])
	if mh >= int32(st.limits.MaxDepth) {
		return -1
	}
	items := stack[m:]
	if op == opAppends {
		b, ok := stack[m-1].(*listBuilder)
		if !ok || b.items != nil || len(b.chunks) != 0 {
			return -1
		}
		b.items = st.anys(k)
		copy(b.items, items)
		for i, v := range items {
			if _, ok := v.(*listBuilder); ok {
				st.fixups = append(st.fixups, fixup{kind: fixList, list: b, idx: i})
			}
		}
	} else {
		d, ok := stack[m-1].(*Dict)
		if !ok || d == nil || d.items != nil || d.index != nil || k%2 != 0 || k/2 > smallDict || !distinctStrKeys(items) {
			return -1
		}
		d.items = st.items(k / 2)[:k/2]
		copy(d.items, unsafe.Slice((*Item)(unsafe.Pointer(unsafe.SliceData(items))), k/2))
		for i := range d.items {
			if _, ok := d.items[i].Value.(*listBuilder); ok {
				st.fixups = append(st.fixups, fixup{kind: fixDict, dict: d, idx: i})
			}
		}
	}
	heights[m-1] = max(heights[m-1], mh+1)
	st.stackHW = max(st.stackHW, len(stack))
	st.marks = st.marks[:nm-1]
	return m
}

// smallInts are the ints 0 to 255, boxed (Go boxes these without
// allocating, but through a call).
var smallInts = func() (t [256]any) {
	for i := range t {
		t[i] = int64(i)
	}
	return t
}()

// Dense numbers of the opcodes fast executes, so that its switch
// compiles to a jump table.
const (
	kShortBinUnicode = iota + 1
	kBinInt1
	kBinInt2
	kBinFloat
	kEmptyDict
	kEmptyList
	kMemoize
	kProto
	kFrame
	kMark
	kAppends
	kSetItems
)

// fastKind maps the opcodes fast executes to their dense numbers, others
// to 0.
var fastKind = [256]uint8{
	opShortBinUnicode: kShortBinUnicode, opBinInt1: kBinInt1, opBinInt2: kBinInt2,
	opBinFloat: kBinFloat, opEmptyDict: kEmptyDict, opEmptyList: kEmptyList,
	opMemoize: kMemoize, opProto: kProto, opFrame: kFrame, opMark: kMark,
	opAppends: kAppends, opSetItems: kSetItems,
}

// fastOps are the opcodes fast executes.
var fastOps = [256]bool{
	opProto: true, opFrame: true, opShortBinUnicode: true, opBinInt1: true,
	opBinInt2: true, opBinFloat: true, opEmptyDict: true, opEmptyList: true,
	opMemoize: true, opMark: true, opAppends: true, opSetItems: true,
}

// isASCII reports whether b is ASCII.
func isASCII(b []byte) bool {
	// Two overlapping words cover b.
	switch n := len(b); {
	case n >= 8 && n <= 16:
		w := binary.LittleEndian.Uint64(b) | binary.LittleEndian.Uint64(b[n-8:])
		return w&0x8080808080808080 == 0
	case n >= 4 && n < 8:
		w := binary.LittleEndian.Uint32(b) | binary.LittleEndian.Uint32(b[n-4:])
		return w&0x80808080 == 0
	}
	var or byte
	for _, c := range b {
		or |= c
	}
	return or < utf8.RuneSelf
}
