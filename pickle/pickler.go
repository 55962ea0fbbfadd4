package pickle

import (
	"encoding/binary"
	"math"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

// memoKey identifies a Go value by identity: its pointer (for slices, the
// backing array and length; for strings, the data and length).
type memoKey struct {
	p    unsafe.Pointer
	n    int
	kind uint8
}

type encodeState struct {
	buf        []byte
	proto      int
	framing    bool
	frameStart int
	memo       memoTable
	gmemo      map[Global]uint32
	memoLen    uint32
	depth      int
	// usedDirect is set when a Go value went the direct path
	// (saveGoRoot); noDirect makes them all take the reference path,
	// fromGo.
	usedDirect, noDirect bool
	// lastT and lastInfo cache the typeInfo of the last Go type given.
	lastT    reflect.Type
	lastInfo *typeInfo
}

func (e *encodeState) reset() {
	e.memo.reset()
	if len(e.gmemo) > 0 {
		clear(e.gmemo)
	}
	e.memoLen = 0
	e.depth = 0
	e.usedDirect = false
}

func (e *encodeState) marshal(v any, proto int) error {
	start := len(e.buf)
	err := e.marshalOnce(v, proto)
	if err != nil && e.usedDirect {
		// The direct path failed: start over on the reference path, for
		// its error.
		e.buf = e.buf[:start]
		e.reset()
		e.noDirect = true
		err = e.marshalOnce(v, proto)
		e.noDirect = false
	}
	return err
}

func (e *encodeState) marshalOnce(v any, proto int) error {
	if e.gmemo == nil {
		e.gmemo = make(map[Global]uint32)
	}
	e.proto = proto
	e.framing = false
	e.frameStart = -1
	e.buf = append(e.buf, opProto, byte(proto))
	if proto >= 4 {
		e.framing = true
	}
	if err := e.save(v); err != nil {
		return err
	}
	e.op(opStop)
	e.commitFrame()
	return nil
}

// open starts a frame if framing is on and none is open, as CPython does
// before each write.
func (e *encodeState) open() {
	if e.framing && e.frameStart < 0 {
		e.frameStart = len(e.buf)
		e.buf = append(e.buf, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	}
}

// commitFrame writes the open frame's header, or removes it when the frame
// is too small to deserve one.
func (e *encodeState) commitFrame() {
	if e.frameStart < 0 {
		return
	}
	n := len(e.buf) - e.frameStart - frameHeaderSize
	if n >= frameSizeMin {
		e.buf[e.frameStart] = opFrame
		binary.LittleEndian.PutUint64(e.buf[e.frameStart+1:], uint64(n))
	} else {
		copy(e.buf[e.frameStart:], e.buf[e.frameStart+frameHeaderSize:])
		e.buf = e.buf[:len(e.buf)-frameHeaderSize]
	}
	e.frameStart = -1
}

func (e *encodeState) op(op byte) {
	e.open()
	e.buf = append(e.buf, op)
}

func (e *encodeState) op1(op, b byte) {
	e.open()
	e.buf = append(e.buf, op, b)
}

// payload writes an opcode with a length header and its data; data of
// 64 KiB or more goes outside any frame, as CPython writes it.
func (e *encodeState) payload(op byte, lenBytes int, data string) {
	big := len(data) >= frameSizeTarget && e.framing
	if big {
		e.commitFrame()
		e.framing = false
	}
	e.open()
	e.buf = append(e.buf, op)
	switch lenBytes {
	case 1:
		e.buf = append(e.buf, byte(len(data)))
	case 4:
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(data)))
	case 8:
		e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(len(data)))
	}
	e.buf = append(e.buf, data...)
	if big {
		e.framing = true
	}
}

func (e *encodeState) memoize() {
	e.memoLen++
	e.putOp(e.memoLen - 1)
}

func (e *encodeState) putOp(idx uint32) {
	if e.proto >= 4 {
		e.op(opMemoize)
	} else if idx < 256 {
		e.op1(opBinPut, byte(idx))
	} else {
		e.open()
		e.buf = append(e.buf, opLongBinPut)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, idx)
	}
}

