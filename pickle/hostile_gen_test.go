//go:build unix

package pickle

import (
	"bytes"
	"encoding/binary"
)

// Generators of adversarial pickles (issue 14), each about size bytes:
// shapes whose decoding once cost far more than their size. They are the
// seeds of FuzzDecodeCost and the inputs of TestHostileCost and
// TestHostileVersusCPython.

// hostileShapes lists the generators by name.
var hostileShapes = []struct {
	name string
	gen  func(size int) []byte
}{
	{"empty-lists", genEmpty(']')},
	{"empty-dicts", genEmpty('}')},
	{"empty-sets", genEmpty('\x8f')},
	{"bigint-key-setitem", genBigKeySetItem},
	{"bigint-keys-distinct", genBigKeysDistinct},
	{"bigint-tuple-in-set", genBigTupleInSet},
	{"float-keys-2^63", genFloatKeys},
	{"long-str-keys-small-dict", genLongStrKeys},
	{"sparse-memo", genSparseMemo},
	{"nested-empty", genNestedEmpty},
	{"huge-int", genHugeInt},
}

// long4 appends LONG4 with the little-endian two's complement bytes of a
// positive int of n bytes (all 0x5a, top byte below 0x80).
func long4(b []byte, n int) []byte {
	b = append(b, opLong4)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for range n {
		b = append(b, 0x5a)
	}
	return b
}

func binget(b []byte, idx uint32) []byte {
	if idx < 256 {
		return append(b, opBinGet, byte(idx))
	}
	b = append(b, opLongBinGet)
	return binary.LittleEndian.AppendUint32(b, idx)
}

// genEmpty: MARK, then one empty container per byte, gathered by LIST.
func genEmpty(op byte) func(int) []byte {
	return func(size int) []byte {
		b := []byte{opProto, 4, opMark}
		b = append(b, bytes.Repeat([]byte{op}, size)...)
		return append(b, opList, opStop)
	}
}

// genBigKeySetItem: a 4 KB int, memoized, set again and again as the key
// of one dict through memo references (5 bytes per SETITEM).
func genBigKeySetItem(size int) []byte {
	b := []byte{opProto, 4}
	b = long4(b, 4096)
	b = append(b, opMemoize, opPop, opEmptyDict)
	for len(b) < size {
		b = binget(b, 0)
		b = append(b, opBinInt1, 1, opSetItem)
	}
	return append(b, opStop)
}

// genBigKeysDistinct: a dict whose keys are distinct 1 KB ints.
func genBigKeysDistinct(size int) []byte {
	b := []byte{opProto, 4, opEmptyDict, opMark}
	for i := 0; len(b) < size; i++ {
		b = long4(b, 1024)
		binary.LittleEndian.PutUint32(b[len(b)-8:], uint32(i))
		b = append(b, opNone)
	}
	return append(b, opSetItems, opStop)
}

// genBigTupleInSet: sets of one tuple each, the tuple holding references
// to one 4 KB int (2 bytes per reference), 2,000 per tuple.
func genBigTupleInSet(size int) []byte {
	b := []byte{opProto, 4}
	b = long4(b, 4096)
	b = append(b, opMemoize, opPop, opMark)
	for len(b) < size {
		b = append(b, opEmptySet, opMark, opMark)
		for range 2000 {
			b = binget(b, 0)
		}
		b = append(b, opTuple, opAddItems)
	}
	return append(b, opList, opStop)
}

// genFloatKeys: a dict with float keys of integral values above 2^63.
func genFloatKeys(size int) []byte {
	b := []byte{opProto, 4, opEmptyDict, opMark}
	for i := 0; len(b) < size; i++ {
		b = append(b, opBinFloat)
		b = binary.BigEndian.AppendUint64(b, 0x43e0000000000000+uint64(i)) // 2^63 and up
		b = append(b, opNone)
	}
	return append(b, opSetItems, opStop)
}

// genLongStrKeys: dicts of 7 keys, 1 KB str of one length differing in
// their last byte, then SETITEMs through memo references to the last.
func genLongStrKeys(size int) []byte {
	b := []byte{opProto, 4, opEmptyDict}
	for i := range 7 {
		b = append(b, opBinUnicode)
		b = binary.LittleEndian.AppendUint32(b, 1024)
		b = append(b, bytes.Repeat([]byte{'k'}, 1023)...)
		b = append(b, byte('0'+i), opMemoize, opNone, opSetItem)
	}
	for len(b) < size {
		b = binget(b, 6)
		b = append(b, opNone, opSetItem)
	}
	return append(b, opStop)
}

// genSparseMemo: LONG_BINPUT at indices far apart.
func genSparseMemo(size int) []byte {
	b := []byte{opProto, 4, opNone}
	for i := uint32(1); len(b) < size; i++ {
		b = append(b, opLongBinPut)
		b = binary.LittleEndian.AppendUint32(b, i*1023)
	}
	return append(b, opStop)
}

// genNestedEmpty: lists of empty dicts and sets, appended one by one.
func genNestedEmpty(size int) []byte {
	b := []byte{opProto, 4, opEmptyList}
	for len(b) < size {
		b = append(b, opEmptyDict, opAppend, opEmptySet, opAppend, opEmptyList, opAppend, opEmptyTuple, opAppend)
	}
	return append(b, opStop)
}

// genHugeInt: one int of size bytes (2**(8*size) or so), as CPython
// accepts.
func genHugeInt(size int) []byte {
	b := []byte{opProto, 4}
	b = long4(b, size)
	return append(b, opStop)
}
