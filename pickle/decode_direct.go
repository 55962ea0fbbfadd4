package pickle

import (
	"encoding/binary"
	"math"
	"reflect"
	"sync"
	"unsafe"
)

// Direct decoding into typed Go values.
//
// Unmarshal into a Go value other than an interface first tries the direct
// path, which handles the pickles CPython writes for plain data (dicts,
// lists, str, int, float, bool, None) going into structs, slices, strings,
// numbers, bools and pointers to them, without building the model value.
// It works in three passes over the pickle:
//
//  1. parse: a recursive descent over a subset of the opcodes into a tape
//     (a flat list of entries, reused between calls), checking everything
//     the decoding machine (decodeState.run) checks on the same opcodes
//     (lengths, UTF-8, memo indices, limits);
//  2. check: a walk of the tape along the destination's type, without
//     touching the destination, which succeeds only when every value fits
//     its target;
//  3. store: the same walk, storing the values.
//
// Whenever the first two passes meet anything else (another opcode, a
// shared container, a target type or value the direct path leaves to the
// reference path, a type mismatch, an error of any kind), Unmarshal
// decodes on the reference path (the model value, then assignValue),
// which gives the results and errors; since the destination is only
// written in the third pass, which cannot fail, it is then untouched.
//
// The grammar accepted is: an optional PROTO, then one value, then STOP,
// FRAMEs being allowed before any opcode. A value is a scalar (NONE,
// NEWTRUE, NEWFALSE, BININT1, BININT2, BININT, LONG1 of up to 8 bytes,
// BINFLOAT, SHORT_BINUNICODE, BINUNICODE, a BINGET or LONG_BINGET of a
// str), or EMPTY_LIST followed by its items (MARK ... APPENDS batches, or
// one item and APPEND), or EMPTY_DICT followed by its items (MARK ...
// SETITEMS batches, or one key, one value and SETITEM); any value may be
// followed by MEMOIZE, BINPUT or LONG_BINPUT (in order). Every opcode of
// an accepted pickle means for the machine what it means here (the
// recursion mirrors its stack), so the values are the same.

// Tape entry kinds.
const (
	tNone uint8 = iota + 1
	tBool
	tInt
	tFloat
	tStr
	tList
	tDict
)

// tapeEnt is one value on the tape. A list is followed by its n items, a
// dict by its n keys and values, alternately; end is the index after the
// container's last entry.
type tapeEnt struct {
	kind uint8
	b    bool
	fld  int32  // dict key into a struct: the field's index, or -1
	n    int32  // list, dict: number of items; str: its memo index, or -1
	end  int32  // list, dict: index after the last entry; str: end of its bytes
	x    uint64 // int64 or float64 bits; str: start of its bytes
}

// str returns the bytes of a str entry.
func (d *directDecoder) str(t *tapeEnt) []byte { return d.data[t.x:t.end] }

// dmemo is a memo entry: a str (its bytes in the input) or anything else
// (which the direct path does not fetch).
type dmemo struct {
	s, e  int32
	isStr bool
}

// directDecoder holds the state of one direct decode; its buffers are
// reused through a pool.
type directDecoder struct {
	data []byte
	tape []tapeEnt
	memo []dmemo
	work int  // parse steps left
	refs bool // a memoized str is fetched
	// strs holds the strings made of memoized strs, by memo index, when
	// refs is set: a str fetched many times is made once.
	strs []string
	// lastT and lastInfo cache the target type's typeInfo.
	lastT    reflect.Type
	lastInfo *typeInfo
}

// maxDirectDepth bounds nesting on the direct path (deeper pickles take
// the reference path, which has the real limit).
const maxDirectDepth = 100

var directPool = sync.Pool{New: func() any { return new(directDecoder) }}

