package pickle_test

import (
	"errors"
	"fmt"

	"github.com/mpconn/mpconn/pickle"
)

func ExampleMarshal() {
	d := pickle.NewDict()
	d.Set("a", 1.5)
	d.Set("b", []byte("x"))
	data, err := pickle.Marshal(d)
	if err != nil {
		panic(err)
	}
	// What CPython's pickle.dumps({'a': 1.5, 'b': b'x'}, 4) returns.
	fmt.Printf("%x\n", data)
	// Output: 8004951a000000000000007d94288c016194473ff80000000000008c01629443017894752e
}

func ExampleUnmarshal() {
	// pickle.dumps([1, 'hello', None, (2.5, b'z')], 4)
	data := []byte("\x80\x04\x95\x1f\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01\x8c\x05hello\x94NG@\x04\x00\x00\x00\x00\x00\x00C\x01z\x94\x86\x94e.")
	var v any
	if err := pickle.Unmarshal(data, &v); err != nil {
		panic(err)
	}
	for _, x := range v.([]any) {
		fmt.Printf("%T %v\n", x, x)
	}
	// Output:
	// int64 1
	// string hello
	// <nil> <nil>
	// pickle.Tuple (2.5, b'z')
}

// An exception sent by a Python peer decodes to an inert *Object.
func Example_object() {
	// pickle.dumps(ValueError('boom'), 4)
	data := []byte("\x80\x04\x95&\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\nValueError\x94\x93\x94\x8c\x04boom\x94\x85\x94R\x94.")
	var v any
	if err := pickle.Unmarshal(data, &v); err != nil {
		panic(err)
	}
	if o, ok := v.(*pickle.Object); ok {
		fmt.Println(o.Kind, o.Class(), o.Args)
	}
	// It encodes back to the same bytes.
	again, _ := pickle.Marshal(v)
	fmt.Println(string(again) == string(data))
	// Output:
	// REDUCE builtins.ValueError ('boom',)
	// true
}

func ExampleDecoder_SetLimits() {
	data := []byte("((((((N.")
	dec := pickle.NewBytesDecoder(data)
	dec.SetLimits(pickle.Limits{MaxDepth: 4})
	var v any
	err := dec.Decode(&v)
	var le *pickle.LimitError
	fmt.Println(errors.As(err, &le), le.Limit)
	// Output: true depth
}

func ExampleProtocol() {
	fmt.Println(pickle.Protocol([]byte("\x80\x02N.")), pickle.Protocol([]byte("N.")))
	// Output: 2 0
}
