package pickle

import (
	"cmp"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"time"
)

// The Go to Python mapping is documented on [Marshaler].

const (
	// After this many nested pointers, maps and slices, fromGo starts
	// recording the ones on the current path to detect cycles.
	startCycleCheck = 100
	// After this many model containers, fromGo also remembers the ones
	// it is converting, to find cycles. (Containers it had to copy are
	// always remembered, so that shared ones stay shared.)
	startModelMemo = 64
	// maxConvertDepth bounds nesting (and loops of MarshalPickle methods).
	maxConvertDepth = 10000
)

// fromGo converts a Go value into model values (Tuple, Dict, …). See
// [Marshaler] for the mapping.
func fromGo(v reflect.Value) (any, error) {
	var e encState
	return e.value(v)
}

// encState carries the cycle detection of one conversion, and the Go
// containers it has met.
type encState struct {
	depth   int
	ptrSeen map[goPtrKey]struct{} // Go pointers, maps and slices on the current path
	visits  int                   // model containers seen
	memo    map[any]*convEntry    // converted model containers, by identity
	// done holds what each Go pointer, map and slice converted so far
	// became: reached again, it gives the same model value, which the
	// pickler then writes as a memo reference (as CPython's pickler does
	// an object it has written), so that a value decoded from a pickle
	// full of memo references re-encodes in proportion to that pickle,
	// not to the tree it unfolds to.
	done map[goPtrKey]any
	// The Go containers the direct path has written, the first ones in
	// directFew (no allocation for small values), the others in direct:
	// one reached again makes it give up (errDirect), and the reference
	// path writes the value with memo references.
	directN   int
	directFew [8]goPtrKey
	direct    map[goPtrKey]struct{}
}

type goPtrKey struct {
	p uintptr
	n int
	t reflect.Type
}

type convEntry struct {
	result  any
	changed bool
	done    bool
	backref bool // reached again while being converted
}

// sliceID identifies a non-empty []any or Tuple by its storage.
type sliceID struct {
	p     *any
	n     int
	tuple bool
}

func (e *encState) value(v reflect.Value) (any, error) {
	if !v.IsValid() {
		return nil, nil
	}
	return e.typed(v, infoOf(v.Type()))
}

func (e *encState) typed(v reflect.Value, ti *typeInfo) (any, error) {
	if e.depth >= maxConvertDepth {
		return nil, &UnsupportedValueError{Value: v, Str: "nesting deeper than 10000 levels (a loop of MarshalPickle methods?) at " + v.Type().String()}
	}
	e.depth++
	r, err := e.convert(v, ti)
	e.depth--
	return r, err
}

// tracked runs convert for the Go pointer, map or slice v (of type ti),
// with it recorded as on the current path once the path is deep enough
// for a cycle to be possible. A container converted before gives what it
// gave then.
func (e *encState) tracked(v reflect.Value, ti *typeInfo, convert func() (any, error)) (any, error) {
	k, share := containerKey(v, ti)
	if share {
		if r, ok := e.done[k]; ok {
			return r, nil
		}
		if e.wroteDirect(k) {
			return nil, errDirect
		}
	}
	var r any
	var err error
	if e.depth <= startCycleCheck {
		r, err = convert()
	} else {
		if _, ok := e.ptrSeen[k]; ok {
			return nil, &UnsupportedValueError{Value: v, Str: "encountered a cycle via " + v.Type().String()}
		}
		if e.ptrSeen == nil {
			e.ptrSeen = make(map[goPtrKey]struct{})
		}
		e.ptrSeen[k] = struct{}{}
		r, err = convert()
		delete(e.ptrSeen, k)
	}
	if err == nil && share {
		if e.done == nil {
			e.done = make(map[goPtrKey]any)
		}
		e.done[k] = r
	}
	return r, err
}