// unmarshalDirect decodes data into v on the direct path and reports
// whether it did; when it did not, v is unchanged.
func unmarshalDirect(data []byte, v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false
	}
	if len(data) > math.MaxInt32 {
		return false
	}
	dst := rv.Elem()
	d := directPool.Get().(*directDecoder)
	ti := d.lastInfo
	if t := dst.Type(); t != d.lastT {
		ti = infoOf(t)
		d.lastT, d.lastInfo = t, ti
	}
	if !directTarget(ti) {
		directPool.Put(d)
		return false
	}
	d.data = data
	d.work = 4*len(data) + 64
	d.refs = false
	ok := d.parse()
	if ok {
		_, ok = d.check(0, ti, 0)
	}
	if ok {
		d.store(dst, 0, ti)
	}
	d.data = nil
	d.memo = d.memo[:0]
	d.tape = d.tape[:0]
	clear(d.strs)
	d.strs = d.strs[:0]
	if cap(d.tape) > 1<<16 || cap(d.memo) > 1<<16 || cap(d.strs) > 1<<16 {
		d.tape, d.memo, d.strs = nil, nil, nil
	}
	directPool.Put(d)
	return ok
}

// directFlags are the type flags that send a target to the reference path.
const directFlags = isUnmarshaler | isTextUnmarshaler | isModel | isTime | isBigInt

// directTarget reports whether a target of this type takes the direct
// path: whether it, and every type it holds (through pointers, slices and
// struct fields), is one the direct path stores. A type holding another
// (an interface, a map...) goes straight to the reference path, which the
// direct path would otherwise fall back to on most pickles, after a
// wasted parse. The answer is cached in the typeInfo.
func directTarget(ti *typeInfo) bool {
	switch ti.direct.Load() {
	case 1:
		return true
	case 2:
		return false
	}
	ok := directType(ti, map[*typeInfo]bool{})
	if ok {
		ti.direct.Store(1)
	} else {
		ti.direct.Store(2)
	}
	return ok
}

// directType is directTarget's test; seen holds the types being tested
// (a recursive type is assumed to pass where it recurs).
func directType(ti *typeInfo, seen map[*typeInfo]bool) bool {
	if ti.flags&directFlags != 0 {
		return false
	}
	if seen[ti] {
		return true
	}
	seen[ti] = true
	switch ti.kind {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Pointer:
		return directType(ti.elemInfo(), seen)
	case reflect.Slice:
		return ti.flags&isBytes == 0 && directType(ti.elemInfo(), seen)
	case reflect.Struct:
		if len(ti.fields.list) > 64 {
			return false
		}
		for i := range ti.fields.list {
			f := &ti.fields.list[i]
			if f.viaPtr || !directType(f.typeInfo(), seen) {
				return false
			}
		}
		return true
	}
	return false
}

// Pass 1: parse. The parse functions take the input position and return
// the position after what they read (-1 marks a failure).

// frames skips any FRAMEs at pos (their bytes must be present, as the
// machine requires); it returns -1 for a bad one.
func frames(data []byte, pos int) int {
	for pos < len(data) && data[pos] == opFrame {
		if len(data)-pos < 9 || binary.LittleEndian.Uint64(data[pos+1:]) > uint64(len(data)-pos-9) {
			return -1
		}
		pos += 9
	}
	return pos
}

// at returns the opcode at pos after any FRAMEs, and its position.
func (d *directDecoder) at(pos int) (byte, int) {
	if pos = frames(d.data, pos); pos < 0 || pos >= len(d.data) {
		return 0, -1
	}
	return d.data[pos], pos
}

func (d *directDecoder) parse() bool {
	c, pos := d.at(0)
	if pos < 0 {
		return false
	}
	if c == opProto {
		if len(d.data)-pos < 2 || d.data[pos+1] > HighestProtocol {
			return false
		}
		pos += 2
	}
	if pos = d.value(pos, 0); pos < 0 {
		return false
	}
	c, pos = d.at(pos)
	return pos >= 0 && c == opStop
}

