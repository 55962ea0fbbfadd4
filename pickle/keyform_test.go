package pickle

import (
	"math"
	"math/big"
	"testing"
)

// TestBigKeyForms: ints and integral floats outside the int64 range that
// are equal get equal keys, and unequal ones different keys, across the
// two forms of bigKey.
func TestBigKeyForms(t *testing.T) {
	pow := func(e uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), e) }
	cases := []float64{1 << 63, -(1 << 63) * 2, 1 << 64, 3 << 70, -(5 << 100), math.MaxFloat64, math.Ldexp(0x1fffffffffffff, 900)}
	for _, f := range cases {
		bf, _ := big.NewFloat(f).Int(nil)
		if k, ok := keyOf(bf); !ok || k != floatKey(f) {
			t.Errorf("%g: int key %+v, float key %+v", f, k, floatKey(f))
		}
		// One more than the float: a different key.
		b1 := new(big.Int).Add(bf, big.NewInt(1))
		if k, _ := keyOf(b1); k == floatKey(f) {
			t.Errorf("%g + 1 has the float's key", f)
		}
	}
	if k, _ := keyOf(uint64(math.MaxUint64)); k != bigKey(new(big.Int).SetUint64(math.MaxUint64)) {
		t.Error("uint64 max: keys differ")
	}
	// A wide int (more than 64 significant bits) and a narrow one.
	wide := new(big.Int).Add(pow(200), big.NewInt(1))
	if k1, k2 := bigKey(wide), bigKey(pow(200)); k1 == k2 {
		t.Error("2**200+1 and 2**200 share a key")
	}
	// Negative values and 32-bit-word boundaries.
	for _, e := range []uint{63, 64, 95, 96, 127, 128, 1000} {
		a, b := pow(e), new(big.Int).Neg(pow(e))
		if bigKey(a) == bigKey(b) {
			t.Errorf("2**%d and its negation share a key", e)
		}
		m := new(big.Int).Mul(pow(e), big.NewInt(0x7fffffffffffffff))
		f, _ := new(big.Float).SetInt(m).Float64()
		if math.IsInf(f, 0) {
			continue
		}
		if fb, _ := big.NewFloat(f).Int(nil); fb.Cmp(m) == 0 && bigKey(m) != floatKey(f) {
			t.Errorf("(2**63-1)*2**%d: int and float keys differ", e)
		}
	}
}
