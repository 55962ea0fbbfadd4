package pickle

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/mpconn/mpconn/internal/cpython"
)

// A Go pointer, map or slice reached more than once is written once and
// then referenced from the memo, as CPython writes an object it has
// pickled already. So a value decoded from a pickle full of memo
// references re-encodes in proportion to that pickle, not to the tree it
// unfolds to (2^depth nodes here).

type sharedNode struct {
	V    int           `pickle:"v"`
	Kids []*sharedNode `pickle:"kids"`
}

// sharedTree is Python's
//
//	a = {'v': -1, 'kids': []}
//	for i in range(depth): a = {'v': i, 'kids': [a, a]}
func sharedTree(depth int) *sharedNode {
	n := &sharedNode{V: -1, Kids: []*sharedNode{}}
	for i := range depth {
		n = &sharedNode{V: i, Kids: []*sharedNode{n, n}}
	}
	return n
}

type sharedList []sharedList

// sharedLists is Python's a = [[]]; then depth times a = [a, a].
func sharedLists(depth int) sharedList {
	l := sharedList{sharedList{}}
	for range depth {
		l = sharedList{l, l}
	}
	return l
}

type sharedMap map[string]sharedMap

func sharedMaps(depth int) sharedMap {
	m := sharedMap{}
	for range depth {
		m = sharedMap{"l": m, "r": m}
	}
	return m
}

func TestMarshalSharedGoContainers(t *testing.T) {
	const depth = 18 // 2^18 nodes if unfolded
	for _, c := range []struct {
		name string
		v    any
	}{
		{"pointers", sharedTree(depth)},
		{"slices", sharedLists(depth)},
		{"maps", sharedMaps(depth)},
	} {
		for _, proto := range []int{2, 5} {
			ref, err := marshalReference(c.v, proto)
			if err != nil {
				t.Fatalf("%s: reference path: %v", c.name, err)
			}
			if len(ref) > 40*depth {
				t.Fatalf("%s, protocol %d: %d bytes for %d levels: shared containers were written again", c.name, proto, len(ref), depth)
			}
			got, err := MarshalProtocol(c.v, proto)
			if err != nil || !bytes.Equal(got, ref) {
				t.Fatalf("%s, protocol %d: Marshal gave %d bytes (%v), the reference path %d, first difference at %d", c.name, proto, len(got), err, len(ref), firstDiff(got, ref))
			}
		}
		// Decoded, the two children are one object again.
		data, _ := Marshal(c.v)
		var v any
		if err := Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		var a, b any
		switch x := v.(type) {
		case *Dict:
			if kids, ok := x.Get("kids"); ok {
				a, b = kids.([]any)[0], kids.([]any)[1]
			} else {
				a, _ = x.Get("l")
				b, _ = x.Get("r")
			}
		case []any:
			a, b = x[0], x[1]
		}
		if objectAddr(a) == nil || objectAddr(a) != objectAddr(b) {
			t.Fatalf("%s: the decoded children are not one object: %p %p", c.name, objectAddr(a), objectAddr(b))
		}
	}
}

// firstDiff returns the offset of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// objectAddr returns the address behind a decoded list or dict.
func objectAddr(v any) unsafe.Pointer {
	switch x := v.(type) {
	case []any:
		return unsafe.Pointer(unsafe.SliceData(x))
	case *Dict:
		return unsafe.Pointer(x)
	}
	return nil
}

// TestMarshalSharedDecodedTypedValue: a hostile pickle (a 2^18-node tree
// in a few hundred bytes of memo references) decoded into recursive Go
// types re-encodes to a pickle of the same order of size.
func TestMarshalSharedDecodedTypedValue(t *testing.T) {
	const depth = 18
	for _, c := range []struct {
		name string
		v    any
		into func() any
	}{
		{"pointers", sharedTree(depth), func() any { return new(*sharedNode) }},
		{"slices", sharedLists(depth), func() any { return new(sharedList) }},
		{"maps", sharedMaps(depth), func() any { return new(sharedMap) }},
	} {
		data, err := Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		dst := c.into()
		if err := Unmarshal(data, dst); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		again, err := Marshal(dst)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// The typed decoder copies some shared values (a bounded number)
		// and shares the rest; what it makes is written once each.
		if len(again) > 100*len(data) {
			t.Fatalf("%s: %d-byte pickle decoded and re-encoded to %d bytes", c.name, len(data), len(again))
		}
		checkDirect(t, c.name, dst)
	}
}

