package shm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Layout is the memory layout of a ShareableList, which changed once.
type Layout uint8

const (
	// Layout39 is the layout of CPython 3.9 and later: the count, then
	// N+1 offsets of the items into the data area (the first is 0), then
	// the data area, N formats and N back-transform codes.
	Layout39 Layout = iota
	// Layout38 is the layout of CPython 3.8: the count, then the N sizes
	// of the items' slots, then the rest as in Layout39. The two cannot
	// read each other's lists (3.9 misreads a 3.8 list and the reverse);
	// this package reads both.
	Layout38
)

func (l Layout) String() string {
	switch l {
	case Layout39:
		return "3.9+"
	case Layout38:
		return "3.8"
	}
	return "Layout(" + strconv.Itoa(int(l)) + ")"
}

// Formats and back-transform codes of a ShareableList. Every item has an
// 8-byte struct format (NUL-padded) and a one-byte code saying how the
// unpacked value turns back into a Python value.
const (
	fmtInt   = "q"
	fmtFloat = "d"
	fmtBool  = "xxxxxxx?" // the bool in the slot's last byte
	fmtNone  = "xxxxxx?x" // a false bool in the slot's seventh byte

	codeValue = 0 // int, float, bool: as unpacked
	codeStr   = 1 // str: NULs stripped from the end, UTF-8 decoded
	codeBytes = 2 // bytes: NULs stripped from the end
	codeNone  = 3 // None, whatever was unpacked

	alignment = 8
	maxSlot   = 9999999 // "%ds" must fit the 8-byte format field
)

var ne = binary.NativeEndian

// ErrTooLong is returned by [List.Set] for a str or bytes that does not
// fit the item's slot, which is fixed when the list is created; CPython
// raises ValueError("bytes/str item exceeds available storage").
var ErrTooLong = errors.New("shm: bytes/str item exceeds available storage")

// ErrIndex is wrapped by the errors for an index out of range.
var ErrIndex = errors.New("shm: index out of range")

// ValueError reports an item a ShareableList cannot hold: a Go type with
// no ShareableList form (CPython: KeyError), an int outside 64 bits
// (struct.error), a string that is not UTF-8, or a str or bytes too long
// for an 8-character format (AssertionError).
type ValueError struct {
	Index  int
	Value  any
	Reason string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("shm: item %d (%T): %s", e.Index, e.Value, e.Reason)
}

// FormatError reports a block whose contents are not a well-formed
// ShareableList: a count, offset, format or code that does not fit the
// block. Contents written by a peer are checked before every use.
type FormatError struct {
	Index  int // the item concerned, -1 for the header
	Reason string
}

func (e *FormatError) Error() string {
	if e.Index < 0 {
		return "shm: malformed ShareableList: " + e.Reason
	}
	return fmt.Sprintf("shm: malformed ShareableList item %d: %s", e.Index, e.Reason)
}

// List is a ShareableList: a fixed-length list of ints, floats, bools,
// strs, bytes and Nones packed into a shared block, which Python reads
// and writes as multiprocessing.shared_memory.ShareableList. Values are
// int64, float64, bool, string, []byte and nil on the Go side.
//
// The length and the slot of each item are fixed at creation: an item can
// be replaced by a value of any kind, but a str or bytes must fit the slot
// of the item it replaces (8 bytes for an int, float, bool or None; for a
// str or bytes, the next multiple of 8 above its length). As in CPython,
// trailing NUL bytes of a str or bytes are lost: reading strips them.
//
// The header (count and offsets) is read and checked once, by
// [OpenList] or [ParseList]; formats and codes are read again, and
// checked, at each access, as CPython does. A List is not safe for
// concurrent use; processes sharing it need their own locking, as in
// Python.
type List struct {
	mem    []byte
	blk    *Block
	layout Layout
	n      int
	offs   []int // n+1 offsets into the data area
	data   int   // start of the data area
	fmts   int   // start of the formats
	codes  int   // start of the codes
}

