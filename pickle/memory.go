package pickle

import "unsafe"

// Memory accounting: every opcode is charged, before it runs, about the
// bytes of structure it makes the decoder allocate (the object it creates,
// the stack slot of what it pushes, the slots of the items it moves into
// a container, memo entries), so that Limits.MaxMemory bounds what one
// pickle can make the receiver hold. The copies of str, bytes and int
// payloads are not counted: they are no larger than the input, which
// MaxMessageSize bounds.

// Approximate sizes, in bytes.
const (
	memSlot   = 24 // a stack slot (16) and its height (4), rounded up
	memItem   = 16 // a list or tuple slot
	memDictIt = 64 // a dict item, with its index entry
	memSetIt  = 80 // a set member, with its index entry
	memBox    = 16 // a boxed scalar
	memMemo   = 16 // a memo slot
	memSparse = 64 // a sparse memo entry
)

// opMem is the fixed charge of each opcode; items moved into containers
// are charged by count where the opcode runs (chargeItems).
var opMem = func() (t [256]uint16) {
	for i := range t {
		t[i] = memSlot + memBox // anything that pushes a scalar
	}
	t[opMark] = 8
	t[opStop], t[opPop], t[opPopMark], t[opFrame], t[opProto], t[opBuild] = 0, 0, 0, 0, 0, 0
	t[opMemoize], t[opPut], t[opBinPut] = memMemo, memMemo, memMemo
	t[opLongBinPut] = memSparse
	t[opEmptyList] = uint16(unsafe.Sizeof(listBuilder{})) + 8 + 24 + memSlot
	t[opList] = t[opEmptyList]
	t[opEmptyDict] = uint16(unsafe.Sizeof(Dict{})) + memSlot
	t[opDict] = t[opEmptyDict]
	t[opEmptySet] = uint16(unsafe.Sizeof(Set{})) + memSlot
	t[opFrozenSet] = t[opEmptySet]
	t[opEmptyTuple] = memSlot
	t[opTuple], t[opTuple1], t[opTuple2], t[opTuple3] = 24+memSlot, 24+memSlot+memItem, 24+memSlot+2*memItem, 24+memSlot+3*memItem
	obj := uint16(unsafe.Sizeof(Object{})) + memSlot
	t[opReduce], t[opNewObj], t[opNewObjEx], t[opInst], t[opObj] = obj, obj, obj, obj, obj
	t[opAppend] = memItem
	t[opSetItem] = memDictIt
	t[opAppends], t[opSetItems], t[opAddItems] = 0, 0, 0
	return t
}()

// memLimit returns the error for a decode over Limits.MaxMemory.
func (st *decodeState) memLimit() error {
	return &LimitError{Limit: "memory", Max: st.limits.MaxMemory, Offset: st.opOff}
}

// chargeMem adds n bytes to the decode's memory account.
func (st *decodeState) chargeMem(n int) error {
	st.mem += int64(n)
	if st.mem > st.limits.MaxMemory {
		return st.memLimit()
	}
	return nil
}

// chargeItems charges the n items (keys and values counted apart) that a
// container opcode moves from the stack into a container.
func (st *decodeState) chargeItems(op byte, n int) error {
	switch op {
	case opDict, opSetItems:
		return st.chargeMem(n / 2 * memDictIt)
	case opFrozenSet, opAddItems:
		return st.chargeMem(n * memSetIt)
	}
	return st.chargeMem(n * memItem)
}