// memoPut memoizes the value just written, under key k.
func (e *encodeState) memoPut(k memoKey) {
	e.memo.put(k, e.memoLen)
	e.memoize()
}

func (e *encodeState) memoGet(idx uint32) {
	if idx < 256 {
		e.op1(opBinGet, byte(idx))
	} else {
		e.open()
		e.buf = append(e.buf, opLongBinGet)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, idx)
	}
}

// lookup writes a memo GET and returns true when k was memoized.
func (e *encodeState) lookup(k memoKey) bool {
	if idx, ok := e.memo.get(k); ok {
		e.memoGet(idx)
		return true
	}
	return false
}

// Memo key kinds.
const (
	mStr uint8 = iota + 1
	mBytes
	mByteArray
	mByteString
	mList
	mTuple
	mDict
	mSet
	mFrozen
	mObject
)

// strKey returns the identity of a str. The empty string and strings of
// one code point below U+0100 are keyed by value: CPython keeps one object
// for each of them, so they are shared wherever they appear.
func strKey(s string) memoKey {
	switch {
	case len(s) == 0:
		return memoKey{kind: mStr}
	case len(s) == 1 && s[0] < 0x80:
		return memoKey{n: -1 - int(s[0]), kind: mStr}
	case len(s) == 2 && (s[0] == 0xc2 || s[0] == 0xc3) && s[1]&0xc0 == 0x80:
		return memoKey{n: -1 - int(s[0]&0x1f)<<6 - int(s[1]&0x3f), kind: mStr}
	}
	return memoKey{unsafe.Pointer(unsafe.StringData(s)), len(s), mStr}
}

func bytesKey(b []byte, kind uint8) memoKey {
	if len(b) == 0 {
		return memoKey{kind: kind}
	}
	return memoKey{unsafe.Pointer(unsafe.SliceData(b)), len(b), kind}
}

// sliceKey returns the identity of a list or tuple, and false for one with
// no backing array (which has no identity).
func sliceKey(s []any, kind uint8) (memoKey, bool) {
	if cap(s) == 0 {
		return memoKey{}, false
	}
	return memoKey{unsafe.Pointer(unsafe.SliceData(s)), len(s), kind}, true
}

func ptrKey[T any](p *T, kind uint8) memoKey {
	return memoKey{p: unsafe.Pointer(p), kind: kind}
}

// save writes v, then closes the frame if it has reached its target size.
func (e *encodeState) save(v any) error {
	var err error
	switch x := v.(type) {
	case string:
		err = e.saveStr(x)
	case float64:
		e.saveFloat(x)
	case int64:
		e.saveInt(x)
	default:
		err = e.saveValue(v)
	}
	if e.frameStart >= 0 && len(e.buf)-e.frameStart-frameHeaderSize >= frameSizeTarget {
		e.commitFrame()
	}
	return err
}

// checkFrame closes the frame once it has reached its target size, as
// save does after each value.
func (e *encodeState) checkFrame() {
	if e.frameStart >= 0 && len(e.buf)-e.frameStart-frameHeaderSize >= frameSizeTarget {
		e.commitFrame()
	}
}

func (e *encodeState) enter() error {
	e.depth++
	if e.depth > maxEncodeDepth {
		return &LimitError{Limit: "encode depth", Max: maxEncodeDepth}
	}
	return nil
}