// memos reads the memo opcodes at pos, after a value: str memoizes the
// str at s:e, else the value is one the direct path never fetches. It
// returns the first memo index given to a str, or -1.
func (d *directDecoder) memos(pos int, str bool, s, e int) (int, int32) {
	memo := int32(-1)
	data := d.data
	for {
		if pos = frames(data, pos); pos < 0 || pos >= len(data) {
			return pos, memo // the caller fails on the end
		}
		idx := uint64(len(d.memo))
		switch data[pos] {
		case opMemoize:
			pos++
		case opBinPut:
			if len(data)-pos < 2 || uint64(data[pos+1]) != idx {
				return -1, memo
			}
			pos += 2
		case opLongBinPut:
			if len(data)-pos < 5 || le32(data[pos+1:]) != idx {
				return -1, memo
			}
			pos += 5
		default:
			return pos, memo
		}
		if len(d.memo) >= DefaultLimits.MaxMemo {
			return -1, memo
		}
		if str && memo < 0 {
			memo = int32(len(d.memo))
		}
		d.memo = append(d.memo, dmemo{isStr: str, s: int32(s), e: int32(e)})
	}
}

// isMemoOp reports whether c is a memo opcode or a FRAME (which may come
// before one).
func isMemoOp(c byte) bool {
	return c == opMemoize || c == opBinPut || c == opLongBinPut || c == opFrame
}

// startsValue reports whether opcode c can start a value.
func startsValue(c byte) bool { return directKind[c] != 0 }

// Dense numbers of the opcodes that start a value, so that value's
// switch compiles to a jump table.
const (
	dFloat = iota + 1
	dStr
	dInt1
	dInt2
	dInt4
	dLong1
	dNone
	dBool
	dGet
	dContainer
)

var directKind = [256]uint8{
	opBinFloat: dFloat, opShortBinUnicode: dStr, opBinUnicode: dStr,
	opBinInt1: dInt1, opBinInt2: dInt2, opBinInt: dInt4, opLong1: dLong1,
	opNone: dNone, opNewTrue: dBool, opNewFalse: dBool,
	opBinGet: dGet, opLongBinGet: dGet, opEmptyList: dContainer, opEmptyDict: dContainer,
}

