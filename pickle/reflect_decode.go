package pickle

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// The Python to Go mapping is documented on [Unmarshaler].

const (
	// After this many containers, assignValue remembers the ones it has
	// stored, so a container the pickle shares is stored once (and a
	// pickle of many shared references cannot make the work explode), and
	// cycles are found.
	startDecodeMemo = 1024
	maxDecodeDepth  = 10000
)

// assignValue stores the model value src into dst, which must be
// settable. See [Unmarshaler] for the mapping. Type mismatches are
// collected: the first *UnmarshalTypeError is returned after everything
// else has been stored.
func assignValue(dst reflect.Value, src any) error {
	return assignValueOptions(dst, src, assignOptions{})
}

// assignOptions are the Decoder settings the typed layer honours.
type assignOptions struct {
	// disallowUnknownFields makes a dict key that matches no struct field
	// an error (collected like a type mismatch), as
	// json.Decoder.DisallowUnknownFields does.
	disallowUnknownFields bool
}

// assignValueOptions is assignValue with Decoder settings.
func assignValueOptions(dst reflect.Value, src any, opts assignOptions) error {
	if !dst.IsValid() {
		return &InvalidUnmarshalError{}
	}
	if !dst.CanSet() {
		return &InvalidUnmarshalError{Type: dst.Type()}
	}
	d := decState{opts: opts}
	if err := d.assign(dst, infoOf(dst.Type()), src); err != nil {
		return err
	}
	if ute, ok := d.saved.(*UnmarshalTypeError); ok {
		ute.Field = d.traceString()
		ute.in = d.errTarget()
	}
	return d.saved
}

type decState struct {
	opts  assignOptions
	saved error // the first type error
	errs  int   // type errors seen, saved or not
	// trace is the path to the first error, innermost first: each
	// struct or map level adds its field or key when the first error
	// happened below it, so nothing is tracked until an error.
	trace []pathElem
	// keyErr: the first error is a dict key that did not fit the Go
	// map's key type.
	keyErr bool
	depth  int
	ptrRun int // pointers followed since the last container
	visits int
	memo   map[decMemoKey]*decMemo
}

type pathElem struct {
	name  string // a struct field's pickle name, or
	key   any    // a map key
	isKey bool
	inMap bool // the key is a Go map's (not a struct's dict key)
}

type decMemoKey struct {
	id any
	t  reflect.Type
}

type decMemo struct {
	v    reflect.Value // the stored value, once done
	done bool
}

// typeError records a mismatch; decoding goes on.
func (d *decState) typeError(value string, t reflect.Type) {
	d.errs++
	if d.saved == nil {
		d.saved = &UnmarshalTypeError{Value: value, Type: t}
	}
}

func (d *decState) mismatch(src any, t reflect.Type) {
	if d.saved == nil {
		d.typeError(pyValueName(src), t)
	} else {
		d.errs++
	}
}

// traced adds a level to the path of the first error if it happened
// while that level was being stored (hadErr is whether there was an
// error before).
func (d *decState) traced(hadErr bool, p pathElem) {
	if !hadErr && d.saved != nil {
		d.trace = append(d.trace, p)
	}
}

// errTarget names what the first error failed to store into, for its
// message: a map's key or value (when the innermost level of its path is
// a map), or else a struct field.
func (d *decState) errTarget() string {
	switch {
	case len(d.trace) == 0 || !d.trace[0].inMap:
		return ""
	case d.keyErr:
		return "map key"
	}
	return "map value"
}

func (d *decState) traceString() string {
	if len(d.trace) == 0 {
		return ""
	}
	var b strings.Builder
	for i := len(d.trace) - 1; i >= 0; i-- {
		p := d.trace[i]
		if i < len(d.trace)-1 {
			b.WriteByte('.')
		}
		if !p.isKey {
			b.WriteString(p.name)
			continue
		}
		writeKey(&b, p.key, 0)
	}
	return b.String()
}

// writeKey writes a dict key for an error's field path: text as it is,
// other keys much as Python shows them, cut short when long.
func writeKey(b *strings.Builder, k any, depth int) {
	const maxText, maxItems = 100, 8
	if depth > 8 {
		b.WriteString("...")
		return
	}
	switch k := k.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if k {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case string:
		writeShort(b, k, maxText)
	case ByteString:
		writeShort(b, string(k), maxText)
	case int64:
		b.WriteString(strconv.FormatInt(k, 10))
	case float64:
		b.WriteString(strconv.FormatFloat(k, 'g', -1, 64))
	case []byte:
		b.WriteString(strconv.Quote(string(k[:min(len(k), maxText)])))
	case Tuple:
		b.WriteByte('(')
		for i, e := range k {
			if i > 0 {
				b.WriteString(", ")
			}
			if i == maxItems {
				b.WriteString("...")
				break
			}
			writeKey(b, e, depth+1)
		}
		if len(k) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	default:
		// Only the type: objects may hold anything, even themselves.
		b.WriteString(pyValueName(k))
	}
}

