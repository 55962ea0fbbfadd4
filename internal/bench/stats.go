package bench

import (
	"math"
	"sort"
)

// benchSlot is one run in bench's schedule: case c, round r, implementation
// i (indexes into the lists bench was given).
type benchSlot struct {
	c, r, i int
}

// benchSchedule returns the order in which bench runs, interleaved so that
// a slow moment of a noisy machine hits every implementation alike: for
// each case, round after round, every implementation once (A B C A B C
// ...), never all the runs of one implementation in a row.
func benchSchedule(cases, rounds, impls int) []benchSlot {
	var s []benchSlot
	for c := 0; c < cases; c++ {
		for r := 0; r < rounds; r++ {
			for i := 0; i < impls; i++ {
				s = append(s, benchSlot{c: c, r: r, i: i})
			}
		}
	}
	return s
}

// median returns the median of vs (the mean of the two middle values for
// an even count), ignoring NaNs; NaN when there is no value. vs is not
// modified.
func median(vs []float64) float64 {
	s := make([]float64, 0, len(vs))
	for _, v := range vs {
		if !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return math.NaN()
	}
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// minMax returns the smallest and largest of vs, ignoring NaNs.
func minMax(vs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if math.IsNaN(v) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return lo, hi
}
