package managers

import (
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/mpconn/mpconn/pickle"
)

// odict is an insertion-ordered dict keyed with Python's equality
// (1, 1.0 and True are one key), with deletion.
type odict struct {
	keys  []any
	vals  []any
	live  []bool
	index map[string]int
	n     int
}

func newODict() *odict { return &odict{index: map[string]int{}} }

// keyString returns a string equal for keys Python finds equal, or a
// TypeError for unhashable keys.
func keyString(v any) (string, error) {
	var b strings.Builder
	if err := appendKeyString(&b, v, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func appendKeyString(b *strings.Builder, v any, depth int) error {
	if depth > 1000 {
		return NewException("builtins", "RecursionError", "maximum recursion depth exceeded")
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("N")
	case bool:
		if x {
			b.WriteString("i1;")
		} else {
			b.WriteString("i0;")
		}
	case int64:
		b.WriteString("i" + strconv.FormatInt(x, 10) + ";")
	case int:
		b.WriteString("i" + strconv.Itoa(x) + ";")
	case *big.Int:
		b.WriteString("i" + x.String() + ";")
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			bi, _ := big.NewFloat(x).Int(nil)
			b.WriteString("i" + bi.String() + ";")
		} else {
			b.WriteString("f" + strconv.FormatFloat(x, 'g', -1, 64) + ";")
		}
	case string:
		b.WriteString("s" + strconv.Itoa(len(x)) + ":" + x)
	case pickle.ByteString:
		b.WriteString("s" + strconv.Itoa(len(x)) + ":" + string(x))
	case []byte:
		b.WriteString("b" + strconv.Itoa(len(x)) + ":" + string(x))
	case pickle.Tuple:
		b.WriteString("t" + strconv.Itoa(len(x)) + "(")
		for _, e := range x {
			if err := appendKeyString(b, e, depth+1); err != nil {
				return err
			}
		}
	case *pickle.FrozenSet:
		var parts []string
		for _, e := range x.Items() {
			s, err := keyString(e)
			if err != nil {
				return err
			}
			parts = append(parts, s)
		}
		sort.Strings(parts)
		b.WriteString("z" + strconv.Itoa(len(parts)) + "(" + strings.Join(parts, ""))
	case pickle.Global:
		b.WriteString("g" + x.String() + ";")
	case *pickle.Object:
		if !hashable(x) {
			return typeError("unhashable type: '%s'", typeName(x))
		}
		data, err := pickle.Marshal(x)
		if err != nil {
			return err
		}
		b.WriteString("o" + strconv.Itoa(len(data)) + ":" + string(data))
	default:
		return typeError("unhashable type: '%s'", typeName(v))
	}
	return nil
}

func (d *odict) find(k any) (int, string, error) {
	ks, err := keyString(k)
	if err != nil {
		return -1, "", err
	}
	i, ok := d.index[ks]
	if !ok {
		return -1, ks, nil
	}
	return i, ks, nil
}

func (d *odict) get(k any) (any, bool, error) {
	i, _, err := d.find(k)
	if err != nil || i < 0 {
		return nil, false, err
	}
	return d.vals[i], true, nil
}

func (d *odict) set(k, v any) error {
	i, ks, err := d.find(k)
	if err != nil {
		return err
	}
	if i >= 0 {
		d.vals[i] = v
		return nil
	}
	d.index[ks] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	d.live = append(d.live, true)
	d.n++
	return nil
}

func (d *odict) del(k any) (any, bool, error) {
	i, ks, err := d.find(k)
	if err != nil || i < 0 {
		return nil, false, err
	}
	v := d.vals[i]
	delete(d.index, ks)
	d.keys[i], d.vals[i], d.live[i] = nil, nil, false
	d.n--
	if len(d.keys) > 32 && d.n*2 < len(d.keys) {
		d.compact()
	}
	return v, true, nil
}

func (d *odict) compact() {
	keys, vals := make([]any, 0, d.n), make([]any, 0, d.n)
	for i, ok := range d.live {
		if ok {
			keys = append(keys, d.keys[i])
			vals = append(vals, d.vals[i])
		}
	}
	nd := &odict{index: make(map[string]int, d.n)}
	for i := range keys {
		ks, _ := keyString(keys[i])
		nd.index[ks] = i
		nd.live = append(nd.live, true)
	}
	nd.keys, nd.vals, nd.n = keys, vals, len(keys)
	*d = *nd
}

// each calls f for the live items in order.
func (d *odict) each(f func(k, v any)) {
	for i, ok := range d.live {
		if ok {
			f(d.keys[i], d.vals[i])
		}
	}
}

func (d *odict) clear() { *d = *newODict() }

// toDict copies d into a pickle.Dict.
func (d *odict) toDict() *pickle.Dict {
	out := pickle.NewDict()
	d.each(func(k, v any) { out.Set(k, v) })
	return out
}

func (d *odict) repr() string {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	d.each(func(k, v any) {
		if !first {
			b.WriteString(", ")
		}
		first = false
		writeRepr(&b, k, 1)
		b.WriteString(": ")
		writeRepr(&b, v, 1)
	})
	b.WriteByte('}')
	return b.String()
}
