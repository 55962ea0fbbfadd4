package pickle

import (
	"reflect"
	"strconv"
)

// A SyntaxError reports malformed or truncated pickle data, with the offset
// of the opcode (or read) where decoding failed. When the data ended early,
// Err is [io.ErrUnexpectedEOF] (so errors.Is works); otherwise Err is nil or
// the underlying cause.
type SyntaxError struct {
	Offset int64  // byte offset in the input
	Msg    string // description
	Err    error  // underlying error, if any
}

func (e *SyntaxError) Error() string {
	s := "pickle: " + e.Msg + " at offset " + strconv.FormatInt(e.Offset, 10)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns e.Err.
func (e *SyntaxError) Unwrap() error { return e.Err }

// A LimitError reports a pickle that exceeds one of the decoder's [Limits]
// (or a value nested too deeply to encode).
type LimitError struct {
	Limit  string // which limit: "depth", "memo", "items", "allocation", "hash key size", "encode depth"
	Max    int64  // its value
	Offset int64  // byte offset in the input, when decoding
}

func (e *LimitError) Error() string {
	return "pickle: " + e.Limit + " limit (" + strconv.FormatInt(e.Max, 10) + ") exceeded at offset " +
		strconv.FormatInt(e.Offset, 10)
}

// An InvalidUnmarshalError describes an invalid argument passed to
// [Unmarshal] or [Decoder.Decode]: it must be a non-nil pointer.
type InvalidUnmarshalError struct {
	Type reflect.Type
}

func (e *InvalidUnmarshalError) Error() string {
	if e.Type == nil {
		return "pickle: Unmarshal(nil)"
	}
	if e.Type.Kind() != reflect.Pointer {
		return "pickle: Unmarshal(non-pointer " + e.Type.String() + ")"
	}
	return "pickle: Unmarshal(nil " + e.Type.String() + ")"
}

// An UnsupportedValueError reports a value of a supported type that cannot
// be pickled: a string that is not UTF-8, an int too large for the
// protocol, an object kind the protocol cannot express.
type UnsupportedValueError struct {
	Value any
	Str   string
}

func (e *UnsupportedValueError) Error() string {
	return "pickle: unsupported value: " + e.Str
}
