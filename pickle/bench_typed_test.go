package pickle

import (
	"bytes"
	"testing"
)

// Benchmarks of the typed layer: the Go struct that mirrors the SmallDict
// reference message, encoded and decoded directly, next to CPython 3.11's
// pickle.dumps and pickle.loads of the equivalent dict (measured in the
// same run, as cpython-ns/op):
//
//	go test -run '^$' -bench 'Typed' -benchmem ./pickle

// benchStruct is the Go form of {'id': 1, 'name': 'hello', 'vals': [1.5,
// 2.5, 3.5]}, as mpconn's bench command sends it.
type benchStruct struct {
	ID   int       `pickle:"id"`
	Name string    `pickle:"name"`
	Vals []float64 `pickle:"vals"`
}

const benchStructPy = "{'id': 1, 'name': 'hello', 'vals': [1.5, 2.5, 3.5]}"

func benchStructValue() *benchStruct {
	return &benchStruct{ID: 1, Name: "hello", Vals: []float64{1.5, 2.5, 3.5}}
}

// benchStructPickle returns the pickle of the struct, checking that it is
// the pickle of the equivalent dict (CPython's bytes for it).
func benchStructPickle(b *testing.B) []byte {
	data, err := Marshal(benchStructValue())
	if err != nil {
		b.Fatal(err)
	}
	want, err := Marshal(benchSmallDict())
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		b.Fatalf("struct pickle %x differs from dict pickle %x", data, want)
	}
	return data
}

func BenchmarkTypedEncode(b *testing.B) {
	b.Run("Struct", func(b *testing.B) {
		cpy := cpythonNs(benchStructPy, "pickle.dumps(v, 4)")
		v := benchStructValue()
		buf := benchStructPickle(b)
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var err error
			if buf, err = AppendMarshal(buf[:0], v, DefaultProtocol); err != nil {
				b.Fatal(err)
			}
		}
		reportCPython(b, cpy)
	})
}

func BenchmarkTypedDecode(b *testing.B) {
	b.Run("Struct", func(b *testing.B) {
		cpy := cpythonNs(benchStructPy, "pickle.loads(d)")
		data := benchStructPickle(b)
		var dst benchStruct
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := Unmarshal(data, &dst); err != nil {
				b.Fatal(err)
			}
		}
		reportCPython(b, cpy)
		if dst.ID != 1 || dst.Name != "hello" || len(dst.Vals) != 3 {
			b.Fatalf("decoded %+v", dst)
		}
	})
}

func BenchmarkTypedRoundTrip(b *testing.B) {
	b.Run("Struct", func(b *testing.B) {
		cpy := cpythonNs(benchStructPy, "pickle.loads(pickle.dumps(v, 4))")
		v := benchStructValue()
		buf := benchStructPickle(b)
		var dst benchStruct
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var err error
			if buf, err = AppendMarshal(buf[:0], v, DefaultProtocol); err != nil {
				b.Fatal(err)
			}
			if err := Unmarshal(buf, &dst); err != nil {
				b.Fatal(err)
			}
		}
		reportCPython(b, cpy)
	})
}
