package pickle_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/mpconn/mpconn/pickle"
)

// Struct fields pickle as a dict with str keys, named by their tags.
func ExampleMarshal_struct() {
	type Job struct {
		Name    string   `pickle:"name"`
		Retries int      `pickle:"retries,omitempty"`
		Tags    []string `pickle:"tags"`
		Secret  string   `pickle:"-"`
	}
	data, err := pickle.Marshal(Job{Name: "build", Tags: []string{"ci"}, Secret: "x"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Read it back without a Go type: a dict decodes to a *pickle.Dict.
	var v any
	if err := pickle.Unmarshal(data, &v); err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range v.(*pickle.Dict).Items() {
		fmt.Printf("%v: %v\n", it.Key, it.Value)
	}
	// Output:
	// name: build
	// tags: [ci]
}

// Unmarshal fills a struct from a dict, matching keys to field names
// case-insensitively and ignoring unknown keys.
func ExampleUnmarshal_struct() {
	data, err := pickle.Marshal(map[string]any{"NAME": "Ada", "age": 36, "extra": true})
	if err != nil {
		fmt.Println(err)
		return
	}
	var p struct {
		Name string
		Age  uint8
	}
	if err := pickle.Unmarshal(data, &p); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", p)
	// Output:
	// {Name:Ada Age:36}
}

// A value that does not fit is reported with the path to its field; the
// other fields are still stored.
func ExampleUnmarshal_typeError() {
	data, err := pickle.Marshal(map[string]any{
		"Limits": map[string]any{"Retries": 300},
		"Name":   "job",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var cfg struct {
		Limits struct{ Retries int8 }
		Name   string
	}
	err = pickle.Unmarshal(data, &cfg)
	var ute *pickle.UnmarshalTypeError
	if errors.As(err, &ute) {
		fmt.Println(ute.Field, ute.Value, ute.Type)
	}
	fmt.Println(cfg.Name)
	// Output:
	// Limits.Retries int 300 int8
	// job
}

// Map keys may be tuples: a [2]int key pickles as a Python tuple, and
// tuple keys decode into array keys.
func ExampleMarshal_tupleKeys() {
	grid := map[[2]int]string{{0, 0}: "origin", {1, 2}: "point"}
	data, err := pickle.Marshal(grid)
	if err != nil {
		fmt.Println(err)
		return
	}
	var back map[[2]int]string
	if err := pickle.Unmarshal(data, &back); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back[[2]int{1, 2}], len(back))
	// Output:
	// point 2
}

// A time.Time pickles as an aware datetime.datetime, to the microsecond.
func ExampleMarshal_time() {
	t := time.Date(2024, 2, 29, 12, 30, 0, 123456789, time.FixedZone("", 3600))
	data, err := pickle.Marshal(t)
	if err != nil {
		fmt.Println(err)
		return
	}
	var back time.Time
	if err := pickle.Unmarshal(data, &back); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.Format(time.RFC3339Nano))
	// Output:
	// 2024-02-29T12:30:00.123456+01:00
}

// Point chooses its Python form: a tuple (x, y).
type Point struct{ X, Y int }

func (p Point) MarshalPickle() (any, error) { return pickle.Tuple{int64(p.X), int64(p.Y)}, nil }

func (p *Point) UnmarshalPickle(v any) error {
	t, ok := v.(pickle.Tuple)
	if !ok || len(t) != 2 {
		return errors.New("point: want a 2-tuple")
	}
	x, ok1 := t[0].(int64)
	y, ok2 := t[1].(int64)
	if !ok1 || !ok2 {
		return errors.New("point: want ints")
	}
	p.X, p.Y = int(x), int(y)
	return nil
}

func ExampleMarshaler_tuple() {
	data, err := pickle.Marshal([]Point{{1, 2}, {3, 4}})
	if err != nil {
		fmt.Println(err)
		return
	}
	var raw any
	if err := pickle.Unmarshal(data, &raw); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(pickle.Repr(raw)) // as Python prints it

	var pts []Point
	if err := pickle.Unmarshal(data, &pts); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(pts)
	// Output:
	// [(1, 2), (3, 4)]
	// [{1 2} {3 4}]
}