// writeShort writes at most about n bytes of s, not splitting a rune.
func writeShort(b *strings.Builder, s string, n int) {
	if len(s) <= n {
		b.WriteString(s)
		return
	}
	for i := range s {
		if i >= n {
			b.WriteString(s[:i])
			b.WriteString("...")
			return
		}
	}
	b.WriteString(s)
}

func (d *decState) assign(v reflect.Value, ti *typeInfo, src any) error {
	if nilModel(src) {
		// Never made by decoding; not to be dereferenced.
		d.mismatch(src, ti.t)
		return nil
	}
	// The same Go type: store it as it is (a *big.Int is copied).
	if src != nil && reflect.TypeOf(src) == ti.t && ti.t != bigIntPtrType {
		v.Set(reflect.ValueOf(src))
		return nil
	}
	if ti.flags&isUnmarshaler != 0 && v.Kind() != reflect.Pointer && v.CanAddr() {
		return v.Addr().Interface().(Unmarshaler).UnmarshalPickle(src)
	}
	switch v.Kind() {
	case reflect.Pointer:
		if src == nil {
			v.SetZero()
			return nil
		}
		if ti.flags&isModel != 0 {
			// *Dict, *Set, *FrozenSet, *Object, *big.Int targets.
			if ti.t == bigIntPtrType {
				return d.storeBigInt(v, ti, src)
			}
			d.mismatch(src, ti.t)
			return nil
		}
		if d.ptrRun >= maxDecodeDepth {
			// Only a pointer type that points to itself (type P *P)
			// gets here.
			d.typeError(pyValueName(src)+" through more than 10000 pointers", ti.t)
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(ti.t.Elem()))
		}
		d.ptrRun++
		err := d.assign(v.Elem(), ti.elemInfo(), src)
		d.ptrRun--
		return err
	case reflect.Interface:
		if src == nil {
			v.SetZero()
			return nil
		}
		if !v.IsNil() {
			if e := v.Elem(); e.Kind() == reflect.Pointer && !e.IsNil() {
				return d.assign(e.Elem(), infoOf(e.Type().Elem()), src)
			}
		}
		if ti.flags&isEmptyIface != 0 || reflect.TypeOf(src).Implements(ti.t) {
			v.Set(reflect.ValueOf(src))
			return nil
		}
		d.mismatch(src, ti.t)
		return nil
	}
	if src == nil {
		switch v.Kind() {
		case reflect.Map, reflect.Slice:
			v.SetZero()
		}
		return nil
	}
	if ti.flags&isTextUnmarshaler != 0 && v.CanAddr() {
		if s, ok := textOfValue(src); ok {
			return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
		}
	}
	switch {
	case ti.flags&isTime != 0:
		return d.storeTime(v, src)
	case ti.flags&isBigInt != 0:
		return d.storeBigInt(v, ti, src)
	case ti.flags&isModel != 0:
		if !d.storeModel(v, ti, src) {
			d.mismatch(src, ti.t)
		}
		return nil
	}

	switch v.Kind() {
	case reflect.Bool:
		if b, ok := src.(bool); ok {
			v.SetBool(b)
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		switch x := src.(type) {
		case int64:
			if !v.OverflowInt(x) {
				v.SetInt(x)
				return nil
			}
		case *big.Int:
			if x.IsInt64() && !v.OverflowInt(x.Int64()) {
				v.SetInt(x.Int64())
				return nil
			}
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		switch x := src.(type) {
		case int64:
			if x >= 0 && !v.OverflowUint(uint64(x)) {
				v.SetUint(uint64(x))
				return nil
			}
		case *big.Int:
			if x.IsUint64() && !v.OverflowUint(x.Uint64()) {
				v.SetUint(x.Uint64())
				return nil
			}
		}
	case reflect.Float32, reflect.Float64:
		if f, ok := toFloat(src); ok && !v.OverflowFloat(f) {
			v.SetFloat(f)
			return nil
		}
	case reflect.Complex64, reflect.Complex128:
		if c, ok := toComplex(src); ok && !v.OverflowComplex(c) {
			v.SetComplex(c)
			return nil
		}
	case reflect.String:
		switch x := src.(type) {
		case string:
			v.SetString(x)
			return nil
		case ByteString:
			v.SetString(string(x))
			return nil
		}
	case reflect.Slice:
		if ti.flags&isBytes != 0 {
			switch x := src.(type) {
			case []byte:
				v.SetBytes(x)
				return nil
			case ByteArray:
				v.SetBytes(x)
				return nil
			case ByteString:
				v.SetBytes([]byte(x))
				return nil
			}
		}
		if items, ok := listItems(src); ok {
			return d.container(v, ti, src, func() error { return d.storeSlice(v, ti, items) })
		}
	case reflect.Array:
		if ti.flags&isBytes != 0 {
			var b []byte
			switch x := src.(type) {
			case []byte:
				b = x
			case ByteArray:
				b = x
			case ByteString:
				b = []byte(x)
			}
			if b != nil {
				if len(b) != v.Len() {
					d.typeError(pyValueName(src)+" of length "+strconv.Itoa(len(b)), ti.t)
					return nil
				}
				reflect.Copy(v, reflect.ValueOf(b))
				return nil
			}
		}
		if items, ok := listItems(src); ok {
			if len(items) != v.Len() {
				d.typeError(pyValueName(src)+" of length "+strconv.Itoa(len(items)), ti.t)
				return nil
			}
			return d.container(v, ti, src, func() error { return d.storeArray(v, ti, items) })
		}
	case reflect.Map:
		if items, ok := dictItems(src); ok {
			return d.container(v, ti, src, func() error { return d.storeMap(v, ti, items) })
		}
		if members, ok := setMembers(src); ok {
			if ek := ti.t.Elem().Kind(); ek == reflect.Bool || (ek == reflect.Struct && ti.t.Elem().NumField() == 0) {
				return d.container(v, ti, src, func() error { return d.storeSetMap(v, ti, members) })
			}
		}
	case reflect.Struct:
		if items, ok := dictItems(src); ok {
			return d.container(v, ti, src, func() error { return d.storeStruct(v, ti, items) })
		}
	}
	d.mismatch(src, ti.t)
	return nil
}

// nilModel reports whether src is a nil pointer of a model type.
func nilModel(src any) bool {
	switch x := src.(type) {
	case *Dict:
		return x == nil
	case *Set:
		return x == nil
	case *FrozenSet:
		return x == nil
	case *Object:
		return x == nil
	case *big.Int:
		return x == nil
	}
	return false
}

// textOfValue returns the text of a str or Python 2 str.
func textOfValue(src any) (string, bool) {
	switch x := src.(type) {
	case string:
		return x, true
	case ByteString:
		return string(x), true
	}
	return "", false
}

// container stores a container through store, bounding depth, and once
// containers are many, storing a container the pickle shares only once
// and reporting cycles.
func (d *decState) container(v reflect.Value, ti *typeInfo, src any, store func() error) error {
	if d.depth >= maxDecodeDepth {
		d.typeError(pyValueName(src)+" nested deeper than 10000 levels", ti.t)
		return nil
	}
	d.depth++
	run := d.ptrRun
	d.ptrRun = 0
	err := d.containerAt(v, ti, src, store)
	d.ptrRun = run
	d.depth--
	return err
}

func (d *decState) containerAt(v reflect.Value, ti *typeInfo, src any, store func() error) error {
	d.visits++
	if d.visits <= startDecodeMemo {
		return store()
	}
	id := identity(src)
	if id == nil {
		return store()
	}
	k := decMemoKey{id: id, t: ti.t}
	if m, ok := d.memo[k]; ok {
		if !m.done {
			d.typeError("recursive "+pyValueName(src), ti.t)
			return nil
		}
		v.Set(m.v)
		return nil
	}
	if d.memo == nil {
		d.memo = make(map[decMemoKey]*decMemo)
	}
	m := &decMemo{}
	d.memo[k] = m
	if err := store(); err != nil {
		return err
	}
	// Keep a copy: v may be a temporary that is reused.
	m.v = reflect.New(v.Type()).Elem()
	m.v.Set(v)
	m.done = true
	return nil
}

// identity returns what identifies a model container, or nil.
func identity(src any) any {
	switch x := src.(type) {
	case []any:
		if len(x) > 0 {
			return sliceID{&x[0], len(x), false}
		}
	case Tuple:
		if len(x) > 0 {
			return sliceID{&x[0], len(x), true}
		}
	case *Dict, *Set, *FrozenSet, *Object:
		return x
	}
	return nil
}

// listItems returns the items of a list-like value.
func listItems(src any) ([]any, bool) {
	switch x := src.(type) {
	case []any:
		return x, true
	case Tuple:
		return x, true
	case *Set:
		return x.Items(), true
	case *FrozenSet:
		return x.Items(), true
	case *Object:
		if len(x.ListItems) > 0 {
			return x.ListItems, true
		}
	}
	return nil, false
}

// setMembers returns the members of a set or frozenset.
func setMembers(src any) ([]any, bool) {
	switch x := src.(type) {
	case *Set:
		return x.Items(), true
	case *FrozenSet:
		return x.Items(), true
	}
	return nil, false
}

// dictClasses are objects that pickle as a class plus SETITEMS.
var dictClasses = map[Global]bool{
	{Module: "collections", Name: "OrderedDict"}: true,
	{Module: "collections", Name: "defaultdict"}: true,
	{Module: "collections", Name: "Counter"}:     true,
}

// dictItems returns the items of a dict-like value: a dict, an object with
// SETITEMS items (OrderedDict, defaultdict, a dict subclass), or an object
// whose state is a dict (an instance's __dict__, plus its slots).
func dictItems(src any) ([]Item, bool) {
	switch x := src.(type) {
	case *Dict:
		return x.Items(), true
	case *Object:
		if len(x.DictItems) > 0 {
			return x.DictItems, true
		}
		if x.HasState {
			switch s := x.State.(type) {
			case *Dict:
				return s.Items(), true
			case Tuple:
				if len(s) == 2 {
					a, aok := s[0].(*Dict)
					b, bok := s[1].(*Dict)
					if (aok || s[0] == nil) && (bok || s[1] == nil) {
						return append(a.Items()[:a.Len():a.Len()], b.Items()...), true
					}
				}
			}
		}
		if g, ok := x.Callable.(Global); ok && dictClasses[g] {
			return nil, true
		}
	}
	return nil, false
}

func (d *decState) storeSlice(v reflect.Value, ti *typeInfo, items []any) error {
	n := len(items)
	switch {
	case n == 0 && v.IsNil():
		v.Set(reflect.MakeSlice(ti.t, 0, 0)) // an empty list is not None
	case v.Cap() < n:
		// Grow allocates only the array (MakeSlice would box a header).
		v.SetZero()
		v.Grow(n)
	}
	v.SetLen(n)
	eti := ti.elemInfo()
	for i, it := range items {
		e := v.Index(i)
		e.SetZero()
		if err := d.assign(e, eti, it); err != nil {
			return err
		}
	}
	return nil
}

func (d *decState) storeArray(v reflect.Value, ti *typeInfo, items []any) error {
	eti := ti.elemInfo()
	for i, it := range items {
		e := v.Index(i)
		e.SetZero()
		if err := d.assign(e, eti, it); err != nil {
			return err
		}
	}
	return nil
}

func (d *decState) storeMap(v reflect.Value, ti *typeInfo, items []Item) error {
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(ti.t, len(items)))
	}
	kti, eti := ti.keyInfo(), ti.elemInfo()
	key := reflect.New(ti.t.Key()).Elem()
	elem := reflect.New(ti.t.Elem()).Elem()
	for _, it := range items {
		hadErr, before := d.saved != nil, d.errs
		key.SetZero()
		if err := d.assign(key, kti, it.Key); err != nil {
			return err
		}
		if d.errs == before && kti.flags&hasIface != 0 && !key.Comparable() {
			// An interface in the key holds a slice (a tuple, bytes).
			d.typeError(pyValueName(it.Key)+" key", kti.t)
		}
		if d.errs != before {
			// The key did not fit: skip the item.
			if !hadErr && d.saved != nil {
				d.keyErr = true
			}
			d.traced(hadErr, pathElem{key: it.Key, isKey: true, inMap: true})
			continue
		}
		elem.SetZero()
		err := d.assign(elem, eti, it.Value)
		d.traced(hadErr, pathElem{key: it.Key, isKey: true, inMap: true})
		if err != nil {
			return err
		}
		v.SetMapIndex(key, elem)
	}
	return nil
}

