package pickle

import (
	"runtime"
	"testing"
)

// TestDecoderBlocksDoNotChain decodes many small messages with one
// Decoder and with Unmarshal (pooled decoders), dropping each value, and
// checks that the blocks the decoder
// shares between messages do not keep the earlier messages alive (a
// block holding values of a message split across two blocks would keep
// the older one, and so on without end).
func TestDecoderBlocksDoNotChain(t *testing.T) {
	data, err := Marshal(benchSmallDict())
	if err != nil {
		t.Fatal(err)
	}
	list, err := Marshal([]any{"a", Tuple{"b", 1.5}, []any{"c"}, NewDict()})
	if err != nil {
		t.Fatal(err)
	}
	d := NewBytesDecoder(nil)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	const n = 100000
	for i := 0; i < n; i++ {
		msg := data
		if i%3 == 0 {
			msg = list
		}
		var v any
		if i%2 == 0 {
			d.ResetBytes(msg)
			err = d.Decode(&v)
		} else {
			err = Unmarshal(msg, &v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Each message allocates about 400 bytes in blocks: kept alive, the
	// n messages would hold about 40 MB.
	after := heap()
	t.Logf("heap %d -> %d", before, after)
	if after > before+4<<20 {
		t.Errorf("heap grew from %d to %d bytes over %d messages", before, after, n)
	}
}
