package pickle

import (
	"encoding/binary"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"
)

// fuzzModel builds a model value from data with a small stack machine, so
// the fuzzer can reach odd shapes: shared and recursive containers, big
// ints, objects that look almost like datetimes.
func fuzzModel(data []byte) any {
	var stack []any
	pop := func(n int) []any {
		n = min(n, len(stack))
		out := append([]any(nil), stack[len(stack)-n:]...)
		stack = stack[:len(stack)-n]
		return out
	}
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	globals := []Global{
		datetimeGlobal, dateGlobal, timezoneGlobal, timedeltaGlobal, complexGlobal,
		{Module: "collections", Name: "OrderedDict"}, {Module: "_codecs", Name: "encode"}, {Module: "app", Name: "C"},
	}
	// Sets are few: hashing nested frozensets costs the cube of their
	// depth (hasher.key), which is not what this fuzzes.
	sets := 0
	for len(data) > 0 && len(stack) < 1000 {
		op := next()
		if op%20 == 13 || op%20 == 14 {
			if sets++; sets > 20 {
				continue
			}
		}
		switch op % 20 {
		case 0:
			stack = append(stack, nil)
		case 1:
			stack = append(stack, next()%2 == 1)
		case 2:
			stack = append(stack, int64(int8(next())))
		case 3:
			var b [8]byte
			for i := range b {
				b[i] = next()
			}
			stack = append(stack, int64(binary.LittleEndian.Uint64(b[:])))
		case 4:
			stack = append(stack, new(big.Int).Lsh(big.NewInt(int64(int8(next()))), uint(next())))
		case 5:
			var b [8]byte
			for i := range b {
				b[i] = next()
			}
			stack = append(stack, math.Float64frombits(binary.LittleEndian.Uint64(b[:])))
		case 6, 7, 8, 9:
			n := int(next() % 16)
			b := make([]byte, 0, n)
			for range n {
				b = append(b, next())
			}
			switch op % 20 {
			case 6:
				stack = append(stack, string(b))
			case 7:
				stack = append(stack, b)
			case 8:
				stack = append(stack, ByteString(b))
			default:
				stack = append(stack, ByteArray(b))
			}
		case 10:
			stack = append(stack, pop(int(next()%4)))
		case 11:
			stack = append(stack, Tuple(pop(int(next()%4))))
		case 12:
			items := pop(int(next()%4) * 2)
			d := NewDict()
			for i := 0; i+1 < len(items); i += 2 {
				_ = d.Set(items[i], items[i+1])
			}
			stack = append(stack, d)
		case 13:
			s := NewSet()
			for _, it := range pop(int(next() % 4)) {
				_ = s.Add(it)
			}
			stack = append(stack, s)
		case 14:
			s := NewFrozenSet()
			for _, it := range pop(int(next() % 4)) {
				_ = s.Add(it)
			}
			stack = append(stack, s)
		case 15:
			stack = append(stack, globals[int(next())%len(globals)])
		case 16:
			g := globals[int(next())%len(globals)]
			stack = append(stack, &Object{Kind: ObjectKind(next() % 3), Callable: g, Args: Tuple(pop(int(next() % 4)))})
		case 17:
			if len(stack) > 0 {
				if o, ok := stack[len(stack)-2+1].(*Object); ok && len(stack) > 1 {
					st := stack[len(stack)-2]
					o.HasState, o.State = true, st
					if d, ok := st.(*Dict); ok && next()%2 == 0 {
						o.DictItems = d.Items()
					}
					if l, ok := st.([]any); ok {
						o.ListItems = l
					}
				}
			}
		case 18:
			if len(stack) > 0 {
				stack = append(stack, stack[len(stack)-1]) // shared
			}
		case 19:
			// A recursive list or dict.
			if next()%2 == 0 {
				l := append(pop(int(next()%3)), nil)
				l[len(l)-1] = l
				stack = append(stack, l)
			} else {
				d := NewDict()
				_ = d.Set("self", d)
				stack = append(stack, d)
			}
		}
	}
	if len(stack) == 0 {
		return nil
	}
	return stack[len(stack)-1]
}

type fuzzTarget struct {
	A  int8
	B  []fuzzTarget
	M  map[[2]int]*fuzzTarget
	T  time.Time
	C  complex64
	N  *big.Int
	S  map[string]bool
	X  any
	BS [3]byte
}

func FuzzAssignValue(f *testing.F) {
	f.Add([]byte{2, 5, 6, 1, 'A', 12, 1})
	f.Add([]byte{7, 10, 0x07, 0xe4, 1, 2, 3, 4, 5, 0, 0, 0, 15, 0, 11, 1, 16, 0, 0, 1})
	f.Add([]byte{19, 0, 1, 18, 10, 2})
	f.Add([]byte{4, 1, 200, 2, 3, 11, 2, 6, 1, 'x', 12, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		src := fuzzModel(data)
		targets := []any{
			new(any), new(fuzzTarget), new([]fuzzTarget), new(map[string]fuzzTarget), new(map[[2]int]int),
			new(time.Time), new(complex128), new([]byte), new([2]string), new(Tuple), new(*Dict),
			new(map[any]any), new(uint16), new(float32), new(string), new(rtTuple),
		}
		for _, dst := range targets {
			v := reflect.ValueOf(dst).Elem()
			_ = assignValue(v, src)
		}
		// fromGo on a model value terminates, and gives back the same
		// value: nothing in it needs converting.
		got, err := fromGo(reflect.ValueOf(src))
		if err != nil {
			t.Fatalf("fromGo(model): %v", err)
		}
		if src != nil && reflect.TypeOf(got) != reflect.TypeOf(src) {
			t.Fatalf("fromGo changed the type: %T -> %T", src, got)
		}
	})
}
