package pickle_test

import (
	"fmt"

	"github.com/mpconn/mpconn/pickle"
)

// Decoded values print as Python prints them.
func ExampleRepr() {
	data, _ := pickle.Marshal(map[string]any{"job": pickle.Tuple{1, "go", []byte("\x00")}})
	var v any
	if err := pickle.Unmarshal(data, &v); err != nil {
		panic(err)
	}
	fmt.Println(v) // a *pickle.Dict
	fmt.Println(pickle.Repr([]any{"it's", 2.0, nil}))
	// Output:
	// {'job': (1, 'go', b'\x00')}
	// ["it's", 2.0, None]
}
