package main

import "github.com/mpconn/mpconn"

// benchObject is the small value of the object cases, the Go form of
// CPython's {'id': 1, 'name': 'hello', 'vals': [1.5, 2.5, 3.5]}. Its fields
// are pickled in this order, as the dict's keys are.
type benchObject struct {
	ID   int       `pickle:"id"`
	Name string    `pickle:"name"`
	Vals []float64 `pickle:"vals"`
}

// benchObj is the value sent; benchEnd (id -1) ends a stream.
var (
	benchObj = benchObject{ID: 1, Name: "hello", Vals: []float64{1.5, 2.5, 3.5}}
	benchEnd = benchObject{ID: -1, Name: "", Vals: []float64{}}
)

// benchCodec pickles the object cases' values for the Go implementations.
// It is nil while the pickle codec is not in this tree: the object cases
// of mpconn and raw Go then print "n/a (pickle codec not merged)".
var benchCodec mpconn.Codec

// errNoPickle is the note of the rows that need benchCodec when it is nil.
const noPickleNote = "n/a (pickle codec not merged)"
