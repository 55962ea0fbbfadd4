package pickle

import (
	"math/big"
	"reflect"
	"strconv"
)

// Marshaler is implemented by types that choose their own Python form.
// MarshalPickle returns the value to pickle in their place: usually a
// value of the model that decoding into an interface value produces (a
// [*Dict], a [Tuple], an [*Object], ...), but any value Marshal accepts
// will do, and it is converted in turn. Returning a value of the
// Marshaler's own type is an error, a [*MarshalerError], as is an error
// MarshalPickle returns.
//
// A nil pointer whose type implements Marshaler is pickled as None without
// calling MarshalPickle. When encoding fails, MarshalPickle (and
// MarshalText) methods may have been called twice: the encoder writes
// most values directly and, on an error, converts the value again to
// report the error a conversion finds first. A method with a pointer receiver is used when the
// value is addressable, as in encoding/json.
//
// # Go to Python
//
// Marshal converts Go values as follows. Values of the model types
// ([Tuple], [*Dict], [*Set], [*FrozenSet], [Global], [*Object],
// [ByteArray], [ByteString], []any, *big.Int) are pickled as they are, a
// nil one as None; Go values held inside them are converted by the same
// rules, in a copy (the value given is never modified).
//
//	Go                                 Python
//	nil, nil pointer/interface         None
//	bool                               bool
//	int, int8 ... int64, uintptr       int
//	uint ... uint64                    int (arbitrary size above MaxInt64)
//	*big.Int, big.Int                  int
//	float32, float64                   float (float32 widened exactly)
//	complex64, complex128              complex (builtins.complex(re, im))
//	string                             str
//	[]byte, [N]byte                    bytes
//	other slices and arrays            list (a nil slice is None)
//	map                                dict (a nil map is None)
//	struct                             dict with str keys (see below)
//	time.Time                          datetime.datetime, aware (see below)
//	Marshaler                          whatever MarshalPickle returns
//	encoding.TextMarshaler             str (the text)
//	chan, func, unsafe.Pointer         *UnsupportedTypeError
//
// Unlike encoding/json, a byte array is bytes (not a list) and a []byte is
// bytes (not base64 text).
//
// Struct fields follow encoding/json's rules. Only exported fields are
// pickled. The tag `pickle:"name,omitempty,omitzero"` renames a field,
// omits it when empty (false, 0, "", nil, or a zero-length slice, map,
// array or string) or when zero (reflect's IsZero, or the field's own
// IsZero method); `pickle:"-"` drops it, `pickle:"-,"` names it "-". The
// fields of an embedded struct, or of a non-nil embedded pointer to a
// struct, are promoted into the outer dict; among fields with the same name
// the shallowest wins, then a tagged one, and an unresolved conflict drops
// them all. Fields keep their declaration order in the dict.
//
// Map keys become str (string kinds, and key types implementing
// encoding.TextMarshaler), int, float, bool, tuple (arrays, converted
// element by element) or, for interface keys, whatever their dynamic value
// converts to, which must be hashable in Python. Other key types are an
// *UnsupportedTypeError. Items are sorted by key (numbers by value,
// strings bytewise, tuples element by element), so the same map always
// gives the same pickle. Keys that are equal in Python (true, 1 and 1.0)
// collapse into one item, as in a Python dict: the first key (bool before
// int before float) with the last value.
//
// A time.Time becomes datetime.datetime(..., tzinfo=datetime.timezone(
// timedelta(seconds=offset))), with datetime.timezone.utc for a zero
// offset; Python's datetime has microseconds, so nanoseconds are
// truncated. Times whose offset is not a whole number of minutes (old local
// mean times), which Python before 3.7 rejects, are given in UTC. Years
// outside 1 to 9999 are an *UnsupportedValueError. Python 2 has no
// datetime.timezone and cannot load these; a time.Duration is an int of
// nanoseconds, as in encoding/json.
//
// Pointers are followed. A cycle of Go pointers, maps or slices is an
// *UnsupportedValueError; model containers (such as a *Dict holding
// itself) are kept shared and may be recursive, as long as nothing inside
// the cycle needs converting.
type Marshaler interface {
	MarshalPickle() (any, error)
}

