// Package pickle reads and writes Python pickles (protocols 0 to 5) the way
// CPython does, and never executes anything a pickle names.
//
// It is shaped like encoding/json: [Marshal] and [Unmarshal], streaming
// [Encoder] and [Decoder]. Decoding into an interface value gives the
// natural Go values listed in value.go's mapping; Python objects Go cannot
// build decode to inert [Global] and [*Object] values that encode back to
// the same opcodes.
package pickle
