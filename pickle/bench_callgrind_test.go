package pickle

import "testing"

// BenchmarkNoCPython decodes and encodes the reference messages (and the
// bench struct, on the typed path) without
// timing CPython, and makes each message's data only in its own
// sub-benchmark: it is meant for instruction counts, which are repeatable
// where wall-clock times on a shared machine are not:
//
//	go test -c -o /tmp/pickle.test ./pickle
//	GOGC=off GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind \
//	    /tmp/pickle.test -test.run '^$' -test.bench 'NoCPython/DecodeSmallDict$' -test.benchtime 50000x
//
// (run it with two -test.benchtime values and divide the difference in
// instructions by the difference in iterations to leave out the setup).
func BenchmarkNoCPython(b *testing.B) {
	b.Run("EncodeStruct", func(b *testing.B) {
		v := benchStructValue()
		b.ReportAllocs()
		var buf []byte
		for i := 0; i < b.N; i++ {
			var err error
			if buf, err = AppendMarshal(buf[:0], v, DefaultProtocol); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecodeStruct", func(b *testing.B) {
		data, err := Marshal(benchStructValue())
		if err != nil {
			b.Fatal(err)
		}
		var dst benchStruct
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := Unmarshal(data, &dst); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range benchCases {
		b.Run("Decode"+c.name, func(b *testing.B) {
			data, err := Marshal(c.make())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var w any
				if err := Unmarshal(data, &w); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Encode"+c.name, func(b *testing.B) {
			v := c.make()
			b.ReportAllocs()
			var buf []byte
			for i := 0; i < b.N; i++ {
				var err error
				if buf, err = AppendMarshal(buf[:0], v, DefaultProtocol); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