func (e *encodeState) saveValue(v any) error {
	switch x := v.(type) {
	case nil:
		e.op(opNone)
	case bool:
		if x {
			e.op(opNewTrue)
		} else {
			e.op(opNewFalse)
		}
	case int64:
		e.saveInt(x)
	case int:
		e.saveInt(int64(x))
	case string:
		return e.saveStr(x)
	case float64:
		e.saveFloat(x)
	case []any:
		return e.saveList(x)
	case *Dict:
		if x == nil {
			e.op(opNone)
			return nil
		}
		return e.saveDict(x)
	case Tuple:
		return e.saveTuple(x)
	case []byte:
		return e.saveBytes(x)
	case *Object:
		if x == nil {
			e.op(opNone)
			return nil
		}
		return e.saveObject(x)
	case Global:
		return e.saveGlobal(x)
	case *Set:
		if x == nil {
			e.op(opNone)
			return nil
		}
		return e.saveSet(x)
	case *FrozenSet:
		if x == nil {
			e.op(opNone)
			return nil
		}
		return e.saveFrozenSet(x)
	case ByteArray:
		return e.saveByteArray(x)
	case ByteString:
		return e.saveByteString(x)
	case *big.Int:
		if x == nil {
			e.op(opNone)
			return nil
		}
		if x.IsInt64() {
			e.saveInt(x.Int64())
		} else {
			e.saveBigInt(x)
		}
	case int8:
		e.saveInt(int64(x))
	case int16:
		e.saveInt(int64(x))
	case int32:
		e.saveInt(int64(x))
	case uint8:
		e.saveInt(int64(x))
	case uint16:
		e.saveInt(int64(x))
	case uint32:
		e.saveInt(int64(x))
	case uint:
		e.saveUint(uint64(x))
	case uint64:
		e.saveUint(x)
	case uintptr:
		e.saveUint(uint64(x))
	case float32:
		e.saveFloat(float64(x))
	case map[string]any:
		return e.saveStringMap(x)
	case *listBuilder:
		// Cannot escape the decoder; guard anyway.
		return &UnsupportedValueError{Value: v, Str: "internal list builder"}
	default:
		if err := e.enter(); err != nil {
			return err
		}
		if !e.noDirect {
			err := e.saveGoRoot(reflect.ValueOf(v))
			e.depth--
			return err
		}
		w, err := fromGo(reflect.ValueOf(v))
		if err != nil {
			return err
		}
		err = e.saveValue(w)
		e.depth--
		return err
	}
	return nil
}

func (e *encodeState) saveInt(x int64) {
	switch {
	case x >= 0 && x <= 0xff:
		e.op1(opBinInt1, byte(x))
	case x >= 0 && x <= 0xffff:
		e.open()
		e.buf = append(e.buf, opBinInt2, byte(x), byte(x>>8))
	case x >= math.MinInt32 && x <= math.MaxInt32:
		e.open()
		e.buf = append(e.buf, opBinInt)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(x))
	default:
		// LONG1 with the shortest little-endian two's complement form.
		n := 8
		for n > 1 {
			top := byte(x >> (8 * (n - 1)))
			next := byte(x >> (8 * (n - 2)))
			if (top == 0 && next&0x80 == 0) || (top == 0xff && next&0x80 != 0) {
				n--
				continue
			}
			break
		}
		e.open()
		e.buf = append(e.buf, opLong1, byte(n))
		for i := 0; i < n; i++ {
			e.buf = append(e.buf, byte(x>>(8*i)))
		}
	}
}

func (e *encodeState) saveUint(x uint64) {
	if x <= math.MaxInt64 {
		e.saveInt(int64(x))
		return
	}
	e.saveBigInt(new(big.Int).SetUint64(x))
}

// saveBigInt writes LONG1 or LONG4 with the shortest two's complement form.
func (e *encodeState) saveBigInt(x *big.Int) {
	// The shortest little-endian two's complement: the magnitude's bytes
	// (of |x|, or of |x|-1 complemented for a negative x) and a sign byte
	// when the top bit does not give the sign.
	m := x
	if x.Sign() < 0 {
		m = new(big.Int).Neg(x)
		m.Sub(m, big.NewInt(1))
	}
	n := (m.BitLen() + 7) / 8
	if m.BitLen()%8 == 0 {
		n++ // room for the sign
	}
	e.open()
	if n < 256 {
		e.buf = append(e.buf, opLong1, byte(n))
	} else {
		e.buf = append(e.buf, opLong4)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(n))
	}
	if cap(e.buf)-len(e.buf) < n {
		// Double: a pickle that refers to one long int many times is
		// written out in full each time (as CPython does), and growing
		// its output by append's quarter steps would copy it many times.
		nb := make([]byte, len(e.buf), max(2*cap(e.buf), len(e.buf)+n))
		copy(nb, e.buf)
		e.buf = nb
	}
	b := e.buf[len(e.buf) : len(e.buf)+n]
	m.FillBytes(b) // big-endian
	slices.Reverse(b)
	if x.Sign() < 0 {
		for i := range b {
			b[i] = ^b[i]
		}
	}
	e.buf = e.buf[:len(e.buf)+n]
}

