// Package pickle reads and writes Python pickles (protocols 0 to 5) the way
// CPython does, and never executes anything a pickle names.
//
// It is shaped like encoding/json: [Marshal], [MarshalProtocol] and
// [AppendMarshal] write a pickle; [Unmarshal] reads one; [NewEncoder] and
// [NewDecoder] stream them; [NewBytesDecoder] reads an in-memory message
// with non-default [Limits] or out-of-band buffers; [Protocol] tells which
// protocol a pickle declares.
//
// # Type mapping
//
// Decoding into an interface value (any) produces, for each Python type:
//
//	Python                      Go
//	None                        nil
//	bool                        bool
//	int (and Python 2 long)     int64, or *big.Int outside the int64 range
//	float                       float64
//	str (Python 2 unicode)      string (see "Strings" below)
//	bytes                       []byte
//	bytearray                   [ByteArray]
//	Python 2 str                [ByteString]
//	list                        []any
//	tuple                       [Tuple]
//	dict                        [*Dict] (insertion order, any hashable key)
//	set                         [*Set]
//	frozenset                   [*FrozenSet]
//	class, function (a name)    [Global]
//	anything else               [*Object]: class instances, datetime,
//	                            Decimal, complex, OrderedDict, exceptions...
//
// Encoding accepts all of these, plus every Go int, uint and float type,
// map[string]any (a dict with sorted keys), and, through the typed layer,
// structs, maps, slices and pointers. Any other value is an error.
//
// Old protocols write some built-in types as calls: bytes at protocols 0 to
// 2 as _codecs.encode(str, 'latin1'), sets and frozensets below protocol 4
// as set([...]), bytearrays as bytearray(...), nested class names as
// getattr(class, name), and __getnewargs_ex__ objects below protocol 4 as
// copyreg.__newobj_ex__(cls, args, kwargs). The decoder recognises exactly
// these patterns and produces the values above; it calls nothing. Python 2 names (__builtin__,
// exceptions, copy_reg, ...) are mapped to their Python 3 names at
// protocols 0 to 2, and back when encoding at protocol 2, as CPython does
// with fix_imports. Python 2 int and long both become int64 (or *big.Int),
// and an int64 is written back as CPython 3 writes it: BININT within 32
// bits, LONG1 beyond. So Python 2 gets an int within 32 bits and a long
// past them, whatever it sent (the values are equal; the types may differ).
//
// # Objects
//
// An [*Object] records how the pickle said to build a value: its
// [ObjectKind] (REDUCE, NEWOBJ, NEWOBJ_EX, or OBJ for INST/OBJ), the
// callable (usually a [Global] such as builtins.ValueError), the arguments,
// the BUILD state, and items APPENDed or SETITEMed on it. Encoding an
// *Object writes the same opcodes back, so values can be decoded, inspected
// and passed on unchanged. Exceptions from a Python peer arrive as
// *Object{Callable: Global{"builtins", "ValueError"}, Args: Tuple{"msg"}}.
//
// # Printing
//
// Decoded values print as Python prints them: fmt.Println of a [*Dict]
// prints {'a': (1, 2)}, as do [*Set], [*FrozenSet], [Tuple], [ByteArray],
// [ByteString], [*Object] (builtins.ValueError('msg'),
// datetime.date(2024, 1, 2)) and [Global] with %v and %s. [Repr] gives the
// same text for any decoded value, a list ([]any), str or bytes included,
// and describes the forms of values whose Python repr needs the class's
// code.
//
// # Strings
//
// A Python str is a sequence of code points and may contain lone
// surrogates (U+D800 to U+DFFF), which UTF-8 cannot represent. CPython
// writes them with the 'surrogatepass' error handler: each surrogate as
// its 3-byte generalized UTF-8 sequence (ED A0 80 to ED BF BF). Decoded
// strings keep those bytes unchanged, so such a string is not valid UTF-8
// in Go (utf8 functions see RuneError there) but is written back exactly as
// CPython wrote it. Two surrogates forming a pair are kept as two 3-byte
// sequences, since Python also keeps them as two code points. Any other
// invalid UTF-8 is rejected, both when decoding (as CPython does) and when
// encoding (a Go string that is not UTF-8 is not a Python str; use []byte).
//
// # Identity, sharing and recursion
//
// As in CPython, a value referenced twice is written once and then
// referenced through the memo, and a list, dict, set or object can contain
// itself. When decoding, shared lists are one []any (one backing array),
// shared dicts, sets and objects one pointer, and self-references work.
// When encoding, identity is the pointer for *Dict, *Set, *FrozenSet and
// *Object; the backing array and length for []any, [Tuple], []byte and
// [ByteArray]; and the data pointer and length for strings (except the
// empty string and one-character strings below U+0100, which CPython keeps
// one object for, and which are therefore shared by value). A
// map[string]any has no identity (a map containing itself fails at the
// depth limit). Other Go values (typed structs, slices, maps, pointers)
// are identified too: a Go pointer, a map, or a non-empty slice (its
// backing array and length) reached more than once is written once and
// then referenced, as CPython writes an object it has pickled already, so
// a typed value decoded from a pickle of memo references re-encodes in
// proportion to that pickle; pointers to and slices of zero-size values
// are not identified (distinct ones may share an address). A Go cycle is
// an error. A list with no
// backing array (nil or a zero-capacity empty slice) has no identity: each
// occurrence is written as a new empty list. (Decoded empty lists that were
// shared get a backing array, so the sharing survives a round trip.)
//
// For ordinary data, protocol 4 and 5 output is byte for byte what
// CPython 3.8 to 3.13 write for the same value (FRAME placement, MEMOIZE
// after each memoizable value, the shortest int opcode, batches of 1000),
// which the tests check against every installed CPython.
//
// # Memory
//
// To keep decoding cheap, decoded values are not allocated one by one:
// short strings, floats and ints, the headers of strings, lists and
// tuples, small dicts and the items of small lists, tuples and dicts are
// stored in blocks of a few kilobytes that a decoder shares between the
// values of a message and of the messages after it ([Unmarshal] uses a
// pool of decoders). A value kept after the rest of its message is dropped
// may therefore keep a few kilobytes of memory alive. Encoding into a
// reused buffer ([AppendMarshal], [Encoder]) allocates nothing for the
// value types of this package. A [Decoder] reused with
// [Decoder.ResetBytes] (or [Unmarshal]) allocates mostly new blocks as
// the old ones fill, large values (long strings, bytes, big lists), and
// the result's own box; with [Decoder.SetZeroCopy] bytes values share
// the message's memory instead of being copied.
//
// Go values other than the model types are written straight to opcodes
// (structs, slices, arrays, maps with string or integer keys, pointers,
// interfaces, bools, numbers, strings, []byte), with exactly the bytes
// their conversion to model values would give, which is still used for
// the rest (Marshalers, times, big ints, other maps): [AppendMarshal] of
// a struct of such fields into a reused buffer allocates nothing.
// Likewise [Unmarshal] into a struct, slice, string, number or bool (or a
// pointer to one) made only of such types reads plain data (dicts, lists,
// str, int, float, bool, None, as CPython pickles them) straight into the
// target, allocating only the strings and slices it stores (not even
// those when the target already holds an equal string, or a slice with
// room enough); any other pickle or target goes through the model value,
// with the same results and errors.
//
// # Security considerations
//
// Decoding runs no code. GLOBAL and STACK_GLOBAL produce [Global] names
// that are never imported or resolved; REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ
// and BUILD produce inert [*Object] records. (CPython's pickle.loads, and so
// multiprocessing's Connection.recv, runs arbitrary code; this package is
// meant for pickles from peers that are not trusted.) Persistent IDs (PERSID,
// BINPERSID) and extension codes (EXT1, EXT2, EXT4) are rejected with a
// [*SyntaxError], as are out-of-band buffers unless supplied with
// [Decoder.SetBuffers].
//
// Resources are bounded. Length fields never allocate more than the bytes
// actually present; nesting (open MARKs), the memo, and the number of items
// on the stack and in any one container are bounded by [Limits] (see
// [DefaultLimits]); and work that shared references could amplify (copying
// a shared list into a set, hashing tuple keys made of shared tuples) is
// charged to a budget proportional to the input size, so a small pickle
// cannot make the decoder do or keep much more. Malformed or truncated
// input gives a [*SyntaxError] (wrapping [io.ErrUnexpectedEOF] when the
// input ended early) or a [*LimitError], never a panic. The nesting depth
// of a decoded value is bounded by Limits.MaxDepth (10000 by default), so
// code that walks it recursively cannot overflow its stack; the encoder
// stops at the same depth.
//
// A decoded value may be a graph with cycles and shared parts: code that
// walks it must track what it has visited (as [Equal] does).
package pickle