// Unmarshaler is implemented by types that decode their Python form
// themselves. UnmarshalPickle receives the decoded value as it would be
// stored in an interface value (nil for None, a [*Dict], a [Tuple], an
// [*Object], ...). It is called for None too, unless the
// Unmarshaler is reached through a pointer, which is then set to nil. An
// error it returns stops decoding and is returned unchanged.
//
// # Python to Go
//
// Unmarshal stores a Python value into a Go value as follows, allocating
// pointers, maps and slices as needed.
//
//	Go target                  accepted Python values
//	any (empty interface)      anything, stored as its model value
//	other interface            a model value whose Go type implements it
//	bool                       bool
//	int and uint kinds         int, if it fits (no bool, no float)
//	float32, float64           float or int, if it fits
//	complex64, complex128      complex, float or int
//	*big.Int, big.Int          int
//	string                     str, Python 2 str (its bytes as they are)
//	[]byte, [N]byte            bytes, bytearray, Python 2 str ([N]byte:
//	                           exactly N bytes)
//	slice                      list, tuple, set, frozenset, list subclass
//	array                      list, tuple ... of exactly its length
//	map                        dict, OrderedDict, defaultdict, dict
//	                           subclass; a set or frozenset into a map
//	                           whose values are bool or struct{}
//	struct                     dict with str keys, or an object whose
//	                           state is such a dict (a plain class or
//	                           dataclass instance)
//	time.Time                  datetime.datetime (naive means UTC), date
//	Unmarshaler                anything, passed to UnmarshalPickle
//	encoding.TextUnmarshaler   str, passed to UnmarshalText (other values
//	                           go by the target's kind)
//	pointer                    as its target; None sets it to nil
//	Tuple, []any               list, tuple, set, frozenset (items as they are)
//	ByteArray                  bytearray, bytes
//	ByteString                 Python 2 str, str
//	*Dict, Global, *Object...  a value of that very type, stored as it is
//
// None sets a pointer, interface, map or slice to nil and leaves other
// values unchanged. Dict keys find struct fields by their pickle name
// (tag or field name), exactly first and then case-insensitively; keys
// that match no field are ignored. Map keys are converted like values, so
// a tuple key (1, 2) fills a [2]int key; a tuple key cannot go into an
// interface key, which must be comparable in Go. Decoding into an existing
// map adds to it; into an existing slice replaces its elements.
//
// When a value does not fit its target, decoding goes on with the rest,
// as encoding/json does, and the first such *UnmarshalTypeError is
// returned at the end; the target keeps everything that did fit. Errors
// from UnmarshalPickle or UnmarshalText stop decoding at once. Byte slices
// decoded from bytes share memory with the decoded value. A recursive
// Python value (a list holding itself) cannot go into a typed Go value and
// is reported as an *UnmarshalTypeError.
type Unmarshaler interface {
	UnmarshalPickle(v any) error
}

// UnmarshalTypeError describes a Python value that cannot be stored into a
// Go value of a given type.
type UnmarshalTypeError struct {
	Value string       // the Python value: its type, as "str", "int 300" or "tuple of length 3"
	Type  reflect.Type // the Go type it could not be stored into
	Field string       // dotted path from the root through struct fields and map keys; "" at the root

	in string // what Field names: "map key", "map value", or "" for a struct field
}

func (e *UnmarshalTypeError) Error() string {
	if e.Field != "" {
		in := e.in
		if in == "" {
			in = "struct field"
		}
		return "pickle: cannot unmarshal Python " + e.Value + " into Go " + in + " " + e.Field + " of type " + typeString(e.Type)
	}
	return "pickle: cannot unmarshal Python " + e.Value + " into Go value of type " + typeString(e.Type)
}

// UnsupportedTypeError is returned when marshaling a Go value whose type
// has no Python form (a channel, a function, a map with struct keys...).
type UnsupportedTypeError struct {
	Type reflect.Type
}

func (e *UnsupportedTypeError) Error() string {
	return "pickle: unsupported type: " + typeString(e.Type)
}

// MarshalerError wraps an error returned by a MarshalPickle or MarshalText
// method, or a bad value one of them returned.
type MarshalerError struct {
	Type   reflect.Type
	Err    error
	Method string // "MarshalPickle" or "MarshalText"
}

func (e *MarshalerError) Error() string {
	m := e.Method
	if m == "" {
		m = "MarshalPickle"
	}
	return "pickle: error calling " + m + " for type " + typeString(e.Type) + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *MarshalerError) Unwrap() error { return e.Err }

func typeString(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	return t.String()
}

// unmarshalTarget checks what Unmarshal was given and returns the value to
// store into: v must be a non-nil pointer.
func unmarshalTarget(v any) (reflect.Value, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return reflect.Value{}, &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	return rv.Elem(), nil
}

// pyValueName names a model value's Python type for error messages.
func pyValueName(v any) string {
	if nilModel(v) {
		return "nil " + reflect.TypeOf(v).String()
	}
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int " + strconv.FormatInt(x, 10)
	case int:
		return "int " + strconv.Itoa(x)
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case ByteArray:
		return "bytearray"
	case ByteString:
		return "Python 2 str"
	case []any:
		return "list"
	case Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case *Set:
		return "set"
	case *FrozenSet:
		return "frozenset"
	case Global:
		return "global " + x.qualName()
	case *Object:
		if c := x.Class(); c != "" {
			return c + " object"
		}
		return "object"
	case *big.Int:
		if x != nil && x.BitLen() <= 256 {
			return "int " + x.String()
		}
		return "int"
	}
	return "Go " + reflect.TypeOf(v).String()
}