func (e *encodeState) saveFloat(f float64) {
	e.open()
	e.buf = append(e.buf, opBinFloat)
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
}

func (e *encodeState) saveStr(s string) error {
	k := strKey(s)
	if e.lookup(k) {
		return nil
	}
	if !validPyUTF8String(s) {
		return &UnsupportedValueError{Value: s, Str: "string is not valid UTF-8: " + strconv.Quote(truncate(s))}
	}
	if len(s) <= 0xff && e.proto >= 4 {
		// The common case, written in one go: SHORT_BINUNICODE, the
		// string, MEMOIZE (payload and memoPut, inlined).
		e.open()
		e.buf = append(e.buf, opShortBinUnicode, byte(len(s)))
		e.buf = append(e.buf, s...)
		e.buf = append(e.buf, opMemoize)
		e.memo.put(k, e.memoLen)
		e.memoLen++
		return nil
	}
	switch {
	case uint64(len(s)) > 0xffffffff:
		if e.proto < 4 {
			return &UnsupportedValueError{Value: "", Str: "str larger than 4 GiB needs protocol 4"}
		}
		e.payload(opBinUnicode8, 8, s)
	default:
		e.payload(opBinUnicode, 4, s)
	}
	e.memoPut(k)
	return nil
}

func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (e *encodeState) saveBytes(b []byte) error {
	k := bytesKey(b, mBytes)
	if e.lookup(k) {
		return nil
	}
	if e.proto < 3 {
		// Python 2 has no bytes: write what CPython 3 writes, which 2.7
		// loads as str and 3.x as bytes.
		var err error
		if len(b) == 0 {
			err = e.saveReduce(Global{"builtins", "bytes"}, nil)
		} else {
			err = e.saveLatin1(b)
		}
		if err != nil {
			return err
		}
		e.memoPut(k)
		return nil
	}
	switch {
	case len(b) <= 0xff:
		e.payload(opShortBinBytes, 1, bstr(b))
	case uint64(len(b)) <= 0xffffffff:
		e.payload(opBinBytes, 4, bstr(b))
	default:
		if e.proto < 4 {
			return &UnsupportedValueError{Value: "", Str: "bytes larger than 4 GiB needs protocol 4"}
		}
		e.payload(opBinBytes8, 8, bstr(b))
	}
	e.memoPut(k)
	return nil
}

// saveLatin1 writes _codecs.encode(b decoded as Latin-1, 'latin1'), the
// decoded string being a temporary that must not be confused (by its
// address) with any other string.
func (e *encodeState) saveLatin1(b []byte) error {
	if err := e.save(Global{"_codecs", "encode"}); err != nil {
		return err
	}
	s := latin1Str(b)
	if len(b) == 1 {
		// A one-character str is shared by value (see strKey).
		if err := e.save(s); err != nil {
			return err
		}
	} else {
		if uint64(len(s)) > 0xffffffff {
			return &UnsupportedValueError{Value: "", Str: "bytes larger than 4 GiB needs protocol 4"}
		}
		e.payload(opBinUnicode, 4, s)
		e.memoize()
	}
	if err := e.save(latin1Name); err != nil {
		return err
	}
	e.op(opTuple2)
	e.memoize()
	e.op(opReduce)
	return nil
}

// latin1Name is one string, so that every bytes object shares it in the
// memo, as CPython's interned 'latin1' is.
var latin1Name = "latin1"

// latin1Str decodes b as Latin-1.
func latin1Str(b []byte) string {
	out := make([]byte, 0, len(b)+len(b)/4)
	for _, c := range b {
		if c < 0x80 {
			out = append(out, c)
		} else {
			out = append(out, 0xc0|c>>6, 0x80|c&0x3f)
		}
	}
	return string(out)
}