func (d *decState) storeSetMap(v reflect.Value, ti *typeInfo, members []any) error {
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(ti.t, len(members)))
	}
	kti := ti.keyInfo()
	key := reflect.New(ti.t.Key()).Elem()
	elem := reflect.New(ti.t.Elem()).Elem()
	if elem.Kind() == reflect.Bool {
		elem.SetBool(true)
	}
	for _, m := range members {
		before := d.errs
		key.SetZero()
		if err := d.assign(key, kti, m); err != nil {
			return err
		}
		if d.errs == before && kti.flags&hasIface != 0 && !key.Comparable() {
			d.typeError(pyValueName(m)+" member", kti.t)
		}
		if d.errs != before {
			continue
		}
		v.SetMapIndex(key, elem)
	}
	return nil
}

func (d *decState) storeStruct(v reflect.Value, ti *typeInfo, items []Item) error {
	fields := ti.fields
	for _, it := range items {
		var name string
		switch k := it.Key.(type) {
		case string:
			name = k
		case ByteString:
			name = string(k)
		default:
			hadErr := d.saved != nil
			d.typeError(pyValueName(it.Key)+" key", ti.t)
			d.traced(hadErr, pathElem{key: it.Key, isKey: true})
			continue
		}
		f := fields.lookup(name)
		if f == nil {
			if d.opts.disallowUnknownFields {
				d.errs++
				if d.saved == nil {
					d.saved = fmt.Errorf("pickle: unknown field %q in Go type %v", name, ti.t)
				}
			}
			continue // unknown keys are otherwise ignored
		}
		fv, err := settableField(v, f.index)
		if err != nil {
			d.errs++
			if d.saved == nil {
				d.saved = err
			}
			continue
		}
		hadErr := d.saved != nil
		err = d.assign(fv, f.typeInfo(), it.Value)
		d.traced(hadErr, pathElem{name: f.name})
		if err != nil {
			return err
		}
	}
	return nil
}