// containerKey returns the identity of the Go pointer, map or slice v (of
// type ti), and whether it is one of its own: a map's is; a pointer's or
// a slice's is unless what it points at takes no memory (all such
// pointers may be equal), and a slice's only when it is not empty.
func containerKey(v reflect.Value, ti *typeInfo) (goPtrKey, bool) {
	k := goPtrKey{p: v.Pointer(), t: ti.t}
	switch ti.kind {
	case reflect.Slice:
		k.n = v.Len()
		return k, k.n > 0 && ti.elemInfo().t.Size() > 0
	case reflect.Pointer:
		return k, ti.elemInfo().t.Size() > 0
	}
	return k, true
}

// visitDirect records that the direct path writes the Go container v (of
// type ti: a pointer, map or slice), and returns errDirect if it has been
// written or converted before.
func (e *encState) visitDirect(v reflect.Value, ti *typeInfo) error {
	k, share := containerKey(v, ti)
	if !share {
		return nil
	}
	if len(e.done) > 0 {
		if _, ok := e.done[k]; ok {
			return errDirect
		}
	}
	if e.wroteDirect(k) {
		return errDirect
	}
	switch {
	case e.direct != nil:
		e.direct[k] = struct{}{}
	case e.directN < len(e.directFew):
		e.directFew[e.directN] = k
		e.directN++
	default:
		e.direct = make(map[goPtrKey]struct{})
		for _, f := range e.directFew {
			e.direct[f] = struct{}{}
		}
		e.direct[k] = struct{}{}
	}
	return nil
}

// wroteDirect reports whether the direct path has written the Go
// container k.
func (e *encState) wroteDirect(k goPtrKey) bool {
	if e.direct != nil {
		_, ok := e.direct[k]
		return ok
	}
	for _, f := range e.directFew[:e.directN] {
		if f == k {
			return true
		}
	}
	return false
}

func (e *encState) convert(v reflect.Value, ti *typeInfo) (any, error) {
	if ti.flags&(isMarshaler|isPtrMarshaler) != 0 {
		if ti.flags&isMarshaler != 0 {
			if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
				return nil, nil
			}
			return e.marshaler(v, v.Interface().(Marshaler))
		}
		if v.CanAddr() {
			return e.marshaler(v, v.Addr().Interface().(Marshaler))
		}
	}
	switch {
	case ti.flags&isModel != 0:
		r, _, err := e.model(v.Interface())
		return r, err
	case ti.flags&isTime != 0:
		return timeToModel(v.Interface().(time.Time))
	case ti.flags&isBigInt != 0:
		x := v.Interface().(big.Int)
		return new(big.Int).Set(&x), nil
	}
	if ti.flags&(isTextMarshaler|isPtrTextMarshaler) != 0 {
		if ti.flags&isTextMarshaler != 0 {
			if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
				return nil, nil
			}
			return textOf(v, v.Interface().(interface{ MarshalText() ([]byte, error) }))
		}
		if v.CanAddr() {
			return textOf(v, v.Addr().Interface().(interface{ MarshalText() ([]byte, error) }))
		}
	}

	switch v.Kind() {
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := v.Uint()
		if u > math.MaxInt64 {
			return new(big.Int).SetUint64(u), nil
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return v.Float(), nil
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		return complexObject(real(c), imag(c)), nil
	case reflect.String:
		return v.String(), nil
	case reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return e.value(v.Elem())
	case reflect.Pointer:
		if v.IsNil() {
			return nil, nil
		}
		return e.tracked(v, ti, func() (any, error) {
			return e.typed(v.Elem(), ti.elemInfo())
		})
	case reflect.Struct:
		return e.structValue(v, ti)
	case reflect.Map:
		if v.IsNil() {
			return nil, nil
		}
		return e.tracked(v, ti, func() (any, error) {
			return e.mapValue(v, ti)
		})
	case reflect.Slice:
		if v.IsNil() {
			return nil, nil
		}
		if ti.flags&isBytes != 0 {
			return v.Bytes(), nil
		}
		return e.tracked(v, ti, func() (any, error) {
			return e.listValue(v, ti)
		})
	case reflect.Array:
		if ti.flags&isBytes != 0 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			return b, nil
		}
		return e.listValue(v, ti)
	}
	return nil, &UnsupportedTypeError{Type: v.Type()}
}

