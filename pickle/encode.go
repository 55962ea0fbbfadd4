package pickle

import (
	"io"
	"strconv"
	"sync"
)

// maxEncodeDepth bounds the nesting of containers the encoder follows (it
// recurses; CPython's pickler stops at its recursion limit too).
const maxEncodeDepth = 10000

// Marshal returns the protocol 4 pickle of v: the bytes CPython 3.8 to
// 3.13 produce for the same Python value (with FRAME and MEMOIZE placed as
// CPython's C pickler places them). See [MarshalProtocol].
func Marshal(v any) ([]byte, error) {
	return AppendMarshal(nil, v, DefaultProtocol)
}

// MarshalProtocol returns the pickle of v at protocol proto (2 to 5).
//
// Go values map to Python values as in the package documentation: nil,
// bool, all int and uint types (as int), float32 and float64, string (as
// str; it must be UTF-8, or the generalized UTF-8 this package uses for
// lone surrogates), []byte (bytes), [ByteArray], [ByteString] (a Python 2
// str), []any (list), [Tuple], [*Dict], map[string]any (a dict with sorted
// keys), [*Set], [*FrozenSet], *big.Int, [Global] and [*Object] (nil
// pointers of these types are None; nil slices are empty). Other
// types (structs, maps, slices, pointers) are converted first, as described
// for the typed layer. Shared lists, dicts, sets, tuples, strings, bytes
// and objects are written once and referenced from the memo, so shared and
// self-referencing values survive, as with CPython; so are Go pointers,
// maps and slices reached more than once (see "Identity, sharing and
// recursion" in the package documentation).
//
// At protocol 2 (for Python 2.7 peers) bytes are written as
// _codecs.encode(str, 'latin1'), sets and frozensets and bytearrays as
// REDUCE calls, and global names are mapped to their Python 2 modules
// (builtins to __builtin__, ...), as CPython does with fix_imports.
func MarshalProtocol(v any, proto int) ([]byte, error) {
	return AppendMarshal(nil, v, proto)
}

// AppendMarshal appends the pickle of v at protocol proto to dst and
// returns the extended buffer. With a dst of sufficient capacity, encoding
// the values of this package allocates nothing.
func AppendMarshal(dst []byte, v any, proto int) ([]byte, error) {
	if proto < 2 || proto > HighestProtocol {
		return dst, errProtocol(proto)
	}
	e := encPool.Get().(*encodeState)
	e.buf = dst
	err := e.marshal(v, proto)
	out := e.buf
	e.buf = nil
	e.reset()
	encPool.Put(e)
	if err != nil {
		return dst, err
	}
	return out, nil
}

var encPool = sync.Pool{New: func() any { return new(encodeState) }}

func errProtocol(p int) error {
	return &UnsupportedValueError{Value: p, Str: "pickle protocol " + strconv.Itoa(p) + " (this package writes 2 to 5)"}
}

// An Encoder writes pickles to an output stream, one per Encode call. It
// is not safe for concurrent use.
type Encoder struct {
	w     io.Writer
	proto int
	e     encodeState
}

// NewEncoder returns an Encoder writing protocol 4 pickles to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: w, proto: DefaultProtocol}
}

// SetProtocol sets the protocol (2 to 5) of subsequent pickles.
func (enc *Encoder) SetProtocol(proto int) error {
	if proto < 2 || proto > HighestProtocol {
		return errProtocol(proto)
	}
	enc.proto = proto
	return nil
}

// Encode writes the pickle of v, as [MarshalProtocol] makes it, with one
// Write call.
func (enc *Encoder) Encode(v any) error {
	e := &enc.e
	e.buf = e.buf[:0]
	err := e.marshal(v, enc.proto)
	e.reset()
	if err != nil {
		return err
	}
	_, err = enc.w.Write(e.buf)
	if cap(e.buf) > 1<<20 {
		e.buf = nil
	}
	return err
}