// TestMarshalSharingIsIdentity: only the same Go container is shared:
// equal slices with their own arrays, empty slices and pointers to
// zero-size values are not. Each CPython 3 unpickles the pickles
// (protocols 2 and 4) and says which fields are one object.
func TestMarshalSharingIsIdentity(t *testing.T) {
	type zero struct{}
	type pair struct {
		A, B []int
		E, F []int
		M, N map[string]int
		P, Q *zero
	}
	s := []int{1, 2}
	m := map[string]int{"k": 1}
	cases := []struct {
		name string
		v    pair
		want string // A is B, E is F, M is N, P is Q
	}{
		{"one slice, one map", pair{A: s, B: s, E: []int{}, F: []int{}, M: m, N: m, P: &zero{}, Q: &zero{}}, "True False True False"},
		{"equal slices and maps", pair{A: []int{1, 2}, B: []int{1, 2}, E: s[:0], F: s[:0], M: map[string]int{"k": 1}, N: map[string]int{"k": 1}, P: new(zero), Q: new(zero)}, "False False False False"},
		{"one array, two lengths", pair{A: s, B: s[:1], E: s[2:], F: s[2:], M: m, N: map[string]int{"k": 1}, P: &zero{}, Q: &zero{}}, "False False False False"},
	}
	var hexes []string
	for _, c := range cases {
		checkDirect(t, c.name, c.v)
		for _, proto := range []int{2, 4} {
			data, err := MarshalProtocol(c.v, proto)
			if err != nil {
				t.Fatal(err)
			}
			hexes = append(hexes, fmt.Sprintf("%x", data))
		}
	}
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		if !py.AtLeast(3, 4) {
			t.Skipf("%s: protocol 4 pickles are read by 3.4+", py)
		}
		out, err := py.Output(time.Minute, `
import pickle, sys
for h in sys.argv[1:]:
    d = pickle.loads(bytes.fromhex(h))
    print(d['A'] is d['B'], d['E'] is d['F'], d['M'] is d['N'], d['P'] is d['Q'])
`, hexes...)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != len(hexes) {
			t.Fatalf("python printed %q", out)
		}
		for i, line := range lines {
			if c := cases[i/2]; line != c.want {
				t.Errorf("%s, protocol %d: A is B, E is F, M is N, P is Q: %s; want %s", c.name, []int{2, 4}[i%2], line, c.want)
			}
		}
	})
}

// TestMarshalSharedMatchesCPython: the shared tree pickles to CPython's
// bytes for the same Python value, at every protocol from 2.
func TestMarshalSharedMatchesCPython(t *testing.T) {
	const depth = 12
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		if !py.AtLeast(3, 8) {
			t.Skipf("%s: protocol 5 and str keys as Python 3 writes them are compared with 3.8+", py)
		}
		script := fmt.Sprintf(`
import pickle, sys
a = {'v': -1, 'kids': []}
for i in range(%d):
    a = {'v': i, 'kids': [a, a]}
for p in range(2, 6):
    sys.stdout.write(pickle.dumps(a, p).hex() + '\n')
`, depth)
		out, err := py.Output(time.Minute, script)
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Fields(out)
		if len(lines) != 4 {
			t.Fatalf("python printed %q", out)
		}
		tree := sharedTree(depth)
		for i, line := range lines {
			got, err := MarshalProtocol(tree, i+2)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]byte, len(line)/2)
			if _, err := hex.Decode(want, line); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("protocol %d: %d bytes, CPython's %d, first difference at %d", i+2, len(got), len(want), firstDiff(got, want))
			}
		}
	})
}