func (e *encodeState) saveByteArray(b ByteArray) error {
	k := bytesKey(b, mByteArray)
	if e.lookup(k) {
		return nil
	}
	if e.proto >= 5 {
		e.payload(opByteArray8, 8, bstr(b))
		e.memoPut(k)
		return nil
	}
	var args Tuple
	if len(b) > 0 {
		args = Tuple{[]byte(b)}
	}
	if err := e.saveReduce(Global{"builtins", "bytearray"}, args); err != nil {
		return err
	}
	e.memoPut(k)
	return nil
}

func (e *encodeState) saveByteString(s ByteString) error {
	k := strKey(string(s))
	k.kind = mByteString
	if e.lookup(k) {
		return nil
	}
	if len(s) < 256 {
		e.payload(opShortBinString, 1, string(s))
	} else if int64(len(s)) <= math.MaxInt32 {
		e.payload(opBinString, 4, string(s))
	} else {
		return &UnsupportedValueError{Value: "", Str: "Python 2 str larger than 2 GiB"}
	}
	e.memoPut(k)
	return nil
}

// saveReduce writes callable(*args) with REDUCE (the caller memoizes).
func (e *encodeState) saveReduce(callable any, args Tuple) error {
	if err := e.save(callable); err != nil {
		return err
	}
	if err := e.save(args); err != nil {
		return err
	}
	e.op(opReduce)
	return nil
}

func (e *encodeState) saveList(l []any) error {
	k, ok := sliceKey(l, mList)
	if ok && e.lookup(k) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	e.op(opEmptyList)
	if ok {
		e.memoPut(k)
	} else {
		e.memoize()
	}
	err := e.appendsExact(l)
	e.depth--
	return err
}

// appendsExact writes a list's items as CPython does for an exact list.
func (e *encodeState) appendsExact(l []any) error {
	if len(l) == 0 {
		return nil
	}
	if len(l) == 1 {
		if err := e.save(l[0]); err != nil {
			return err
		}
		e.op(opAppend)
		return nil
	}
	for i := 0; i < len(l); {
		e.op(opMark)
		for n := 0; n < batchSize && i < len(l); n++ {
			if f, ok := l[i].(float64); ok {
				// save, with the usual float written at once.
				e.saveFloat(f)
				e.checkFrame()
			} else if err := e.save(l[i]); err != nil {
				return err
			}
			i++
		}
		e.op(opAppends)
	}
	return nil
}

// appendsGeneric writes items appended to an object, as CPython's
// batch_appends does for an iterator.
func (e *encodeState) appendsGeneric(l []any) error {
	for i := 0; i < len(l); {
		if len(l)-i == 1 {
			if err := e.save(l[i]); err != nil {
				return err
			}
			e.op(opAppend)
			return nil
		}
		e.op(opMark)
		for n := 0; n < batchSize && i < len(l); n++ {
			if err := e.save(l[i]); err != nil {
				return err
			}
			i++
		}
		e.op(opAppends)
	}
	return nil
}

func (e *encodeState) saveTuple(t Tuple) error {
	if len(t) == 0 {
		e.op(opEmptyTuple)
		return nil
	}
	k, _ := sliceKey(t, mTuple)
	if e.lookup(k) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if len(t) <= 3 {
		for _, v := range t {
			if err := e.save(v); err != nil {
				return err
			}
		}
		if idx, ok := e.memo.get(k); ok {
			// Recursive: the tuple was written while writing its items.
			for range t {
				e.op(opPop)
			}
			e.memoGet(idx)
			return nil
		}
		e.op(opTuple1 + byte(len(t)-1))
		e.memoPut(k)
		return nil
	}
	e.op(opMark)
	for _, v := range t {
		if err := e.save(v); err != nil {
			return err
		}
	}
	if idx, ok := e.memo.get(k); ok {
		e.op(opPopMark)
		e.memoGet(idx)
		return nil
	}
	e.op(opTuple)
	e.memoPut(k)
	return nil
}

