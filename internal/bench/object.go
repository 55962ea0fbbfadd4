package bench

import "github.com/mpconn/mpconn"

// Object is the small value of the object cases, the Go form of
// CPython's {'id': 1, 'name': 'hello', 'vals': [1.5, 2.5, 3.5]}. Its fields
// are pickled in this order, as the dict's keys are.
type Object struct {
	ID   int       `pickle:"id"`
	Name string    `pickle:"name"`
	Vals []float64 `pickle:"vals"`
}

// Obj is the value sent; benchEnd (id -1) ends a stream.
var (
	Obj      = Object{ID: 1, Name: "hello", Vals: []float64{1.5, 2.5, 3.5}}
	benchEnd = Object{ID: -1, Name: "", Vals: []float64{}}
)

// benchCodec pickles the object cases' values for the raw baseline:
// mpconn's default codec, mpconn.Pickle (protocol 4, what CPython 3.8 and
// later send). The mpconn implementation leaves its Conn's codec unset, so
// that it runs as an application would, with the default.
var benchCodec = mpconn.Pickle