// settableField follows index from struct v, allocating nil embedded
// pointers.
func settableField(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, fmt.Errorf("pickle: cannot set embedded pointer to unexported struct %v", v.Type().Elem())
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

// storeModel stores src into a model-typed target of another model type
// when Python would see them as the same kind of value.
func (d *decState) storeModel(v reflect.Value, ti *typeInfo, src any) bool {
	switch ti.t {
	case reflect.TypeFor[Tuple](), reflect.TypeFor[[]any]():
		if items, ok := listItems(src); ok {
			v.Set(reflect.ValueOf(items).Convert(ti.t))
			return true
		}
	case reflect.TypeFor[ByteArray]():
		if b, ok := src.([]byte); ok {
			v.SetBytes(b)
			return true
		}
	case reflect.TypeFor[ByteString]():
		if s, ok := src.(string); ok {
			v.SetString(s)
			return true
		}
	}
	return false
}

func (d *decState) storeBigInt(v reflect.Value, ti *typeInfo, src any) error {
	var n *big.Int
	switch x := src.(type) {
	case int64:
		n = big.NewInt(x)
	case *big.Int:
		if x == nil {
			d.mismatch(src, ti.t)
			return nil
		}
		n = new(big.Int).Set(x)
	default:
		d.mismatch(src, ti.t)
		return nil
	}
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.ValueOf(n))
	} else {
		v.Set(reflect.ValueOf(n).Elem())
	}
	return nil
}

