//go:build unix

package pickle

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpconn/mpconn/internal/cpython"
)

// Cost bounds asserted by TestHostileCost and FuzzDecodeCost: decoding
// one pickle into the model allocates at most allocBase bytes plus
// allocPerByte per input byte, and spends at most the hashing budget
// (hashBudgetBase + hashBudgetPerByte per byte, a unit being about a byte
// copied or hashed). Measured on the hostile shapes (genEmpty, …): about
// 570 bytes per input byte for empty lists (with the garbage of growing
// the stack and the fix-up list), under 60 for most others.
const (
	allocBase    = 2 << 20
	allocPerByte = 1024
)

// decodeCost decodes data into the model as Unmarshal does, and reports
// the bytes allocated and the hashing units spent.
func decodeCost(data []byte, limits Limits) (alloc uint64, hashUnits int64, err error) {
	d := NewBytesDecoder(data)
	d.SetLimits(limits)
	var ms, ms2 runtime.MemStats
	runtime.ReadMemStats(&ms)
	var v any
	err = d.Decode(&v)
	runtime.ReadMemStats(&ms2)
	return ms2.TotalAlloc - ms.TotalAlloc, d.st.hashUsed, err
}

func checkCost(t *testing.T, name string, data []byte) {
	t.Helper()
	// Any outcome (a value, or an error) must stay within the bound.
	alloc, units, _ := decodeCost(data, Limits{})
	if max := uint64(allocBase + allocPerByte*len(data)); alloc > max {
		t.Errorf("%s: %d bytes of input allocated %d bytes (%.0f per byte), over %d", name, len(data), alloc, float64(alloc)/float64(len(data)), max)
	}
	if max := hashBudgetBase + hashBudgetPerByte*int64(len(data)); units > max {
		t.Errorf("%s: %d hashing units for %d bytes, over %d", name, units, len(data), max)
	}
}

// TestHostileCost decodes every adversarial shape, and checks that CPython
// accepts what the decoder accepts (it rejects none of them).
func TestHostileCost(t *testing.T) {
	for _, s := range hostileShapes {
		data := s.gen(200 << 10)
		checkCost(t, s.name, data)
		var v any
		if err := Unmarshal(data, &v); err != nil {
			t.Errorf("%s: %v (CPython decodes it)", s.name, err)
		}
	}
}

// TestMaxMemory: a pickle of empty lists (about 200 bytes of structure per
// input byte) fails at the limit set, having allocated about that. (128 Ki
// lists against 2 MiB: the limit is reached within the first tenth, as
// with 1 Mi lists against 16 MiB, at an eighth of the cost.)
func TestMaxMemory(t *testing.T) {
	data := genEmpty(']')(1 << 17)
	const max = 2 << 20
	alloc, _, err := decodeCost(data, Limits{MaxMemory: max})
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "memory" || le.Max != max {
		t.Fatalf("got %v, want the memory limit", err)
	}
	t.Logf("stopped at offset %d of %d, having allocated %d bytes", le.Offset, len(data), alloc)
	if le.Offset > int64(len(data))/4 {
		t.Errorf("the limit stopped decoding at offset %d of %d", le.Offset, len(data))
	}
	if alloc > 4*max {
		t.Errorf("allocated %d bytes under a limit of %d", alloc, max)
	}
	// The default lets the same pickle decode.
	var v any
	if err := Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if l, ok := v.([]any); !ok || len(l) != 1<<17 {
		t.Fatalf("got %T", v)
	}
}

