package pickle

import (
	"encoding"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// typeInfo is what the typed layer needs to know about a Go type, worked
// out once per type and cached.
type typeInfo struct {
	t     reflect.Type
	kind  reflect.Kind // t.Kind()
	flags infoFlags
	// fields is set for struct types.
	fields *structFields
	// elem caches the typeInfo of the element type of a slice, array,
	// map or pointer (set on first use: types may be recursive).
	elem atomic.Pointer[typeInfo]
	// key caches the typeInfo of a map's key type.
	key atomic.Pointer[typeInfo]
	// direct caches directTarget: 0 unknown, 1 yes, 2 no.
	direct atomic.Int32
}

type infoFlags uint16

const (
	isMarshaler        infoFlags = 1 << iota // t implements Marshaler
	isPtrMarshaler                           // only *t implements Marshaler
	isTextMarshaler                          // t implements encoding.TextMarshaler
	isPtrTextMarshaler                       // only *t implements encoding.TextMarshaler
	isUnmarshaler                            // *t implements Unmarshaler
	isTextUnmarshaler                        // *t implements encoding.TextUnmarshaler
	isModel                                  // a model type (Tuple, Dict, …), kept as it is
	isTime                                   // time.Time
	isBigInt                                 // big.Int
	isBytes                                  // a slice or array of uint8 without its own marshalers
	isEmptyIface                             // an interface with no methods
	hasIface                                 // an interface, or an array or struct holding one
)

var (
	marshalerType       = reflect.TypeFor[Marshaler]()
	unmarshalerType     = reflect.TypeFor[Unmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType            = reflect.TypeFor[time.Time]()
	bigIntType          = reflect.TypeFor[big.Int]()
	bigIntPtrType       = reflect.TypeFor[*big.Int]()
)

// modelTypes are the model types (Tuple, Dict, Global, …) that pass
// through conversion as they are (their contents are still converted).
var modelTypes = map[reflect.Type]bool{
	reflect.TypeFor[[]any]():      true,
	reflect.TypeFor[Tuple]():      true,
	reflect.TypeFor[ByteArray]():  true,
	reflect.TypeFor[ByteString](): true,
	reflect.TypeFor[Global]():     true,
	reflect.TypeFor[*Dict]():      true,
	reflect.TypeFor[*Set]():       true,
	reflect.TypeFor[*FrozenSet](): true,
	reflect.TypeFor[*Object]():    true,
	bigIntPtrType:                 true,
}

var typeInfos sync.Map // reflect.Type -> *typeInfo

// infoOf returns the cached typeInfo of t.
func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti, _ := typeInfos.LoadOrStore(t, newTypeInfo(t))
	return ti.(*typeInfo)
}

func newTypeInfo(t reflect.Type) *typeInfo {
	ti := &typeInfo{t: t, kind: t.Kind()}
	pt := reflect.PointerTo(t)
	switch {
	case t.Implements(marshalerType):
		ti.flags |= isMarshaler
	case pt.Implements(marshalerType):
		ti.flags |= isPtrMarshaler
	}
	switch {
	case t.Implements(textMarshalerType):
		ti.flags |= isTextMarshaler
	case pt.Implements(textMarshalerType):
		ti.flags |= isPtrTextMarshaler
	}
	if pt.Implements(unmarshalerType) {
		ti.flags |= isUnmarshaler
	}
	if pt.Implements(textUnmarshalerType) {
		ti.flags |= isTextUnmarshaler
	}
	switch {
	case modelTypes[t]:
		ti.flags |= isModel
	case t == timeType:
		ti.flags |= isTime
	case t == bigIntType:
		ti.flags |= isBigInt
	}
	if holdsInterface(t, 0) {
		ti.flags |= hasIface
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			e := reflect.PointerTo(t.Elem())
			if !e.Implements(marshalerType) && !e.Implements(textMarshalerType) {
				ti.flags |= isBytes
			}
		}
	case reflect.Interface:
		if t.NumMethod() == 0 {
			ti.flags |= isEmptyIface
		}
	case reflect.Struct:
		ti.fields = typeFields(t)
	}
	return ti
}

