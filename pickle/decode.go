package pickle

import (
	"io"
	"reflect"
	"sync"
)

// A Decoder reads and decodes pickles from an input stream, one pickle per
// call to [Decoder.Decode].
//
// The decoder buffers its input: it may read beyond the end of a pickle,
// and keeps those bytes for the next Decode ([Decoder.Buffered] returns
// them). After an error other than [io.EOF] its position in the input is
// undefined. A Decoder is not safe for concurrent use.
type Decoder struct {
	st decodeState
}

// NewDecoder returns a Decoder that reads from r, with [DefaultLimits].
func NewDecoder(r io.Reader) *Decoder {
	d := &Decoder{}
	d.st.in.r = r
	d.st.limits = DefaultLimits
	return d
}

// NewBytesDecoder returns a Decoder that reads the pickles in data,
// without copying it (str and bytes values are still copied out of data).
// It is the way to apply non-default [Limits] or out-of-band buffers to an
// in-memory message.
func NewBytesDecoder(data []byte) *Decoder {
	d := &Decoder{}
	d.st.in.buf = data
	d.st.limits = DefaultLimits
	return d
}

// SetLimits sets the limits for subsequent Decode calls; zero fields mean
// the defaults.
func (d *Decoder) SetLimits(l Limits) { d.st.limits = l.withDefaults() }

// SetBuffers supplies the out-of-band buffers that protocol 5 NEXT_BUFFER
// opcodes refer to, consumed in order across Decode calls (like the
// buffers argument of Python's pickle.loads). NEXT_BUFFER pushes the next
// buffer as a [ByteArray] sharing its memory, and READONLY_BUFFER turns it
// into a []byte. Without buffers, NEXT_BUFFER is an error, as in CPython's
// Connection.recv.
func (d *Decoder) SetBuffers(bufs [][]byte) {
	d.st.buffers = bufs
	d.st.hasBuffers = true
}

// ResetBytes makes d read the pickles in data, as a Decoder made by
// [NewBytesDecoder] does, dropping any unread input and keeping its
// settings and internal buffers: a Conn, for instance, can keep one
// Decoder and reset it for each message, so that decoding a message
// allocates only its values.
func (d *Decoder) ResetBytes(data []byte) { d.st.in = input{buf: data} }

// SetZeroCopy makes a Decoder made by [NewBytesDecoder] return bytes and
// bytearray values that share memory with its input instead of copies,
// which saves copying large payloads. The caller hands the input over: it
// must not modify or reuse it while those values are in use (and writing
// to a decoded [ByteArray] writes into the input). Strings are always
// copied, and a Decoder reading from an io.Reader always copies.
func (d *Decoder) SetZeroCopy(on bool) { d.st.zeroCopy = on }

// Buffered returns a reader of the data remaining in the Decoder's buffer.
func (d *Decoder) Buffered() io.Reader {
	return &sliceReader{b: d.st.in.buf[d.st.in.pos:]}
}

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// Decode reads the next pickle from its input and stores the result in the
// value pointed to by v, as [Unmarshal] does. At the end of the input it
// returns [io.EOF]; a pickle cut short gives an error wrapping
// [io.ErrUnexpectedEOF].
func (d *Decoder) Decode(v any) error {
	if d.st.in.atEOF() {
		if d.st.in.err != nil && d.st.in.err != io.EOF {
			return d.st.in.err
		}
		return io.EOF
	}
	val, err := d.st.decode()
	d.st.in.shrink()
	if err != nil {
		return err
	}
	return store(v, val)
}

// Unmarshal decodes the pickle in data and stores the result in the value
// pointed to by v, which must be a non-nil pointer.
//
// Into an *any, Unmarshal stores the Go values listed in the package
// documentation: nil, bool, int64 (or *big.Int), float64, string, []byte,
// [ByteArray], [ByteString], []any, [Tuple], [*Dict], [*Set],
// [*FrozenSet], [Global] and [*Object]. Other targets receive the same
// values converted to their type.
//
// Unmarshal uses [DefaultLimits] and ignores any data after the pickle's
// STOP opcode, as CPython's pickle.loads does. Malformed or truncated data
// gives a [*SyntaxError]; data over a limit a [*LimitError].
func Unmarshal(data []byte, v any) error {
	if _, ok := v.(*any); !ok && unmarshalDirect(data, v) {
		return nil
	}
	return unmarshalReference(data, v)
}

// unmarshalReference is Unmarshal on the reference path: the model value,
// then assignValue (unmarshalDirect is the direct path).
func unmarshalReference(data []byte, v any) error {
	st := statePool.Get().(*decodeState)
	st.in = input{buf: data}
	st.limits = DefaultLimits
	st.buffers, st.hasBuffers = nil, false
	val, err := st.decode()
	st.in = input{}
	statePool.Put(st)
	if err != nil {
		return err
	}
	return store(v, val)
}

var statePool = sync.Pool{New: func() any { return new(decodeState) }}

// store puts a decoded value into *v.
func store(v any, val any) error {
	if p, ok := v.(*any); ok && p != nil {
		*p = val
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	return assignValue(rv.Elem(), val)
}