func (e *encodeState) saveDict(d *Dict) error {
	k := ptrKey(d, mDict)
	if e.lookup(k) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	e.op(opEmptyDict)
	e.memoPut(k)
	err := e.setItemsExact(d.items)
	e.depth--
	return err
}

func (e *encodeState) saveItem(it Item) error {
	if err := e.save(it.Key); err != nil {
		return err
	}
	return e.save(it.Value)
}

// setItemsExact writes a dict's items as CPython does for an exact dict
// (including its empty last batch when the size is a multiple of 1000).
func (e *encodeState) setItemsExact(items []Item) error {
	if len(items) == 0 {
		return nil
	}
	if len(items) == 1 {
		if err := e.saveItem(items[0]); err != nil {
			return err
		}
		e.op(opSetItem)
		return nil
	}
	i := 0
	for {
		e.op(opMark)
		n := 0
		for ; n < batchSize && i < len(items); n++ {
			it := &items[i]
			var err error
			if k, ok := it.Key.(string); ok {
				// saveItem, with the usual str key written at once.
				err = e.saveStr(k)
				e.checkFrame()
			} else {
				err = e.save(it.Key)
			}
			if err == nil {
				err = e.save(it.Value)
			}
			if err != nil {
				return err
			}
			i++
		}
		e.op(opSetItems)
		if n != batchSize {
			return nil
		}
	}
}

// setItemsGeneric writes items set on an object, as CPython's
// batch_setitems does for an iterator.
func (e *encodeState) setItemsGeneric(items []Item) error {
	for i := 0; i < len(items); {
		if len(items)-i == 1 {
			if err := e.saveItem(items[i]); err != nil {
				return err
			}
			e.op(opSetItem)
			return nil
		}
		e.op(opMark)
		for n := 0; n < batchSize && i < len(items); n++ {
			if err := e.saveItem(items[i]); err != nil {
				return err
			}
			i++
		}
		e.op(opSetItems)
	}
	return nil
}

func (e *encodeState) saveStringMap(m map[string]any) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	e.op(opEmptyDict)
	e.memoize()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	items := make([]Item, len(keys))
	for i, k := range keys {
		items[i] = Item{k, m[k]}
	}
	return e.setItemsExact(items)
}

// saveMembers writes set members in batches, as CPython's save_set.
func (e *encodeState) saveMembers(items []any) error {
	if len(items) == 0 {
		return nil
	}
	i := 0
	for {
		e.op(opMark)
		n := 0
		for ; n < batchSize && i < len(items); n++ {
			if err := e.save(items[i]); err != nil {
				return err
			}
			i++
		}
		e.op(opAddItems)
		if n != batchSize {
			return nil
		}
	}
}

// saveTempList writes a list that exists only as a REDUCE argument.
func (e *encodeState) saveTempList(items []any) error {
	e.op(opEmptyList)
	e.memoize()
	err := e.appendsExact(items)
	if err == nil && e.frameStart >= 0 && len(e.buf)-e.frameStart-frameHeaderSize >= frameSizeTarget {
		e.commitFrame()
	}
	return err
}

// saveSetReduce writes set(list) or frozenset(list) for protocols below 4.
func (e *encodeState) saveSetReduce(name string, items []any, k memoKey) error {
	if err := e.save(Global{"builtins", name}); err != nil {
		return err
	}
	if err := e.saveTempList(items); err != nil {
		return err
	}
	e.op(opTuple1)
	e.memoize()
	e.op(opReduce)
	if idx, ok := e.memo.get(k); ok {
		e.op(opPop)
		e.memoGet(idx)
		return nil
	}
	e.memoPut(k)
	return nil
}

func (e *encodeState) saveSet(s *Set) error {
	k := ptrKey(s, mSet)
	if e.lookup(k) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if e.proto < 4 {
		return e.saveSetReduce("set", s.items, k)
	}
	e.op(opEmptySet)
	e.memoPut(k)
	return e.saveMembers(s.items)
}