// item is a value normalised to its ShareableList form.
type item struct {
	format string
	code   int8
	i      int64
	f      float64
	b      bool
	s      []byte // str (UTF-8) or bytes
	slot   int
}

func toItem(idx int, v any) (item, error) {
	switch x := v.(type) {
	case nil:
		return item{format: fmtNone, code: codeNone, slot: alignment}, nil
	case bool:
		return item{format: fmtBool, code: codeValue, b: x, slot: alignment}, nil
	case int:
		return intItem(int64(x)), nil
	case int8:
		return intItem(int64(x)), nil
	case int16:
		return intItem(int64(x)), nil
	case int32:
		return intItem(int64(x)), nil
	case int64:
		return intItem(x), nil
	case uint:
		return uintItem(idx, v, uint64(x))
	case uint8:
		return intItem(int64(x)), nil
	case uint16:
		return intItem(int64(x)), nil
	case uint32:
		return intItem(int64(x)), nil
	case uint64:
		return uintItem(idx, v, x)
	case float32:
		return item{format: fmtFloat, code: codeValue, f: float64(x), slot: alignment}, nil
	case float64:
		return item{format: fmtFloat, code: codeValue, f: x, slot: alignment}, nil
	case string:
		if !utf8.ValidString(x) {
			return item{}, &ValueError{idx, v, "str is not valid UTF-8"}
		}
		// CPython sizes the slot from the length in code points and
		// packs the UTF-8 bytes, which struct cuts short if longer. The
		// slot is CPython's wherever the text fits it, else large enough.
		n := utf8.RuneCountInString(x)
		if len(x) >= alignment*(n/alignment+1) {
			n = len(x)
		}
		return strItem(idx, v, codeStr, []byte(x), alignment*(n/alignment+1))
	case []byte:
		return strItem(idx, v, codeBytes, x, alignment*(len(x)/alignment+1))
	}
	return item{}, &ValueError{idx, v, "not an int, float, bool, str, bytes or None"}
}

func intItem(x int64) item { return item{format: fmtInt, code: codeValue, i: x, slot: alignment} }

func uintItem(idx int, v any, x uint64) (item, error) {
	if x > math.MaxInt64 {
		return item{}, &ValueError{idx, v, "int out of the 64-bit range of format 'q'"}
	}
	return intItem(int64(x)), nil
}

func strItem(idx int, v any, code int8, s []byte, slot int) (item, error) {
	if slot > maxSlot {
		return item{}, &ValueError{idx, v, "too long: its format would exceed 8 characters"}
	}
	return item{format: strconv.Itoa(slot) + "s", code: code, s: s, slot: slot}, nil
}

// putValue packs it into p, a slot of at least formatSize(it.format)
// bytes, as struct.pack_into does (pad bytes and short strings zeroed).
func putValue(p []byte, it item, size int) {
	p = p[:size]
	switch it.format {
	case fmtInt:
		ne.PutUint64(p, uint64(it.i))
	case fmtFloat:
		ne.PutUint64(p, math.Float64bits(it.f))
	case fmtBool:
		clear(p)
		if it.b {
			p[7] = 1
		}
	case fmtNone:
		clear(p)
	default:
		n := copy(p, it.s)
		clear(p[n:])
	}
}

func putFormat(p []byte, format string) {
	n := copy(p[:8], format)
	clear(p[n:8])
}

// ListSize returns the size of the block CPython would create for a
// ShareableList of values in the given layout.
func ListSize(layout Layout, values ...any) (int, error) {
	items, err := toItems(values)
	if err != nil {
		return 0, err
	}
	return listSize(layout, items), nil
}

func toItems(values []any) ([]item, error) {
	items := make([]item, len(values))
	for i, v := range values {
		it, err := toItem(i, v)
		if err != nil {
			return nil, err
		}
		items[i] = it
	}
	return items, nil
}