// value parses one value at pos onto the tape.
func (d *directDecoder) value(pos, depth int) int {
	d.work--
	if d.work < 0 || depth > maxDirectDepth {
		return -1
	}
	data := d.data
	if pos < len(data) && data[pos] == opFrame {
		if pos = frames(data, pos); pos < 0 {
			return -1
		}
	}
	if pos >= len(data) {
		return -1
	}
	buf := data[pos:]
	t := tapeEnt{kind: tInt, n: -1, fld: -1}
	var n int // bytes of the opcode
	switch c := buf[0]; directKind[c] {
	case dFloat:
		if len(buf) < 9 {
			return -1
		}
		t.kind, t.x, n = tFloat, binary.BigEndian.Uint64(buf[1:]), 9
	case dStr:
		var l uint64
		if c == opShortBinUnicode {
			if len(buf) < 2 {
				return -1
			}
			l, n = uint64(buf[1]), 2
		} else {
			if len(buf) < 5 {
				return -1
			}
			l, n = le32(buf[1:]), 5
		}
		if l > uint64(len(buf)-n) {
			return -1
		}
		if b := buf[n : n+int(l)]; !validPyUTF8(b) {
			return -1
		}
		t.kind, t.x, t.end = tStr, uint64(pos+n), int32(pos+n+int(l))
		n += int(l)
	case dInt1:
		if len(buf) < 2 {
			return -1
		}
		t.x, n = uint64(buf[1]), 2
	case dInt2:
		if len(buf) < 3 {
			return -1
		}
		t.x, n = le16(buf[1:]), 3
	case dInt4:
		if len(buf) < 5 {
			return -1
		}
		t.x, n = uint64(int64(int32(binary.LittleEndian.Uint32(buf[1:])))), 5
	case dLong1:
		if len(buf) < 2 || buf[1] > 8 || len(buf)-2 < int(buf[1]) {
			return -1
		}
		m := int(buf[1])
		x, _ := decodeLong(buf[2 : 2+m]).(int64)
		t.x, n = uint64(x), 2+m
	case dNone:
		t.kind, n = tNone, 1
	case dBool:
		t.kind, t.b, n = tBool, c == opNewTrue, 1
	case dGet:
		var idx uint64
		if c == opBinGet {
			if len(buf) < 2 {
				return -1
			}
			idx, n = uint64(buf[1]), 2
		} else {
			if len(buf) < 5 {
				return -1
			}
			idx, n = le32(buf[1:]), 5
		}
		if idx >= uint64(len(d.memo)) || !d.memo[idx].isStr {
			return -1
		}
		m := &d.memo[idx]
		t.kind, t.x, t.end, t.n = tStr, uint64(m.s), m.e, int32(idx)
		d.refs = true
	case dContainer:
		pos++
		if pos < len(data) && isMemoOp(data[pos]) {
			if pos, _ = d.memos(pos, false, 0, 0); pos < 0 {
				return -1
			}
		}
		at := len(d.tape)
		if c == opEmptyList {
			d.tape = append(d.tape, tapeEnt{kind: tList, fld: -1})
			pos = d.items(pos, at, depth+1, opAppend, opAppends, 1)
		} else {
			d.tape = append(d.tape, tapeEnt{kind: tDict, fld: -1})
			pos = d.items(pos, at, depth+1, opSetItem, opSetItems, 2)
		}
		if pos >= 0 {
			d.tape[at].end = int32(len(d.tape))
		}
		return pos
	default:
		return -1
	}
	pos += n
	if pos < len(data) && isMemoOp(data[pos]) {
		str := t.kind == tStr
		if data[pos] == opMemoize && len(d.memo) < DefaultLimits.MaxMemo {
			// The usual single MEMOIZE, at once.
			if str && t.n < 0 {
				t.n = int32(len(d.memo))
			}
			d.memo = append(d.memo, dmemo{isStr: str, s: int32(t.x), e: t.end})
			pos++
		}
		if pos < len(data) && isMemoOp(data[pos]) {
			var memo int32
			if pos, memo = d.memos(pos, str, int(t.x), int(t.end)); pos < 0 {
				return -1
			}
			if str && t.n < 0 {
				t.n = memo
			}
		}
	}
	d.tape = append(d.tape, t)
	return pos
}

// items parses the items of the container whose tape entry is at index
// at (after its opcode and memo opcodes): MARK batches closed by many,
// or (when there is no batch) one item of per values closed by one. It
// sets the container's item count.
func (d *directDecoder) items(pos, at, depth int, one, many byte, per int) int {
	n := 0
	batches := false
	for {
		c, p := d.at(pos)
		if p < 0 {
			return -1
		}
		pos = p
		if c == opMark {
			pos++
			batches = true
			k := 0
			for {
				c, p := d.at(pos)
				if p < 0 {
					return -1
				}
				pos = p
				if c == many {
					pos++
					break
				}
				if pos = d.value(pos, depth); pos < 0 {
					return -1
				}
				if per == 2 && k%2 == 0 && !hashable(d.tape[len(d.tape)-1].kind) {
					return -1 // an unhashable key: the machine fails
				}
				k++
			}
			if k%per != 0 {
				return -1
			}
			n += k / per
			if n > DefaultLimits.MaxItems {
				return -1
			}
			if pos < len(d.data) && isMemoOp(d.data[pos]) {
				if pos, _ = d.memos(pos, false, 0, 0); pos < 0 {
					return -1
				}
			}
			continue
		}
		if batches || !startsValue(c) {
			d.tape[at].n = int32(n)
			return pos
		}
		// One item closed by one, or the container has ended and the
		// value belongs to an outer one: look ahead.
		tape, memo := len(d.tape), len(d.memo)
		q := pos
		for range per {
			if q = d.value(q, depth); q < 0 {
				break
			}
		}
		if q >= 0 && per == 2 && !hashable(d.tape[tape].kind) {
			return -1
		}
		if q >= 0 {
			c, q = d.at(q)
		}
		if q < 0 || c != one {
			d.tape, d.memo = d.tape[:tape], d.memo[:memo]
			d.tape[at].n = 0
			return pos
		}
		pos = q + 1
		if pos < len(d.data) && isMemoOp(d.data[pos]) {
			if pos, _ = d.memos(pos, false, 0, 0); pos < 0 {
				return -1
			}
		}
		d.tape[at].n = 1
		return pos
	}
}