func (e *encState) marshaler(v reflect.Value, m Marshaler) (any, error) {
	r, err := m.MarshalPickle()
	if err != nil {
		return nil, &MarshalerError{Type: v.Type(), Err: err, Method: "MarshalPickle"}
	}
	if r != nil {
		rt := reflect.TypeOf(r)
		if rt == v.Type() || (v.CanAddr() && rt == reflect.PointerTo(v.Type())) {
			return nil, &MarshalerError{Type: v.Type(), Err: errSelfMarshal, Method: "MarshalPickle"}
		}
	}
	out, _, err := e.model(r)
	return out, err
}

type marshalError string

func (e marshalError) Error() string { return string(e) }

const errSelfMarshal = marshalError("MarshalPickle returned a value of its own type")

func textOf(v reflect.Value, m interface{ MarshalText() ([]byte, error) }) (any, error) {
	b, err := m.MarshalText()
	if err != nil {
		return nil, &MarshalerError{Type: v.Type(), Err: err, Method: "MarshalText"}
	}
	return string(b), nil
}

func (e *encState) structValue(v reflect.Value, ti *typeInfo) (any, error) {
	fields := ti.fields.list
	d := newDictCap(len(fields))
	for i := range fields {
		f := &fields[i]
		fv, ok := fieldByIndex(v, f.index)
		if !ok {
			continue
		}
		if f.omitEmpty && isEmptyValue(fv) {
			continue
		}
		if f.omitZero && f.isZero(fv) {
			continue
		}
		x, err := e.typed(fv, f.typeInfo())
		if err != nil {
			return nil, err
		}
		// Field names are distinct: no need for Set's lookup.
		d.index[f.hash] = len(d.items)
		d.items = append(d.items, Item{Key: f.key, Value: x})
	}
	return d, nil
}

// fieldByIndex follows index from struct v; ok is false when it goes
// through a nil embedded pointer.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// newDictCap returns an empty Dict with room for n items. A small Dict
// and its items are one allocation.
func newDictCap(n int) *Dict {
	var d *Dict
	switch {
	case n <= 4:
		x := new(struct {
			d   Dict
			buf [4]Item
		})
		d = &x.d
		d.items = x.buf[:0]
	case n <= 8:
		x := new(struct {
			d   Dict
			buf [8]Item
		})
		d = &x.d
		d.items = x.buf[:0]
	default:
		d = &Dict{items: make([]Item, 0, n)}
	}
	d.index = make(map[hashKey]int, n)
	return d
}

