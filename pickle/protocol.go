package pickle

// Protocol returns the protocol a pickle declares: the argument of its
// leading PROTO opcode. A pickle without one is protocol 0 or 1 (both come
// only from old Python 2 code); Protocol returns 1 when the first opcode is
// one that only protocol 1 and later use, and 0 otherwise.
func Protocol(data []byte) int {
	if len(data) == 0 {
		return 0
	}
	if data[0] == opProto {
		if len(data) > 1 {
			return int(data[1])
		}
		return 0
	}
	switch data[0] {
	case opEmptyList, opEmptyDict, opEmptyTuple, opBinInt, opBinInt1, opBinInt2,
		opBinFloat, opShortBinString, opBinString, opBinUnicode, opBinPut, opLongBinPut,
		opBinGet, opLongBinGet, opObj, opBinPersID:
		return 1
	}
	return 0
}
