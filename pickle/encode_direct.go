package pickle

import (
	"reflect"
	"slices"
	"strings"
	"unsafe"
)

// Direct encoding of Go values.
//
// The reference path for a Go value that is not a model value converts it
// into model values first (fromGo), then pickles them. The direct path
// writes the common Go types (structs, slices and arrays, maps with string
// or integer keys, pointers, interfaces, bools, numbers, strings, []byte)
// straight to opcodes, and hands anything else (Marshalers,
// TextMarshalers, model values, time.Time, big.Int, complex numbers, byte
// arrays, unsupported types) to the conversion, sharing its state, and
// pickles what that returns, in place.
//
// The bytes are those of the reference path. The conversion makes one
// model container per Go pointer, map or slice, and gives the same one
// when that Go container is reached again, which the pickler writes as a
// memo reference; the direct path writes each struct, map and list with
// a memo entry of its own that is never looked up, and gives up when it
// reaches a Go container a second time (rare: the reference path then
// writes the value, with its memo references). Strings and []byte keep
// the identity (the data pointer) they have in the converted value and
// are memoized by it, as are the model values conversion returns. Frames
// are closed at the same points because the same values are saved in
// the same order.
//
// On any error the direct path gives up and marshal starts over on the
// reference path, so errors (and which of several errors is reported) are
// those of the reference path; a MarshalPickle or MarshalText method may
// then be called twice. The direct path bounds Go nesting with the
// conversion's limit (which also stops Go cycles, which the reference
// path then reports) and container nesting with the encoder's.

// directFallback are the type flags the direct path leaves to conversion.
const directFallback = isMarshaler | isPtrMarshaler | isTextMarshaler | isPtrTextMarshaler | isModel | isTime | isBigInt

// errDirect is returned by the direct path for a value it cannot write
// exactly; marshal then uses the reference path.
var errDirect = marshalError("pickle: internal: direct encoding gave up")

// saveGoRoot writes the Go value v at the top level of a conversion (the
// place of fromGo plus saveValue on the reference path).
func (e *encodeState) saveGoRoot(v reflect.Value) error {
	e.usedDirect = true
	var es encState
	if !v.IsValid() {
		e.op(opNone)
		return nil
	}
	ti := e.lastInfo
	if t := v.Type(); t != e.lastT {
		ti = infoOf(t)
		e.lastT, e.lastInfo = t, ti
	}
	return e.goValue(&es, v, ti)
}

// saveGo writes an item of a container, closing the frame after it as
// save does.
func (e *encodeState) saveGo(es *encState, v reflect.Value, ti *typeInfo) error {
	err := e.goValue(es, v, ti)
	if e.frameStart >= 0 && len(e.buf)-e.frameStart-frameHeaderSize >= frameSizeTarget {
		e.commitFrame()
	}
	return err
}

// saveKeyStr writes a dict key that is a str, as save does.
func (e *encodeState) saveKeyStr(s string) error {
	err := e.saveStr(s)
	if e.frameStart >= 0 && len(e.buf)-e.frameStart-frameHeaderSize >= frameSizeTarget {
		e.commitFrame()
	}
	return err
}

// goFallback converts v as the reference path does and pickles the result.
func (e *encodeState) goFallback(es *encState, v reflect.Value, ti *typeInfo) error {
	r, err := es.typed(v, ti)
	if err != nil {
		return err
	}
	return e.saveValue(r)
}

// goValue writes v as encState.typed would convert it and saveValue would
// pickle the result.
func (e *encodeState) goValue(es *encState, v reflect.Value, ti *typeInfo) error {
	if ti.flags&directFallback != 0 {
		return e.goFallback(es, v, ti)
	}
	if es.depth >= maxConvertDepth {
		return errDirect
	}
	es.depth++
	err := e.goKind(es, v, ti)
	es.depth--
	return err
}

