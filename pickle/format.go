package pickle

import "fmt"

// The model types print as Python prints the objects they stand for
// ([Repr]) with fmt's %v and %s verbs and with Print and Println:
// fmt.Println(d) for a *Dict decoded from {'a': (1, 2)} prints
// {'a': (1, 2)}. The slice and string types (Tuple, ByteArray,
// ByteString) keep Go's formatting for the other verbs (%x of a
// ByteArray is its bytes in hexadecimal) and for %#v.

// String returns the Python repr of the dict, such as {'a': 1}.
func (d *Dict) String() string { return Repr(d) }

// String returns the Python repr of the set, such as {1, 2} or set().
func (s *Set) String() string { return Repr(s) }

// String returns the Python repr of the frozenset, such as
// frozenset({1, 2}).
func (s *FrozenSet) String() string { return Repr(s) }

// String returns the Python form of the object described at [Repr], such
// as decimal.Decimal('1.5').
func (o *Object) String() string { return Repr(o) }

// String returns the Python repr of the tuple, such as (1, 'a') or (1,).
func (t Tuple) String() string { return Repr(t) }

// Format prints the tuple's Python repr for %v and %s, and formats it as
// a []any otherwise.
func (t Tuple) Format(f fmt.State, verb rune) { format(f, verb, t, []any(t)) }

// String returns the Python repr of the bytearray, such as
// bytearray(b'ab\x00').
func (b ByteArray) String() string { return Repr(b) }

// Format prints the bytearray's Python repr for %v and %s, and formats
// it as a []byte otherwise (%x gives its bytes in hexadecimal).
func (b ByteArray) Format(f fmt.State, verb rune) { format(f, verb, b, []byte(b)) }

// String returns the repr Python 2 prints for the str, such as 'ab\x00'.
func (s ByteString) String() string { return Repr(s) }

// Format prints the string's Python 2 repr for %v and %s, and formats it
// as a Go string otherwise (%q, %x).
func (s ByteString) Format(f fmt.State, verb rune) { format(f, verb, s, string(s)) }

// format writes v's repr for %v (without the # flag) and %s, honouring
// width and precision as %s does, and plain with fmt's own rules
// otherwise.
func format(f fmt.State, verb rune, v any, plain any) {
	if (verb == 'v' && !f.Flag('#')) || verb == 's' {
		fmt.Fprintf(f, fmt.FormatString(f, 's'), Repr(v))
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), plain)
}
