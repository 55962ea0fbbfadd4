package pickle

// memoTable maps memoized values to their memo index: a short list
// searched linearly (cheaper than hashing for small messages), then a map.
type memoTable struct {
	list []memoEntry
	m    map[memoKey]uint32
	// seen has the bit memoBit of every key in list: a value whose bit
	// is clear (most values written for the first time) is not there.
	seen uint64
}

// memoBit returns k's bit in memoTable.seen.
func memoBit(k memoKey) uint64 { return 1 << (uintptr(k.p) >> 4 & 63) }

type memoEntry struct {
	k   memoKey
	idx uint32
}

const memoListMax = 24

func (t *memoTable) get(k memoKey) (uint32, bool) {
	if t.m != nil {
		idx, ok := t.m[k]
		return idx, ok
	}
	if t.seen&memoBit(k) == 0 {
		return 0, false
	}
	for i := range t.list {
		if t.list[i].k == k {
			return t.list[i].idx, true
		}
	}
	return 0, false
}

func (t *memoTable) put(k memoKey, idx uint32) {
	if t.m != nil {
		t.m[k] = idx
		return
	}
	t.list = append(t.list, memoEntry{k, idx})
	t.seen |= memoBit(k)
	if len(t.list) > memoListMax {
		t.m = make(map[memoKey]uint32, 2*len(t.list))
		for _, e := range t.list {
			t.m[e.k] = e.idx
		}
	}
}

func (t *memoTable) reset() {
	clear(t.list)
	t.list = t.list[:0]
	t.m = nil
	t.seen = 0
}
