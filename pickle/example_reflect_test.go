package pickle_test

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/mpconn/mpconn/pickle"
)

// Celsius pickles as a plain float and reads back from an int or a float.
type Celsius struct{ Degrees float64 }

func (c Celsius) MarshalPickle() (any, error) { return c.Degrees, nil }

func (c *Celsius) UnmarshalPickle(v any) error {
	switch x := v.(type) {
	case float64:
		c.Degrees = x
	case int64:
		c.Degrees = float64(x)
	default:
		return errors.New("celsius: not a number")
	}
	return nil
}

// A Marshaler returns a value of the model (here a float); an Unmarshaler
// receives the decoded model value.
func ExampleMarshaler() {
	var m pickle.Marshaler = Celsius{21.5}
	v, _ := m.MarshalPickle()
	fmt.Printf("%T %v\n", v, v)

	var c Celsius
	var u pickle.Unmarshaler = &c
	_ = u.UnmarshalPickle(int64(30))
	fmt.Println(c.Degrees)
	// Output:
	// float64 21.5
	// 30
}

// An UnmarshalTypeError names the Python value, the Go type and the path
// to the field.
func ExampleUnmarshalTypeError() {
	var err error = &pickle.UnmarshalTypeError{Value: "int 300", Type: reflect.TypeFor[int8](), Field: "Config.Retries"}
	fmt.Println(err)
	var ute *pickle.UnmarshalTypeError
	if errors.As(err, &ute) {
		fmt.Println(ute.Field)
	}
	// Output:
	// pickle: cannot unmarshal Python int 300 into Go struct field Config.Retries of type int8
	// Config.Retries
}