// hashable reports whether a value of this kind can be a dict key.
func hashable(kind uint8) bool { return kind != tList && kind != tDict }

// Pass 2: check.

// check reports whether the value at tape index i fits a target of type
// ti, and returns the index after it. It records in dict keys the struct
// fields they go to.
func (d *directDecoder) check(i int, ti *typeInfo, depth int) (int, bool) {
	// The tape's nesting is bounded by the parse; depth, which also
	// counts pointers, bounds chains of pointer types (type P *P).
	if ti.flags&directFlags != 0 || depth > 4*maxDirectDepth {
		return 0, false
	}
	t := &d.tape[i]
	next := i + 1
	if t.kind == tList || t.kind == tDict {
		next = int(t.end)
	}
	k := ti.kind
	if t.kind == tNone {
		// None stores nil into pointers, slices, (maps and interfaces),
		// and leaves other values as they are.
		return next, k != reflect.Interface && k != reflect.Map
	}
	switch k {
	case reflect.Pointer:
		return d.check(i, ti.elemInfo(), depth+1)
	case reflect.Bool:
		return next, t.kind == tBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if t.kind != tInt {
			return 0, false
		}
		bits := ti.t.Bits()
		x := int64(t.x)
		return next, bits == 64 || x >= -1<<(bits-1) && x < 1<<(bits-1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if t.kind != tInt || int64(t.x) < 0 {
			return 0, false
		}
		bits := ti.t.Bits()
		return next, bits == 64 || t.x < 1<<bits
	case reflect.Float32, reflect.Float64:
		var f float64
		switch t.kind {
		case tFloat:
			f = math.Float64frombits(t.x)
		case tInt:
			f = float64(int64(t.x))
		default:
			return 0, false
		}
		if k == reflect.Float32 {
			// reflect's OverflowFloat for float32.
			if f < 0 {
				f = -f
			}
			return next, !(math.MaxFloat32 < f && f <= math.MaxFloat64)
		}
		return next, true
	case reflect.String:
		return next, t.kind == tStr
	case reflect.Slice:
		if t.kind != tList || ti.flags&isBytes != 0 {
			return 0, false
		}
		eti := ti.elemInfo()
		j := i + 1
		for range t.n {
			var ok bool
			if j, ok = d.check(j, eti, depth+1); !ok {
				return 0, false
			}
		}
		return next, true
	case reflect.Struct:
		if t.kind != tDict {
			return 0, false
		}
		return next, d.checkStruct(i, ti, depth)
	}
	return 0, false
}

// checkStruct checks the dict at tape index i against struct type ti.
func (d *directDecoder) checkStruct(i int, ti *typeInfo, depth int) bool {
	fields := ti.fields
	if len(fields.list) > 64 {
		return false
	}
	var seen uint64
	t := &d.tape[i]
	j := i + 1
	for range t.n {
		key := &d.tape[j]
		if key.kind != tStr {
			return false // a type error: the reference path reports it
		}
		j++
		f := d.lookup(fields, key)
		if f < 0 {
			// An unknown key: its value is ignored.
			key.fld = -1
			v := &d.tape[j]
			j++
			if v.kind == tList || v.kind == tDict {
				j = int(v.end)
			}
			continue
		}
		if seen&(1<<f) != 0 || fields.list[f].viaPtr {
			// A field set twice (the reference path keeps the last
			// value, in the first key's place) or through an embedded
			// pointer.
			return false
		}
		seen |= 1 << f
		key.fld = int32(f)
		var ok bool
		if j, ok = d.check(j, fields.list[f].typeInfo(), depth+1); !ok {
			return false
		}
	}
	return true
}

// lookup returns the index of the field a str key names, or -1, without
// allocating for a name that matches exactly.
func (d *directDecoder) lookup(fields *structFields, key *tapeEnt) int {
	name := d.str(key)
	if len(fields.list) <= 16 {
		for i := range fields.list {
			if fields.list[i].name == string(name) {
				return i
			}
		}
	} else if i, ok := fields.exact[string(name)]; ok {
		return i
	}
	if i, ok := fields.folded[foldName(string(name))]; ok {
		return i
	}
	return -1
}

// Pass 3: store.

// store stores the value at tape index i, which check accepted for ti,
// into v, and returns the index after it.
func (d *directDecoder) store(v reflect.Value, i int, ti *typeInfo) int {
	t := &d.tape[i]
	next := i + 1
	if t.kind == tList || t.kind == tDict {
		next = int(t.end)
	}
	k := ti.kind
	if t.kind == tNone {
		if k == reflect.Pointer || k == reflect.Slice {
			v.SetZero()
		}
		return next
	}
	switch k {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(ti.t.Elem()))
		}
		return d.store(v.Elem(), i, ti.elemInfo())
	case reflect.Bool:
		v.SetBool(t.b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(t.x))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(t.x)
	case reflect.Float32, reflect.Float64:
		if t.kind == tFloat {
			v.SetFloat(math.Float64frombits(t.x))
		} else {
			v.SetFloat(float64(int64(t.x)))
		}
	case reflect.String:
		d.storeString(v, t)
	case reflect.Slice:
		d.storeSlice(v, i, ti)
	case reflect.Struct:
		fields := ti.fields
		j := i + 1
		for range t.n {
			key := &d.tape[j]
			j++
			if key.fld < 0 {
				w := &d.tape[j]
				j++
				if w.kind == tList || w.kind == tDict {
					j = int(w.end)
				}
				continue
			}
			f := &fields.list[key.fld]
			fv := v.Field(f.index[0])
			for _, x := range f.index[1:] {
				fv = fv.Field(x)
			}
			j = d.store(fv, j, f.typeInfo())
		}
	}
	return next
}