func listSize(layout Layout, items []item) int {
	n := len(items)
	size := 8 + 8*n + 8*n + n
	if layout == Layout39 {
		size += 8
	}
	for _, it := range items {
		size += it.slot
	}
	return size
}

// CreateList creates a named block holding a ShareableList of values, as
// ShareableList(values, name=name) does (name "" makes one up), in the
// given layout: [Layout39] for CPython 3.9 and later, [Layout38] for
// CPython 3.8. The block is exactly the size CPython would create. The
// caller owns the name (see [Create]).
func CreateList(name string, layout Layout, values ...any) (*List, error) {
	if layout > Layout38 {
		return nil, fmt.Errorf("shm: unknown layout %d", layout)
	}
	items, err := toItems(values)
	if err != nil {
		return nil, err
	}
	b, err := Create(name, listSize(layout, items))
	if err != nil {
		return nil, err
	}
	var l *List
	err = b.Access(func(p []byte) {
		encodeList(p, layout, items)
		l, err = parseList(p)
	})
	if err != nil {
		b.Close()
		b.Unlink()
		return nil, err
	}
	l.blk = b
	return l, nil
}

// EncodeList writes a ShareableList of values into p in the given layout,
// byte for byte as CPython does, and returns the bytes used (see
// [ListSize]); p must be large enough.
func EncodeList(p []byte, layout Layout, values ...any) (int, error) {
	items, err := toItems(values)
	if err != nil {
		return 0, err
	}
	size := listSize(layout, items)
	if len(p) < size {
		return 0, fmt.Errorf("shm: EncodeList: %d bytes needed, buffer has %d", size, len(p))
	}
	encodeList(p, layout, items)
	return size, nil
}

func encodeList(p []byte, layout Layout, items []item) {
	n := len(items)
	ne.PutUint64(p, uint64(n))
	w := 8
	off := 0
	if layout == Layout39 {
		ne.PutUint64(p[w:], 0)
		w += 8
	}
	for _, it := range items {
		off += it.slot
		if layout == Layout39 {
			ne.PutUint64(p[w:], uint64(off))
		} else {
			ne.PutUint64(p[w:], uint64(it.slot))
		}
		w += 8
	}
	for _, it := range items {
		putValue(p[w:], it, it.slot)
		w += it.slot
	}
	for _, it := range items {
		putFormat(p[w:], it.format)
		w += 8
	}
	for _, it := range items {
		p[w] = byte(it.code)
		w++
	}
}

// OpenList opens the named block of a ShareableList made by Python (any
// version from 3.8) or by [CreateList]; the layout is recognised from the
// header. Accesses to the list are protected against a peer truncating
// the block (they return [ErrFault]).
func OpenList(name string) (*List, error) {
	b, err := Open(name)
	if err != nil {
		return nil, err
	}
	var l *List
	err = b.Access(func(p []byte) { l, err = parseList(p) })
	if err != nil {
		b.Close()
		return nil, err
	}
	l.blk = b
	return l, nil
}

// ParseList reads the header of a ShareableList held in mem, checking it
// against len(mem). The List reads and writes mem in place.
func ParseList(mem []byte) (*List, error) { return parseList(mem) }

