package pickle

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
)

// Benchmarks of the three reference messages. The RoundTrip benchmarks
// also time CPython 3.11's C pickle (pickle.dumps + pickle.loads of the
// same object at protocol 4, with timeit) and report it as cpython-ns/op,
// with x-faster = CPython time / Go time.
//
//	go test -run '^$' -bench . -benchmem ./pickle

func benchSmallDict() any {
	d := NewDict()
	d.Set("id", int64(1))
	d.Set("name", "hello")
	d.Set("vals", []any{1.5, 2.5, 3.5})
	return d
}

func benchInts() any {
	l := make([]any, 10000)
	for i := range l {
		l[i] = int64(i)
	}
	return l
}

func benchBytes() any {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

var benchCases = []struct {
	name  string
	make  func() any
	pyval string // the same value in Python
}{
	{"SmallDict", benchSmallDict, "{'id': 1, 'name': 'hello', 'vals': [1.5, 2.5, 3.5]}"},
	{"Ints10000", benchInts, "list(range(10000))"},
	{"Bytes1MiB", benchBytes, "bytes(i % 251 for i in range(1 << 20))"},
}

func benchEncode(b *testing.B, v any) {
	buf, err := AppendMarshal(nil, v, DefaultProtocol)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf, err = AppendMarshal(buf[:0], v, DefaultProtocol)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecode(b *testing.B, v any) {
	data, err := Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var w any
		if err := Unmarshal(data, &w); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			cpy := cpythonNs(c.pyval, "pickle.dumps(v, 4)")
			benchEncode(b, c.make())
			reportCPython(b, cpy)
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			cpy := cpythonNs(c.pyval, "pickle.loads(d)")
			benchDecode(b, c.make())
			reportCPython(b, cpy)
		})
	}
}

// BenchmarkDecodeZeroCopy decodes with one Decoder, reset for each
// message, with SetZeroCopy: bytes share memory with the message.
func BenchmarkDecodeZeroCopy(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			cpy := cpythonNs(c.pyval, "pickle.loads(d)")
			data, err := Marshal(c.make())
			if err != nil {
				b.Fatal(err)
			}
			d := NewBytesDecoder(nil)
			d.SetZeroCopy(true)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d.ResetBytes(data)
				var w any
				if err := d.Decode(&w); err != nil {
					b.Fatal(err)
				}
			}
			reportCPython(b, cpy)
		})
	}
}

// BenchmarkRoundTrip is encode into a reused buffer plus decode.
func BenchmarkRoundTrip(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			cpy := cpythonNs(c.pyval, "pickle.loads(pickle.dumps(v, 4))")
			v := c.make()
			buf, err := Marshal(v)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				buf, err = AppendMarshal(buf[:0], v, DefaultProtocol)
				if err != nil {
					b.Fatal(err)
				}
				var w any
				if err := Unmarshal(buf, &w); err != nil {
					b.Fatal(err)
				}
			}
			reportCPython(b, cpy)
		})
	}
}

var cpyTimes sync.Map // "value|stmt" -> float64 ns, or error

// cpythonNs returns CPython 3.11's time for stmt on the value (measured
// once per process), or the error that prevented measuring it.
func cpythonNs(pyval, stmt string) any {
	key := pyval + "|" + stmt
	t, ok := cpyTimes.Load(key)
	if !ok {
		t = timeCPython(pyval, stmt)
		cpyTimes.Store(key, t)
	}
	return t
}

// reportCPython reports CPython's time and its ratio to Go's time per op.
func reportCPython(b *testing.B, cpy any) {
	ns, ok := cpy.(float64)
	if !ok {
		b.Logf("CPython timing unavailable: %v", cpy)
		return
	}
	goNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns, "cpython-ns/op")
	b.ReportMetric(ns/goNs, "x-faster")
}

func timeCPython(pyval, stmt string) any {
	py, ok := cpython.Get("3.11")
	if !ok {
		return fmt.Errorf("CPython 3.11 is not installed")
	}
	script := `import pickle, timeit
v = ` + pyval + `
d = pickle.dumps(v, 4)
t = timeit.Timer(` + strconv.Quote(stmt) + `, globals=globals())
n, _ = t.autorange()
best = min(t.repeat(5, n)) / n
print(best * 1e9)`
	out, err := py.Output(2*time.Minute, script)
	if err != nil {
		return err
	}
	ns, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return err
	}
	return ns
}
