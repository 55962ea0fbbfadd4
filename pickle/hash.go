package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

func appendKey(b []byte, k hashKey) []byte {
	b = append(b, k.kind)
	b = binary.LittleEndian.AppendUint64(b, uint64(k.n))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(k.f))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(k.s)))
	return append(b, k.s...)
}

func frozenKey(s *FrozenSet) hashKey {
	keys := make([]string, 0, len(s.items))
	for _, v := range s.items {
		k, _ := keyOf(v) // members are hashable: Add checked them
		keys = append(keys, string(appendKey(nil, k)))
	}
	sort.Strings(keys)
	n := 0
	for _, k := range keys {
		n += len(k)
	}
	b := make([]byte, 0, n)
	for _, k := range keys {
		b = append(b, k...)
	}
	return hashKey{kind: 10, s: string(b)}
}

func ptrString(p any) string { return fmt.Sprintf("%p", p) }

func typeName(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case *Dict:
		return "dict"
	case *Set:
		return "set"
	case ByteArray:
		return "bytearray"
	}
	return fmt.Sprintf("%T", v)
}