func toFloat(src any) (float64, bool) {
	switch x := src.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case *big.Int:
		if x == nil {
			return 0, false
		}
		f, _ := new(big.Float).SetInt(x).Float64()
		if math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

func toComplex(src any) (complex128, bool) {
	if f, ok := toFloat(src); ok {
		return complex(f, 0), true
	}
	o, ok := src.(*Object)
	if !ok || o.HasState || len(o.ListItems) > 0 || len(o.DictItems) > 0 || o.Kwargs.Len() > 0 {
		return 0, false
	}
	g, ok := o.Callable.(Global)
	if !ok || g.Name != "complex" || (g.Module != "builtins" && g.Module != "__builtin__") || len(o.Args) > 2 {
		return 0, false
	}
	var parts [2]float64
	for i, a := range o.Args {
		f, ok := toFloat(a)
		if !ok {
			return 0, false
		}
		parts[i] = f
	}
	return complex(parts[0], parts[1]), true
}

var errBadDatetime = errors.New("bad datetime state")

// storeTime stores a datetime.datetime or datetime.date object.
func (d *decState) storeTime(v reflect.Value, src any) error {
	t, err := timeOf(src)
	if err != nil {
		d.mismatch(src, v.Type())
		return nil
	}
	v.Set(reflect.ValueOf(t))
	return nil
}

func timeOf(src any) (time.Time, error) {
	o, ok := src.(*Object)
	if !ok || o.Kind != Reduce || o.HasState || len(o.Args) == 0 {
		return time.Time{}, errBadDatetime
	}
	g, _ := o.Callable.(Global)
	if g != datetimeGlobal && g != dateGlobal {
		return time.Time{}, errBadDatetime
	}
	b, ok := stateBytes(o.Args[0])
	if !ok {
		return time.Time{}, errBadDatetime
	}
	if g == dateGlobal {
		if len(b) != 4 || len(o.Args) != 1 {
			return time.Time{}, errBadDatetime
		}
		return makeTime(b[:4], []byte{0, 0, 0, 0, 0, 0}, time.UTC)
	}
	if len(b) != 10 || len(o.Args) > 2 {
		return time.Time{}, errBadDatetime
	}
	loc := time.UTC
	if len(o.Args) == 2 && o.Args[1] != nil {
		var err error
		if loc, err = locationOf(o.Args[1]); err != nil {
			return time.Time{}, err
		}
	}
	return makeTime(b[:4], b[4:], loc)
}

// makeTime builds a time from datetime's packed date (year hi, year lo,
// month with the fold bit, day) and time (hour, minute, second, 3 bytes
// of microseconds), checking each part.
func makeTime(date, clock []byte, loc *time.Location) (time.Time, error) {
	y := int(date[0])<<8 | int(date[1])
	mo := int(date[2] & 0x7f) // the high bit is the fold
	day := int(date[3])
	h, mi, s := int(clock[0]), int(clock[1]), int(clock[2])
	us := int(clock[3])<<16 | int(clock[4])<<8 | int(clock[5])
	if y < 1 || y > 9999 || mo < 1 || mo > 12 || day < 1 || h > 23 || mi > 59 || s > 59 || us > 999999 {
		return time.Time{}, errBadDatetime
	}
	if day > time.Date(y, time.Month(mo)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, errBadDatetime
	}
	return time.Date(y, time.Month(mo), day, h, mi, s, us*1000, loc), nil
}

// stateBytes returns the packed state of a date or datetime: bytes, a
// Python 2 str, or _codecs.encode(str, 'latin1') as Python 3 writes bytes
// at protocols 0 to 2.
func stateBytes(v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case ByteString:
		return []byte(x), true
	case *Object:
		if x.Callable != (Global{Module: "_codecs", Name: "encode"}) || len(x.Args) != 2 || x.HasState {
			return nil, false
		}
		s, ok1 := x.Args[0].(string)
		enc, ok2 := x.Args[1].(string)
		if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") || len(s) > 40 {
			return nil, false
		}
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return nil, false
			}
			b = append(b, byte(r))
		}
		return b, true
	}
	return nil, false
}