// holdsInterface reports whether a value of type t can hold an interface
// value in place (not behind a pointer, slice or map): such a map key is
// comparable only if the dynamic values are.
func holdsInterface(t reflect.Type, depth int) bool {
	if depth > 100 {
		return true // be safe
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Array:
		return holdsInterface(t.Elem(), depth+1)
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsInterface(t.Field(i).Type, depth+1) {
				return true
			}
		}
	}
	return false
}

// elemInfo returns the typeInfo of t's element type.
func (ti *typeInfo) elemInfo() *typeInfo {
	if e := ti.elem.Load(); e != nil {
		return e
	}
	e := infoOf(ti.t.Elem())
	ti.elem.Store(e)
	return e
}

// keyInfo returns the typeInfo of a map type's key type.
func (ti *typeInfo) keyInfo() *typeInfo {
	if k := ti.key.Load(); k != nil {
		return k
	}
	k := infoOf(ti.t.Key())
	ti.key.Store(k)
	return k
}

// field is one pickled struct field, possibly promoted from an embedded
// struct.
type field struct {
	name      string
	key       any     // name, boxed once
	hash      hashKey // keyOf(name)
	index     []int   // for reflect.Value.Field, one per embedding level
	typ       reflect.Type
	omitEmpty bool
	omitZero  bool
	isZero    func(reflect.Value) bool // the field's own IsZero, for omitzero
	viaPtr    bool                     // promoted through an embedded pointer
	info      atomic.Pointer[typeInfo]
}

func (f *field) typeInfo() *typeInfo {
	if ti := f.info.Load(); ti != nil {
		return ti
	}
	ti := infoOf(f.typ)
	f.info.Store(ti)
	return ti
}

// structFields are the pickled fields of a struct type, in order, with
// lookups by exact and by case-folded name.
type structFields struct {
	list   []field
	exact  map[string]int
	folded map[string]int
	// plain is set when every field is always pickled and is a field of
	// the struct itself: none is omitempty or omitzero or promoted.
	plain bool
}

func (sf *structFields) lookup(name string) *field {
	if i, ok := sf.exact[name]; ok {
		return &sf.list[i]
	}
	if i, ok := sf.folded[foldName(name)]; ok {
		return &sf.list[i]
	}
	return nil
}

// foldName maps s to a canonical form such that foldName(a) ==
// foldName(b) exactly when strings.EqualFold(a, b).
func foldName(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// The smallest rune of an ASCII letter's orbit is its upper case.
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		// The smallest rune of r's case-folding orbit.
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}

type tagOptions struct {
	name      string
	skip      bool
	omitEmpty bool
	omitZero  bool
}

// parseTag reads a `pickle:"name,opt,..."` tag.
func parseTag(tag string) tagOptions {
	if tag == "-" {
		return tagOptions{skip: true}
	}
	name, opts, _ := strings.Cut(tag, ",")
	o := tagOptions{name: name}
	for opts != "" {
		var opt string
		opt, opts, _ = strings.Cut(opts, ",")
		switch opt {
		case "omitempty":
			o.omitEmpty = true
		case "omitzero":
			o.omitZero = true
		}
	}
	return o
}

