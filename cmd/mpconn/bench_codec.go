package main

import (
	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/pickle"
)

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

// benchCodec pickles the object cases' values for the Go implementations,
// at protocol 4 (pickle.DefaultProtocol), what CPython 3.8 and later send.
var benchCodec mpconn.Codec = pickleCodec{proto: pickle.DefaultProtocol}

// pickleCodec is an mpconn.Codec over the pickle package, writing pickles
// at protocol proto (2 for a CPython 2.7 peer).
type pickleCodec struct{ proto int }

func (c pickleCodec) Marshal(v any) ([]byte, error) { return pickle.MarshalProtocol(v, c.proto) }

func (pickleCodec) Unmarshal(data []byte, v any) error { return pickle.Unmarshal(data, v) }