// locationOf reads datetime.timezone(timedelta(...)[, name]).
func locationOf(v any) (*time.Location, error) {
	o, ok := v.(*Object)
	if !ok || o.Callable != timezoneGlobal || o.Kind != Reduce || o.HasState || len(o.Args) < 1 || len(o.Args) > 2 {
		return nil, errBadDatetime
	}
	off, ok := timedeltaSeconds(o.Args[0])
	if !ok || off <= -86400 || off >= 86400 {
		return nil, errBadDatetime
	}
	name := ""
	if len(o.Args) == 2 {
		if name, ok = o.Args[1].(string); !ok {
			return nil, errBadDatetime
		}
	}
	if off == 0 && name == "" {
		return time.UTC, nil
	}
	return time.FixedZone(name, int(off)), nil
}

// timedeltaSeconds reads datetime.timedelta(days, seconds, microseconds)
// as whole seconds.
func timedeltaSeconds(v any) (int64, bool) {
	o, ok := v.(*Object)
	if !ok || o.Callable != timedeltaGlobal || o.Kind != Reduce || o.HasState || len(o.Args) > 3 {
		return 0, false
	}
	var parts [3]int64
	for i, a := range o.Args {
		n, ok := a.(int64)
		if !ok || n < -1e9 || n > 1e9 {
			return 0, false
		}
		parts[i] = n
	}
	if parts[2] != 0 {
		return 0, false // sub-second offsets have no Go form
	}
	return parts[0]*86400 + parts[1], true
}
