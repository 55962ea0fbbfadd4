//go:build 386 || arm || mips || mipsle

package mpconn

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// On a 32-bit system no slice holds 2 GiB: a header announcing a message
// that long is refused with a *MessageTooLongError (as a limit would), and
// nothing is allocated for it.
func TestMessageTooLongForInt(t *testing.T) {
	for _, max := range []int64{0, math.MaxInt64} {
		c, raw := rawPair(t, &ConnOptions{MaxMessageSize: max})
		var h [12]byte
		binary.BigEndian.PutUint32(h[:4], math.MaxUint32) // -1: the long header
		binary.BigEndian.PutUint64(h[4:], math.MaxInt32+1)
		mustWrite(t, raw, h[:])
		_, err := c.RecvBytes(testCtx(t))
		var tl *MessageTooLongError
		if !errors.As(err, &tl) || tl.Len != math.MaxInt32+1 || tl.Max != math.MaxInt32 {
			t.Fatalf("MaxMessageSize %d: got %v, want a *MessageTooLongError for %d bytes over a limit of %d",
				max, err, int64(math.MaxInt32+1), math.MaxInt32)
		}
	}
}