func (e *encState) listValue(v reflect.Value, ti *typeInfo) (any, error) {
	n := v.Len()
	out := make([]any, n)
	eti := ti.elemInfo()
	for i := range n {
		x, err := e.typed(v.Index(i), eti)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

func (e *encState) mapValue(v reflect.Value, ti *typeInfo) (any, error) {
	kti := ti.keyInfo()
	if !keyTypeOK(kti) {
		return nil, &UnsupportedTypeError{Type: v.Type()}
	}
	eti := ti.elemInfo()
	items := make([]Item, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := e.key(it.Key(), kti)
		if err != nil {
			return nil, err
		}
		if _, ok := keyOf(k); !ok {
			return nil, &UnsupportedValueError{Value: it.Key(), Str: "map key of Go type " + v.Type().Key().String() + " converts to an unhashable Python " + pyValueName(k)}
		}
		x, err := e.typed(it.Value(), eti)
		if err != nil {
			return nil, err
		}
		items = append(items, Item{Key: k, Value: x})
	}
	slices.SortStableFunc(items, func(a, b Item) int { return compareKeys(a.Key, b.Key) })
	d := newDictCap(len(items))
	for _, it := range items {
		if err := d.Set(it.Key, it.Value); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// key converts a map key: as a value, except that arrays become tuples
// (which, unlike lists, are hashable).
func (e *encState) key(v reflect.Value, ti *typeInfo) (any, error) {
	if ti.flags&(isMarshaler|isPtrMarshaler|isTextMarshaler|isPtrTextMarshaler|isModel|isBytes) == 0 {
		switch v.Kind() {
		case reflect.Interface:
			if v.IsNil() {
				return nil, nil
			}
			return e.key(v.Elem(), infoOf(v.Elem().Type()))
		case reflect.Array:
			eti := ti.elemInfo()
			out := make(Tuple, v.Len())
			for i := range out {
				k, err := e.key(v.Index(i), eti)
				if err != nil {
					return nil, err
				}
				out[i] = k
			}
			return out, nil
		}
	}
	return e.typed(v, ti)
}

// keyTypeOK reports whether map keys of this type convert to hashable
// Python values.
func keyTypeOK(ti *typeInfo) bool {
	if ti.flags&(isMarshaler|isTextMarshaler|isModel|isBigInt) != 0 {
		return true
	}
	switch ti.t.Kind() {
	case reflect.String, reflect.Bool, reflect.Interface,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return ti.flags&isBytes != 0 || keyTypeOK(ti.elemInfo())
	}
	return false
}

// keyRank orders Python key types for sorting: None, numbers, str, bytes,
// Python 2 str, tuples, globals, anything else.
func keyRank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case bool, int64, float64, *big.Int:
		return 1
	case string:
		return 2
	case []byte:
		return 3
	case ByteString:
		return 4
	case Tuple:
		return 5
	case Global:
		return 6
	}
	return 7 // objects and frozensets: left in map order
}

// compareKeys is a total order on converted map keys, used to make the
// order of a pickled map deterministic.
func compareKeys(a, b any) int {
	ra, rb := keyRank(a), keyRank(b)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case []byte:
		return strings.Compare(string(x), string(b.([]byte)))
	case ByteString:
		return strings.Compare(string(x), string(b.(ByteString)))
	case Tuple:
		y := b.(Tuple)
		for i := range min(len(x), len(y)) {
			if c := compareKeys(x[i], y[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(x), len(y))
	case bool, int64, float64, *big.Int:
		// Equal numbers of different types (1, 1.0, True) in a fixed
		// order: they collapse into one Python key.
		return cmp.Or(compareNumbers(a, b), cmp.Compare(numberRank(a), numberRank(b)))
	case Global:
		y := b.(Global)
		return cmp.Or(strings.Compare(x.Module, y.Module), strings.Compare(x.Name, y.Name))
	}
	return 0
}

func numberRank(v any) int {
	switch v.(type) {
	case bool:
		return 0
	case int64:
		return 1
	case *big.Int:
		return 2
	}
	return 3
}

func compareNumbers(a, b any) int {
	if x, ok := a.(int64); ok {
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	}
	if x, ok := a.(float64); ok {
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	}
	fa, fb := numberFloat(a), numberFloat(b)
	if fa.IsInf() || fb.IsInf() || fa.Cmp(fb) != 0 {
		return fa.Cmp(fb)
	}
	return 0
}

// numberFloat returns a number key exactly as a big.Float; NaN sorts
// first, as -Inf.
func numberFloat(v any) *big.Float {
	f := new(big.Float).SetPrec(0)
	switch x := v.(type) {
	case bool:
		if x {
			f.SetInt64(1)
		} else {
			f.SetInt64(0)
		}
	case int64:
		f.SetInt64(x)
	case float64:
		if math.IsNaN(x) {
			x = math.Inf(-1)
		}
		f.SetFloat64(x)
	case *big.Int:
		f.SetInt(x)
	}
	return f
}

// model converts the contents of a model value; changed is false when
// it is returned as it is.
func (e *encState) model(x any) (r any, changed bool, err error) {
	if nilModel(x) {
		// A nil *Dict, *big.Int, ... is None.
		return nil, true, nil
	}
	switch m := x.(type) {
	case nil, bool, int64, float64, string, []byte, ByteArray, ByteString, Global, *big.Int:
		return x, false, nil
	case []any:
		if len(m) == 0 {
			return x, false, nil
		}
		return e.memoized(sliceID{&m[0], len(m), false}, x, func() (any, bool, error) {
			out, ch, err := e.modelSlice(m)
			return out, ch, err
		})
	case Tuple:
		if len(m) == 0 {
			return x, false, nil
		}
		return e.memoized(sliceID{&m[0], len(m), true}, x, func() (any, bool, error) {
			out, ch, err := e.modelSlice(m)
			return Tuple(out), ch, err
		})
	case *Dict:
		return e.memoized(m, x, func() (any, bool, error) { return e.modelDict(m) })
	case *Set:
		return e.memoized(m, x, func() (any, bool, error) {
			items, ch, err := e.modelSlice(m.items)
			if err != nil || !ch {
				return x, false, err
			}
			s := NewSet()
			for _, it := range items {
				if err := s.Add(it); err != nil {
					return nil, false, err
				}
			}
			return s, true, nil
		})
	case *FrozenSet:
		return e.memoized(m, x, func() (any, bool, error) {
			items, ch, err := e.modelSlice(m.items)
			if err != nil || !ch {
				return x, false, err
			}
			s := NewFrozenSet()
			for _, it := range items {
				if err := s.Add(it); err != nil {
					return nil, false, err
				}
			}
			return s, true, nil
		})
	case *Object:
		return e.memoized(m, x, func() (any, bool, error) { return e.modelObject(m) })
	}
	r, err = e.value(reflect.ValueOf(x))
	return r, true, err
}

// memoized runs convert for model container x with identity id. A
// container that had to be copied is remembered, so that a container
// shared in x stays shared in the result. Past startModelMemo containers,
// containers being converted are remembered too, to find cycles: a cycle
// is kept as it is when nothing in it changes, and is an error otherwise.
func (e *encState) memoized(id, x any, convert func() (any, bool, error)) (any, bool, error) {
	if m, ok := e.memo[id]; ok {
		if !m.done {
			m.backref = true
			return x, false, nil
		}
		return m.result, m.changed, nil
	}
	e.visits++
	var m *convEntry
	if e.visits > startModelMemo {
		m = &convEntry{}
		e.setMemo(id, m)
	}
	if e.depth >= maxConvertDepth {
		return nil, false, &UnsupportedValueError{Value: reflect.ValueOf(x), Str: "nesting deeper than 10000 levels"}
	}
	e.depth++
	r, changed, err := convert()
	e.depth--
	if err != nil {
		return nil, false, err
	}
	switch {
	case m != nil:
		if changed && m.backref {
			return nil, false, &UnsupportedValueError{Value: reflect.ValueOf(x), Str: "recursive " + pyValueName(x) + " holding Go values that need converting"}
		}
		m.result, m.changed, m.done = r, changed, true
	case changed:
		e.setMemo(id, &convEntry{result: r, changed: true, done: true})
	}
	return r, changed, nil
}

func (e *encState) setMemo(id any, m *convEntry) {
	if e.memo == nil {
		e.memo = make(map[any]*convEntry)
	}
	e.memo[id] = m
}

// modelSlice converts items, copying them only when one changes.
func (e *encState) modelSlice(items []any) ([]any, bool, error) {
	var out []any
	for i, it := range items {
		r, ch, err := e.model(it)
		if err != nil {
			return nil, false, err
		}
		if ch && out == nil {
			out = make([]any, len(items))
			copy(out, items[:i])
		}
		if out != nil {
			out[i] = r
		}
	}
	if out == nil {
		return items, false, nil
	}
	return out, true, nil
}

func (e *encState) modelDict(d *Dict) (any, bool, error) {
	items, ch, err := e.modelItems(d.items)
	if err != nil || !ch {
		return d, false, err
	}
	nd := newDictCap(len(items))
	for _, it := range items {
		if err := nd.Set(it.Key, it.Value); err != nil {
			return nil, false, err
		}
	}
	return nd, true, nil
}

// modelItems converts keys and values, copying them only when one
// changes.
func (e *encState) modelItems(items []Item) ([]Item, bool, error) {
	var out []Item
	for i, it := range items {
		k, kch, err := e.model(it.Key)
		if err != nil {
			return nil, false, err
		}
		v, vch, err := e.model(it.Value)
		if err != nil {
			return nil, false, err
		}
		if (kch || vch) && out == nil {
			out = make([]Item, len(items))
			copy(out, items[:i])
		}
		if out != nil {
			out[i] = Item{Key: k, Value: v}
		}
	}
	if out == nil {
		return items, false, nil
	}
	return out, true, nil
}

func (e *encState) modelObject(o *Object) (any, bool, error) {
	callable, ch1, err := e.model(o.Callable)
	if err != nil {
		return nil, false, err
	}
	args, ch2, err := e.modelSlice(o.Args)
	if err != nil {
		return nil, false, err
	}
	var kwargs any = o.Kwargs
	ch3 := false
	if o.Kwargs != nil {
		if kwargs, ch3, err = e.model(o.Kwargs); err != nil {
			return nil, false, err
		}
	}
	state, ch4, err := e.model(o.State)
	if err != nil {
		return nil, false, err
	}
	list, ch5, err := e.modelSlice(o.ListItems)
	if err != nil {
		return nil, false, err
	}
	items, ch6, err := e.modelItems(o.DictItems)
	if err != nil {
		return nil, false, err
	}
	if !(ch1 || ch2 || ch3 || ch4 || ch5 || ch6) {
		return o, false, nil
	}
	n := *o
	n.Callable, n.State, n.ListItems, n.DictItems = callable, state, list, items
	if o.Args != nil {
		n.Args = Tuple(args)
	}
	if o.Kwargs != nil {
		kd, ok := kwargs.(*Dict)
		if !ok {
			return nil, false, &UnsupportedValueError{Value: reflect.ValueOf(o), Str: "Object.Kwargs converted to a non-dict"}
		}
		n.Kwargs = kd
	}
	return &n, true, nil
}

var (
	complexGlobal   = Global{Module: "builtins", Name: "complex"}
	datetimeGlobal  = Global{Module: "datetime", Name: "datetime"}
	dateGlobal      = Global{Module: "datetime", Name: "date"}
	timezoneGlobal  = Global{Module: "datetime", Name: "timezone"}
	timedeltaGlobal = Global{Module: "datetime", Name: "timedelta"}
)

// complexObject is builtins.complex(re, im), as CPython pickles a complex.
func complexObject(re, im float64) *Object {
	return &Object{Kind: Reduce, Callable: complexGlobal, Args: Tuple{re, im}}
}

// timeToModel is datetime.datetime(<10-byte state>, tzinfo), as CPython
// pickles an aware datetime.
func timeToModel(t time.Time) (any, error) {
	_, off := t.Zone()
	if off%60 != 0 {
		t, off = t.UTC(), 0
	}
	y, mo, d := t.Date()
	if y < 1 || y > 9999 {
		return nil, &UnsupportedValueError{Value: reflect.ValueOf(t), Str: "time.Time year " + t.Format("2006") + " outside Python's datetime range 1 to 9999"}
	}
	h, mi, s := t.Clock()
	us := t.Nanosecond() / 1000
	state := []byte{
		byte(y >> 8), byte(y), byte(mo), byte(d),
		byte(h), byte(mi), byte(s),
		byte(us >> 16), byte(us >> 8), byte(us),
	}
	days, secs := int64(off)/86400, int64(off)%86400
	if secs < 0 {
		days, secs = days-1, secs+86400
	}
	delta := &Object{Kind: Reduce, Callable: timedeltaGlobal, Args: Tuple{days, secs, int64(0)}}
	tz := &Object{Kind: Reduce, Callable: timezoneGlobal, Args: Tuple{delta}}
	return &Object{Kind: Reduce, Callable: datetimeGlobal, Args: Tuple{state, tz}}, nil
}