func parseList(mem []byte) (*List, error) {
	size := int64(len(mem))
	if size < 8 {
		return nil, &FormatError{-1, "block shorter than the count"}
	}
	n64 := int64(ne.Uint64(mem))
	// Each item takes at least an offset, a format and a code.
	if n64 < 0 || n64 > (size-8)/17 {
		return nil, &FormatError{-1, fmt.Sprintf("count %d does not fit a %d-byte block", n64, size)}
	}
	n := int(n64)
	l := &List{mem: mem, n: n, offs: make([]int, n+1)}
	if n > 0 && ne.Uint64(mem[8:]) != 0 {
		l.layout = Layout38
	}
	var header int64
	if l.layout == Layout39 {
		header = 8 * (n64 + 2)
		if header > size {
			return nil, &FormatError{-1, "offsets do not fit the block"}
		}
		var prev int64
		for i := 0; i <= n; i++ {
			o := int64(ne.Uint64(mem[8+8*i:]))
			if o < prev || o > size {
				return nil, &FormatError{-1, fmt.Sprintf("offset %d of item %d out of order or out of the block", o, i)}
			}
			l.offs[i], prev = int(o), o
		}
	} else {
		header = 8 * (n64 + 1)
		var off int64
		for i := 0; i < n; i++ {
			s := int64(ne.Uint64(mem[8+8*i:]))
			if s < 0 || s > size-off {
				return nil, &FormatError{-1, fmt.Sprintf("size %d of item %d out of the block", s, i)}
			}
			off += s
			l.offs[i+1] = int(off)
		}
	}
	end := header + int64(l.offs[n]) + 9*n64
	if end > size {
		return nil, &FormatError{-1, fmt.Sprintf("list needs %d bytes, block has %d", end, size)}
	}
	l.data = int(header)
	l.fmts = l.data + l.offs[n]
	l.codes = l.fmts + 8*n
	return l, nil
}

// Len returns the number of items.
func (l *List) Len() int { return l.n }

// Layout returns the list's layout.
func (l *List) Layout() Layout { return l.layout }

// Block returns the block holding the list, nil for a list from
// [ParseList].
func (l *List) Block() *Block { return l.blk }

// Name returns the name of the block holding the list, as
// ShareableList.shm.name gives it.
func (l *List) Name() string {
	if l.blk == nil {
		return ""
	}
	return l.blk.Name()
}

// Close closes the list's block (see [Block.Close]); it does not unlink
// it.
func (l *List) Close() error {
	if l.blk == nil {
		return nil
	}
	return l.blk.Close()
}

// access runs fn over the list's memory, protected against faults when
// the memory is a block's mapping.
func (l *List) access(fn func(mem []byte) error) error {
	if l.blk == nil {
		return fn(l.mem)
	}
	var err error
	if ferr := l.blk.Access(func(p []byte) { err = fn(p) }); ferr != nil {
		return ferr
	}
	return err
}

func (l *List) index(i int) error {
	if i < 0 || i >= l.n {
		return fmt.Errorf("%w: %d not in [0, %d)", ErrIndex, i, l.n)
	}
	return nil
}

// format reads and checks item i's format; it returns the format and the
// size it unpacks.
func (l *List) format(mem []byte, i int) (string, int, error) {
	f := mem[l.fmts+8*i : l.fmts+8*i+8]
	for len(f) > 0 && f[len(f)-1] == 0 {
		f = f[:len(f)-1]
	}
	format := string(f)
	size := 0
	switch format {
	case fmtInt, fmtFloat, fmtBool, fmtNone:
		size = 8
	default:
		if len(format) < 2 || format[len(format)-1] != 's' {
			return "", 0, &FormatError{i, fmt.Sprintf("unknown format %q", format)}
		}
		v, err := strconv.ParseUint(format[:len(format)-1], 10, 32)
		if err != nil || format[0] == '+' {
			return "", 0, &FormatError{i, fmt.Sprintf("unknown format %q", format)}
		}
		size = int(v)
	}
	if slot := l.offs[i+1] - l.offs[i]; size > slot {
		return "", 0, &FormatError{i, fmt.Sprintf("format %q needs %d bytes, slot has %d", format, size, slot)}
	}
	return format, size, nil
}

// Get returns item i: an int64, float64, bool, string, []byte (a copy) or
// nil.
func (l *List) Get(i int) (any, error) {
	if err := l.index(i); err != nil {
		return nil, err
	}
	var v any
	err := l.access(func(mem []byte) error {
		var err error
		v, err = l.get(mem, i)
		return err
	})
	return v, err
}