func (e *encodeState) saveFrozenSet(s *FrozenSet) error {
	k := ptrKey(s, mFrozen)
	if e.lookup(k) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if e.proto < 4 {
		return e.saveSetReduce("frozenset", s.items, k)
	}
	e.op(opMark)
	for _, v := range s.items {
		if err := e.save(v); err != nil {
			return err
		}
	}
	if idx, ok := e.memo.get(k); ok {
		e.op(opPopMark)
		e.memoGet(idx)
		return nil
	}
	e.op(opFrozenSet)
	e.memoPut(k)
	return nil
}

func (e *encodeState) saveGlobal(g Global) error {
	if idx, ok := e.gmemo[g]; ok {
		e.memoGet(idx)
		return nil
	}
	if e.proto >= 4 {
		if err := e.save(g.Module); err != nil {
			return err
		}
		if err := e.save(g.Name); err != nil {
			return err
		}
		e.op(opStackGlobal)
	} else if i := strings.LastIndexByte(g.Name, '.'); i >= 0 && dotted(g.Name) {
		// A nested qualified name: getattr(parent, name), as CPython
		// writes it below protocol 4.
		if err := e.saveReduce(Global{"builtins", "getattr"},
			Tuple{Global{g.Module, g.Name[:i]}, g.Name[i+1:]}); err != nil {
			return err
		}
	} else {
		m, n := g.Module, g.Name
		if e.proto < 3 {
			if h, ok := nameMapping3to2[g]; ok {
				m, n = h.Module, h.Name
			} else if m2, ok := importMapping3to2[m]; ok {
				m = m2
			}
		}
		if strings.ContainsAny(m, "\n") || strings.ContainsAny(n, "\n") || m == "" || n == "" {
			return &UnsupportedValueError{Value: g, Str: "global name " + strconv.Quote(g.qualName())}
		}
		e.open()
		e.buf = append(e.buf, opGlobal)
		e.buf = append(e.buf, m...)
		e.buf = append(e.buf, '\n')
		e.buf = append(e.buf, n...)
		e.buf = append(e.buf, '\n')
	}
	e.gmemo[g] = e.memoLen
	e.memoize()
	return nil
}

// dotted reports whether name is a qualified name with no empty part.
func dotted(name string) bool {
	for _, part := range strings.Split(name, ".") {
		if part == "" {
			return false
		}
	}
	return true
}

func (e *encodeState) saveObject(o *Object) error {
	k := ptrKey(o, mObject)
	if e.lookup(k) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	switch o.Kind {
	case Reduce:
		if err := e.saveReduce(o.Callable, o.Args); err != nil {
			return err
		}
	case NewObj:
		if err := e.save(o.Callable); err != nil {
			return err
		}
		if err := e.save(o.Args); err != nil {
			return err
		}
		e.op(opNewObj)
	case NewObjEx:
		kw := o.Kwargs
		if kw == nil {
			kw = &Dict{}
		}
		if e.proto >= 4 {
			if err := e.save(o.Callable); err != nil {
				return err
			}
			if err := e.save(o.Args); err != nil {
				return err
			}
			if err := e.save(kw); err != nil {
				return err
			}
			e.op(opNewObjEx)
		} else {
			args := o.Args
			if args == nil {
				args = Tuple{}
			}
			if err := e.saveReduce(Global{"copyreg", "__newobj_ex__"}, Tuple{o.Callable, args, kw}); err != nil {
				return err
			}
		}
	case Inst:
		e.op(opMark)
		if err := e.save(o.Callable); err != nil {
			return err
		}
		for _, a := range o.Args {
			if err := e.save(a); err != nil {
				return err
			}
		}
		e.op(opObj)
	default:
		return &UnsupportedValueError{Value: o, Str: "object kind " + o.Kind.String()}
	}
	if idx, ok := e.memo.get(k); ok {
		// Recursive: written while writing its arguments.
		e.op(opPop)
		e.memoGet(idx)
		return nil
	}
	e.memoPut(k)
	if err := e.appendsGeneric(o.ListItems); err != nil {
		return err
	}
	if err := e.setItemsGeneric(o.DictItems); err != nil {
		return err
	}
	if o.HasState {
		if err := e.save(o.State); err != nil {
			return err
		}
		e.op(opBuild)
	}
	return nil
}
