package main

import "github.com/mpconn/mpconn/pickle"

// pyRepr renders a decoded value as Python 3's repr() prints it, with the
// library's printer (see pickle.Repr for the forms of values that have no
// computable Python repr).
func pyRepr(v any) string { return pickle.Repr(v) }