func (l *List) get(mem []byte, i int) (any, error) {
	format, size, err := l.format(mem, i)
	if err != nil {
		return nil, err
	}
	code := int8(mem[l.codes+i])
	p := mem[l.data+l.offs[i] : l.data+l.offs[i]+size]
	isStr := format[len(format)-1] == 's'
	switch code {
	case codeValue:
		switch format {
		case fmtInt:
			return int64(ne.Uint64(p)), nil
		case fmtFloat:
			return math.Float64frombits(ne.Uint64(p)), nil
		case fmtBool:
			return p[7] != 0, nil
		case fmtNone:
			return p[6] != 0, nil
		}
		// CPython returns the bytes unpacked; no writer makes this.
		return nil, &FormatError{i, "str format with the code of a number"}
	case codeStr, codeBytes:
		if !isStr {
			return nil, &FormatError{i, fmt.Sprintf("code %d with format %q", code, format)}
		}
		for len(p) > 0 && p[len(p)-1] == 0 {
			p = p[:len(p)-1]
		}
		if code == codeBytes {
			return append([]byte{}, p...), nil
		}
		if !utf8.Valid(p) {
			return nil, &FormatError{i, "str is not valid UTF-8"}
		}
		return string(p), nil
	case codeNone:
		return nil, nil
	}
	return nil, &FormatError{i, fmt.Sprintf("unknown back-transform code %d", code)}
}

// Values returns all the items (see [List.Get]).
func (l *List) Values() ([]any, error) {
	out := make([]any, l.n)
	err := l.access(func(mem []byte) error {
		for i := range out {
			v, err := l.get(mem, i)
			if err != nil {
				return err
			}
			out[i] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Format returns the struct formats of all items joined, as
// ShareableList.format does.
func (l *List) Format() (string, error) {
	var s []byte
	err := l.access(func(mem []byte) error {
		for i := 0; i < l.n; i++ {
			f, _, err := l.format(mem, i)
			if err != nil {
				return err
			}
			s = append(s, f...)
		}
		return nil
	})
	return string(s), err
}

// Set replaces item i with v (int kinds, float32/64, bool, string,
// []byte or nil), with CPython's rules: any kind may replace any other,
// but a str or bytes longer than the item's slot is [ErrTooLong].
func (l *List) Set(i int, v any) error {
	if err := l.index(i); err != nil {
		return err
	}
	it, err := toItem(i, v)
	if err != nil {
		return err
	}
	return l.access(func(mem []byte) error { return l.set(mem, i, it) })
}

func (l *List) set(mem []byte, i int, it item) error {
	slot := l.offs[i+1] - l.offs[i]
	cur, _, err := l.format(mem, i)
	if err != nil {
		return err
	}
	format := it.format
	size := 8
	if it.code == codeStr || it.code == codeBytes {
		if len(it.s) > slot {
			return fmt.Errorf("%w: %d bytes, slot of item %d has %d", ErrTooLong, len(it.s), i, slot)
		}
		if cur[len(cur)-1] == 's' {
			format = cur
		} else {
			format = strconv.Itoa(slot) + "s"
		}
		_, size, _ = parseStrFormat(format)
		if size < len(it.s) {
			// CPython's struct would cut the value short.
			return fmt.Errorf("%w: %d bytes, format %q of item %d holds %d", ErrTooLong, len(it.s), format, i, size)
		}
	} else if slot < 8 {
		return &FormatError{i, fmt.Sprintf("slot of %d bytes cannot hold an 8-byte value", slot)}
	}
	putFormat(mem[l.fmts+8*i:], format)
	mem[l.codes+i] = byte(it.code)
	putValue(mem[l.data+l.offs[i]:], it, size)
	return nil
}

func parseStrFormat(format string) (string, int, error) {
	v, err := strconv.ParseUint(format[:len(format)-1], 10, 32)
	return format, int(v), err
}