// TestHugeIntRoundTrip: an int of 1.1 million bits (2**1100000, which
// CPython writes with LONG4) decodes and encodes back to the same bytes.
func TestHugeIntRoundTrip(t *testing.T) {
	data := genHugeInt(1100000/8 + 1)
	var v any
	if err := Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	out, err := MarshalProtocol(v, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Our generator writes no frame; compare the LONG4 opcode and bytes.
	if i := strings.IndexByte(string(out), opLong4); i < 0 || string(out[i:]) != string(data[2:]) {
		t.Fatalf("re-encoding differs (%d bytes, want %d)", len(out), len(data))
	}
}

// FuzzDecodeCost asserts the cost bound on every input: allocation and
// hashing work per input byte at most a constant.
func FuzzDecodeCost(f *testing.F) {
	for _, s := range hostileShapes {
		f.Add(s.gen(4 << 10))
	}
	f.Add([]byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94K\x01u."))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkCost(t, "input", data)
	})
}

// hostileRun decodes data into the model and encodes the result again, as
// `mpconn echo` does in object mode, and reports the process CPU time it
// took, the bytes allocated, and the error if either step failed.
func hostileRun(data []byte) (cpu time.Duration, alloc uint64, err error) {
	var ms, ms2 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	c0 := cpuTime()
	var v any
	if err = Unmarshal(data, &v); err == nil {
		_, err = MarshalProtocol(v, 4)
	}
	cpu = cpuTime() - c0
	runtime.ReadMemStats(&ms2)
	return cpu, ms2.TotalAlloc - ms.TotalAlloc, err
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestHostileVersusCPython measures decode + re-encode of each shape at
// 100 KB and 1 MB, here and in CPython 3.11 (pickle.loads + dumps), side
// by side; it prints a table. It is a measurement, not a check: run it
// with MPCONN_HOSTILE_BENCH=1.
//
//	MPCONN_HOSTILE_BENCH=1 go test -run HostileVersusCPython -v ./pickle
func TestHostileVersusCPython(t *testing.T) {
	if os.Getenv("MPCONN_HOSTILE_BENCH") == "" {
		t.Skip("a measurement: set MPCONN_HOSTILE_BENCH=1 to run it")
	}
	py, ok := cpython.Get("3.11")
	if !ok {
		t.Skip("CPython 3.11 is not installed")
	}
	dir := t.TempDir()
	var names []string
	only := os.Getenv("MPCONN_HOSTILE_SHAPE") // one shape, if set
	for _, s := range hostileShapes {
		if only != "" && s.name != only {
			continue
		}
		for _, size := range []int{100 << 10, 1 << 20} {
			name := fmt.Sprintf("%s.%d", s.name, size)
			if err := os.WriteFile(filepath.Join(dir, name), s.gen(size), 0o644); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
	}
	script := `
import pickle, sys, time, os
for f in sys.argv[2:]:
    data = open(os.path.join(sys.argv[1], f), 'rb').read()
    t0 = time.process_time()
    try:
        pickle.dumps(pickle.loads(data), 4); res = 'ok'
    except Exception as e:
        res = type(e).__name__
    print(f, time.process_time() - t0, res, flush=True)
`
	out, err := exec.Command(py.Path, append([]string{"-c", script, dir}, names...)...).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	pyCPU := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		var secs float64
		fmt.Sscan(f[1], &secs)
		pyCPU[f[0]] = fmt.Sprintf("%8.1f ms %7.0f ns/B %s", secs*1e3, secs*1e9/float64(sizeOf(f[0])), f[2])
	}
	fmt.Printf("%-34s | %-38s | %s\n", "shape.size", "mpconn decode+encode (alloc)", "CPython "+py.Full+" loads+dumps")
	for _, name := range names {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		cpu, alloc, err := hostileRun(data)
		res := "ok"
		if err != nil {
			res = err.Error()
		}
		fmt.Printf("%-34s | %8.1f ms %7.0f ns/B %5.0f B/B %s | %s\n", name, float64(cpu)/1e6,
			float64(cpu)/float64(len(data)), float64(alloc)/float64(len(data)), res, pyCPU[name])
	}
}

func sizeOf(name string) int {
	var n int
	fmt.Sscan(name[strings.LastIndexByte(name, '.')+1:], &n)
	return n
}