// typeFields lists the pickled fields of struct type t, with
// encoding/json's rules for embedded structs: a breadth-first walk where
// the shallowest field of a name wins, then the only tagged one at that
// depth; other conflicts drop the name.
func typeFields(t reflect.Type) *structFields {
	type candidate struct {
		name      string
		index     []int
		typ       reflect.Type
		omitEmpty bool
		omitZero  bool
		depth     int
		tagged    bool
	}
	type level struct {
		typ   reflect.Type
		index []int
	}
	var cands []candidate
	next := []level{{typ: t}}
	seen := map[reflect.Type]bool{}
	for depth := 0; len(next) > 0; depth++ {
		current := next
		next = nil
		var visiting []reflect.Type
		for _, lv := range current {
			if seen[lv.typ] {
				continue
			}
			visiting = append(visiting, lv.typ)
			for i := 0; i < lv.typ.NumField(); i++ {
				sf := lv.typ.Field(i)
				ft := sf.Type
				if sf.Anonymous {
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag, hasTag := sf.Tag.Lookup("pickle")
				opts := parseTag(tag)
				if opts.skip {
					continue
				}
				index := make([]int, len(lv.index)+1)
				copy(index, lv.index)
				index[len(lv.index)] = i
				if sf.Anonymous && opts.name == "" && ft.Kind() == reflect.Struct {
					next = append(next, level{typ: ft, index: index})
					continue
				}
				name := opts.name
				if name == "" {
					name = sf.Name
				}
				cands = append(cands, candidate{
					name: name, index: index, typ: sf.Type,
					omitEmpty: opts.omitEmpty, omitZero: opts.omitZero,
					depth: depth, tagged: hasTag && opts.name != "",
				})
			}
		}
		for _, typ := range visiting {
			seen[typ] = true
		}
	}

	// Keep the dominant field of each name.
	byName := map[string][]int{}
	var names []string
	for i, c := range cands {
		if _, ok := byName[c.name]; !ok {
			names = append(names, c.name)
		}
		byName[c.name] = append(byName[c.name], i)
	}
	var kept []candidate
	for _, name := range names {
		idx := byName[name]
		best := -1
		conflict := false
		for _, i := range idx {
			c := cands[i]
			switch {
			case best < 0 || c.depth < cands[best].depth:
				best, conflict = i, false
			case c.depth == cands[best].depth:
				if c.tagged == cands[best].tagged {
					conflict = true
				} else if c.tagged {
					best, conflict = i, false
				}
			}
		}
		if !conflict {
			kept = append(kept, cands[best])
		}
	}
	slices.SortFunc(kept, func(a, b candidate) int { return slices.Compare(a.index, b.index) })

	sf := &structFields{
		list:   make([]field, len(kept)),
		exact:  make(map[string]int, len(kept)),
		folded: make(map[string]int, len(kept)),
	}
	for i := range kept {
		f := &sf.list[i]
		c := &kept[i]
		f.name, f.index, f.typ = c.name, c.index, c.typ
		f.omitEmpty, f.omitZero = c.omitEmpty, c.omitZero
		f.key = f.name
		f.hash, _ = keyOf(f.name)
		if f.omitZero {
			f.isZero = zeroFunc(f.typ)
		}
		ft := t
		for _, x := range f.index[:len(f.index)-1] {
			ft = ft.Field(x).Type
			if ft.Kind() == reflect.Pointer {
				f.viaPtr = true
				ft = ft.Elem()
			}
		}
		sf.exact[f.name] = i
	}
	sf.plain = true
	for i := range sf.list {
		f := &sf.list[i]
		if f.omitEmpty || f.omitZero || len(f.index) > 1 {
			sf.plain = false
		}
	}
	// Folded names: the first field in order wins, as with encoding/json.
	for i := len(sf.list) - 1; i >= 0; i-- {
		sf.folded[foldName(sf.list[i].name)] = i
	}
	return sf
}

var isZeroerType = reflect.TypeFor[interface{ IsZero() bool }]()

// zeroFunc returns the test omitzero uses for type t: its own IsZero
// method if it has one, else reflect's.
func zeroFunc(t reflect.Type) func(reflect.Value) bool {
	switch {
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || v.Interface().(interface{ IsZero() bool }).IsZero()
		}
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if v.Kind() == reflect.Interface && v.IsNil() {
				return true
			}
			return v.Interface().(interface{ IsZero() bool }).IsZero()
		}
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				// Not addressable: copy it to call the method.
				p := reflect.New(t)
				p.Elem().Set(v)
				v = p.Elem()
			}
			return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
		}
	}
	return reflect.Value.IsZero
}

// isEmptyValue is omitempty's test, as in encoding/json.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