func (e *encodeState) goKind(es *encState, v reflect.Value, ti *typeInfo) error {
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			e.op(opNewTrue)
		} else {
			e.op(opNewFalse)
		}
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.saveInt(v.Int())
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.saveUint(v.Uint())
		return nil
	case reflect.Float32, reflect.Float64:
		e.saveFloat(v.Float())
		return nil
	case reflect.String:
		return e.saveStr(v.String())
	case reflect.Interface:
		if v.IsNil() {
			e.op(opNone)
			return nil
		}
		x := v.Elem()
		return e.goValue(es, x, infoOf(x.Type()))
	case reflect.Pointer:
		if v.IsNil() {
			e.op(opNone)
			return nil
		}
		// (The pointer given to Marshal can only be reached again
		// through a cycle, which the depth limit stops.)
		if es.depth > 1 {
			if err := es.visitDirect(v, ti); err != nil {
				return err
			}
		}
		return e.goValue(es, v.Elem(), ti.elemInfo())
	case reflect.Struct:
		return e.goStruct(es, v, ti)
	case reflect.Map:
		if v.IsNil() {
			e.op(opNone)
			return nil
		}
		return e.goMap(es, v, ti)
	case reflect.Slice:
		if v.IsNil() {
			e.op(opNone)
			return nil
		}
		if ti.flags&isBytes != 0 {
			return e.saveBytes(v.Bytes())
		}
		if err := es.visitDirect(v, ti); err != nil {
			return err
		}
		return e.goList(es, v, ti)
	case reflect.Array:
		if ti.flags&isBytes != 0 {
			break
		}
		return e.goList(es, v, ti)
	}
	// Complex numbers, byte arrays, unsupported kinds. The depth was
	// counted for v already: typed counts it again.
	es.depth--
	err := e.goFallback(es, v, ti)
	es.depth++
	return err
}

// goStruct writes a struct as the dict structValue makes of it.
func (e *encodeState) goStruct(es *encState, v reflect.Value, ti *typeInfo) error {
	fields := ti.fields.list
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	e.op(opEmptyDict)
	e.memoize()
	if ti.fields.plain {
		// Every field is written: no omitempty, omitzero or embedded
		// pointer.
		if len(fields) == 1 {
			f := &fields[0]
			if err := e.saveKeyStr(f.name); err != nil {
				return err
			}
			if err := e.saveGo(es, v.Field(f.index[0]), f.typeInfo()); err != nil {
				return err
			}
			e.op(opSetItem)
			return nil
		}
		return e.goFieldBatches(es, v, fields, nil)
	}
	// Find the fields written first: SETITEM or SETITEMS depends on
	// their number.
	var small [16]int32
	kept := small[:0]
	for i := range fields {
		f := &fields[i]
		fv, ok := fieldByIndex(v, f.index)
		if !ok || (f.omitEmpty && isEmptyValue(fv)) || (f.omitZero && f.isZero(fv)) {
			continue
		}
		kept = append(kept, int32(i))
	}
	if len(kept) == 1 {
		f := &fields[kept[0]]
		fv, _ := fieldByIndex(v, f.index)
		if err := e.saveKeyStr(f.name); err != nil {
			return err
		}
		if err := e.saveGo(es, fv, f.typeInfo()); err != nil {
			return err
		}
		e.op(opSetItem)
		return nil
	}
	return e.goFieldBatches(es, v, fields, kept)
}

// goFieldBatches writes the fields of a struct (those in kept, or all when
// kept is nil) in SETITEMS batches, as setItemsExact does.
func (e *encodeState) goFieldBatches(es *encState, v reflect.Value, fields []field, kept []int32) error {
	n := len(fields)
	if kept != nil {
		n = len(kept)
	}
	if n == 0 {
		return nil
	}
	i := 0
	for {
		e.op(opMark)
		b := 0
		for ; b < batchSize && i < n; b++ {
			var f *field
			var fv reflect.Value
			if kept == nil {
				f = &fields[i]
				fv = v.Field(f.index[0])
			} else {
				f = &fields[kept[i]]
				fv, _ = fieldByIndex(v, f.index)
			}
			if err := e.saveKeyStr(f.name); err != nil {
				return err
			}
			if err := e.saveField(es, fv, f.typeInfo()); err != nil {
				return err
			}
			i++
		}
		e.op(opSetItems)
		if b != batchSize {
			return nil
		}
	}
}

// saveField is saveGo with the common scalar kinds written at once.
func (e *encodeState) saveField(es *encState, v reflect.Value, ti *typeInfo) error {
	if ti.flags&directFallback == 0 && es.depth < maxConvertDepth {
		switch ti.kind {
		case reflect.String:
			err := e.saveStr(v.String())
			e.checkFrame()
			return err
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			e.saveInt(v.Int())
			e.checkFrame()
			return nil
		case reflect.Float64, reflect.Float32:
			e.saveFloat(v.Float())
			e.checkFrame()
			return nil
		case reflect.Bool:
			if v.Bool() {
				e.op(opNewTrue)
			} else {
				e.op(opNewFalse)
			}
			e.checkFrame()
			return nil
		}
	}
	return e.saveGo(es, v, ti)
}