// storeString stores a str, reusing the target's string when it is
// already equal, and making each memoized str once.
func (d *directDecoder) storeString(v reflect.Value, t *tapeEnt) {
	var cached *string
	if d.refs && t.n >= 0 {
		for len(d.strs) <= int(t.n) {
			d.strs = append(d.strs, "")
		}
		cached = &d.strs[t.n]
		if *cached != "" {
			v.SetString(*cached)
			return
		}
	}
	b := d.str(t)
	s := v.String()
	if s != string(b) {
		s = string(b)
		v.SetString(s)
	}
	if cached != nil {
		*cached = s
	}
}

// storeSlice stores a list into a slice as storeSlice of the reference
// path does: into the slice's array if it is large enough.
func (d *directDecoder) storeSlice(v reflect.Value, i int, ti *typeInfo) {
	t := &d.tape[i]
	n := int(t.n)
	switch {
	case n == 0 && v.IsNil():
		v.Set(reflect.MakeSlice(ti.t, 0, 0))
	case v.Cap() < n:
		v.SetZero()
		v.Grow(n)
	}
	v.SetLen(n)
	eti := ti.elemInfo()
	j := i + 1
	if eti.kind == reflect.Float64 && eti.flags&directFlags == 0 {
		// The common []float64 (or a named float64 type).
		s := unsafe.Slice((*float64)(v.UnsafePointer()), n)
		for x := range s {
			e := &d.tape[j]
			switch e.kind {
			case tFloat:
				s[x] = math.Float64frombits(e.x)
			case tInt:
				s[x] = float64(int64(e.x))
			default: // None: the element is zeroed and left so
				s[x] = 0
			}
			j++
		}
		return
	}
	for x := range n {
		e := v.Index(x)
		e.SetZero()
		j = d.store(e, j, eti)
	}
}
