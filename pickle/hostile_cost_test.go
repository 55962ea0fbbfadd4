package pickle

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// hostileRun decodes data into the model and encodes the result again, as
// `mpconn echo` does in object mode, and reports the bytes allocated, the
// process CPU time spent, and the error if either step failed.
func hostileRun(data []byte) (alloc uint64, cpu time.Duration, err error) {
	var ms, ms2 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	c0 := cpuTime()
	var v any
	if err = Unmarshal(data, &v); err == nil {
		_, err = Marshal(v)
	}
	cpu = cpuTime() - c0
	runtime.ReadMemStats(&ms2)
	return ms2.TotalAlloc - ms.TotalAlloc, cpu, err
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestHostileShapesPrint(t *testing.T) {
	if os.Getenv("HOSTILE_PRINT") == "" {
		t.Skip("set HOSTILE_PRINT=1")
	}
	for _, s := range hostileShapes {
		for _, size := range []int{100 << 10, 1 << 20} {
			data := s.gen(size)
			alloc, cpu, err := hostileRun(data)
			var le *LimitError
			res := "ok"
			if errors.As(err, &le) {
				res = fmt.Sprintf("limit %s at %d", le.Limit, le.Offset)
			} else if err != nil {
				res = err.Error()
			}
			fmt.Printf("%-26s %8d B  %8.1f ms  %6.2f ns/B  alloc %7.1f B/B  %s\n", s.name, len(data),
				float64(cpu)/1e6, float64(cpu)/float64(len(data)), float64(alloc)/float64(len(data)), res)
		}
	}
}

func BenchmarkHostileShape(b *testing.B) {
	name := os.Getenv("HOSTILE_SHAPE")
	for _, s := range hostileShapes {
		if s.name != name {
			continue
		}
		data := s.gen(100 << 10)
		for b.Loop() {
			var v any
			if err := Unmarshal(data, &v); err == nil {
				Marshal(v)
			}
		}
	}
}

func TestHostileWrite(t *testing.T) {
	dir := os.Getenv("HOSTILE_WRITE")
	if dir == "" {
		t.Skip("set HOSTILE_WRITE=dir")
	}
	for _, s := range hostileShapes {
		for _, size := range []int{100 << 10, 1 << 20} {
			os.WriteFile(fmt.Sprintf("%s/%s.%d", dir, s.name, size), s.gen(size), 0o644)
		}
	}
}