// goList writes a slice or array as the list listValue makes of it.
func (e *encodeState) goList(es *encState, v reflect.Value, ti *typeInfo) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	e.op(opEmptyList)
	e.memoize()
	n := v.Len()
	if n == 0 {
		return nil
	}
	eti := ti.elemInfo()
	if n == 1 {
		if err := e.saveGo(es, v.Index(0), eti); err != nil {
			return err
		}
		e.op(opAppend)
		return nil
	}
	if eti.flags&directFallback == 0 && es.depth < maxConvertDepth {
		switch eti.t.Kind() {
		case reflect.Float64:
			if v.Kind() == reflect.Slice {
				return e.floatBatches(unsafe.Slice((*float64)(v.UnsafePointer()), n))
			}
		case reflect.Int:
			if v.Kind() == reflect.Slice {
				return e.intBatches(unsafe.Slice((*int)(v.UnsafePointer()), n))
			}
		}
	}
	for i := 0; i < n; {
		e.op(opMark)
		for b := 0; b < batchSize && i < n; b++ {
			if err := e.saveGo(es, v.Index(i), eti); err != nil {
				return err
			}
			i++
		}
		e.op(opAppends)
	}
	return nil
}

// floatBatches writes the items of a []float64 (of a type without
// methods) in APPENDS batches.
func (e *encodeState) floatBatches(s []float64) error {
	for i := 0; i < len(s); {
		e.op(opMark)
		for b := 0; b < batchSize && i < len(s); b++ {
			e.saveFloat(s[i])
			e.checkFrame()
			i++
		}
		e.op(opAppends)
	}
	return nil
}

// intBatches writes the items of a []int (of a type without methods) in
// APPENDS batches.
func (e *encodeState) intBatches(s []int) error {
	for i := 0; i < len(s); {
		e.op(opMark)
		for b := 0; b < batchSize && i < len(s); b++ {
			e.saveInt(int64(s[i]))
			e.checkFrame()
			i++
		}
		e.op(opAppends)
	}
	return nil
}

// mapItem is a map item being written: its key, as the value sorted on,
// and its value.
type mapItem struct {
	s string
	i int64
	u uint64
	v reflect.Value
}

// goMap writes a map with string or integer keys as the dict mapValue
// makes of it: items sorted by key. Other maps go to conversion.
func (e *encodeState) goMap(es *encState, v reflect.Value, ti *typeInfo) error {
	kti := ti.keyInfo()
	kind := kti.t.Kind()
	direct := kti.flags&directFallback == 0
	switch kind {
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
	default:
		direct = false
	}
	if !direct || !v.CanInterface() {
		// (SetIterKey refuses a map read through an unexported field.)
		es.depth--
		err := e.goFallback(es, v, ti)
		es.depth++
		return err
	}
	if err := es.visitDirect(v, ti); err != nil {
		return err
	}
	items := make([]mapItem, 0, v.Len())
	key := reflect.New(kti.t).Elem()
	it := v.MapRange()
	for it.Next() {
		key.SetIterKey(it)
		var m mapItem
		switch kind {
		case reflect.String:
			m.s = key.String()
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			m.i = key.Int()
		default:
			m.u = key.Uint()
		}
		m.v = it.Value()
		items = append(items, m)
	}
	switch kind {
	case reflect.String:
		slices.SortFunc(items, func(a, b mapItem) int { return strings.Compare(a.s, b.s) })
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		slices.SortFunc(items, func(a, b mapItem) int {
			switch {
			case a.i < b.i:
				return -1
			case a.i > b.i:
				return 1
			}
			return 0
		})
	default:
		slices.SortFunc(items, func(a, b mapItem) int {
			switch {
			case a.u < b.u:
				return -1
			case a.u > b.u:
				return 1
			}
			return 0
		})
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	e.op(opEmptyDict)
	e.memoize()
	eti := ti.elemInfo()
	saveItem := func(m *mapItem) error {
		var err error
		switch kind {
		case reflect.String:
			err = e.saveStr(m.s)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			e.saveInt(m.i)
		default:
			e.saveUint(m.u)
		}
		e.checkFrame()
		if err != nil {
			return err
		}
		return e.saveGo(es, m.v, eti)
	}
	if len(items) == 0 {
		return nil
	}
	if len(items) == 1 {
		if err := saveItem(&items[0]); err != nil {
			return err
		}
		e.op(opSetItem)
		return nil
	}
	i := 0
	for {
		e.op(opMark)
		b := 0
		for ; b < batchSize && i < len(items); b++ {
			if err := saveItem(&items[i]); err != nil {
				return err
			}
			i++
		}
		e.op(opSetItems)
		if b != batchSize {
			return nil
		}
	}
}
