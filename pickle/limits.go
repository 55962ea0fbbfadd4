package pickle

// Limits bounds the resources a [Decoder] spends on one pickle. A zero
// field means the default from [DefaultLimits].
//
// Besides these, decoding allocates only as input bytes arrive (a length
// field never allocates more than the bytes present), and the extra work a
// small input can cause (copying a shared list into a set, hashing a tuple
// key built from shared tuples) is charged to a budget proportional to the
// input size, so no pickle can make the decoder do or keep much more than
// a fixed multiple of its own size.
type Limits struct {
	// MaxDepth bounds the nesting depth of the decoded value: no chain of
	// containers (lists, tuples, dicts, sets, objects) inside it is longer
	// (a reference back into the chain, a cycle, does not count), so
	// recursive walkers that track what they visit need at most MaxDepth
	// levels. It also bounds the number of open MARKs. The default, 10000,
	// is also the depth the Encoder accepts, so whatever decodes can be
	// encoded again.
	MaxDepth int
	// MaxMemo bounds the number of memo entries.
	MaxMemo int
	// MaxItems bounds the number of items on the decoder's stack and in
	// any one list, tuple, dict or set. (The size of a str, bytes or int is
	// bounded by the input itself.)
	MaxItems int
	// MaxMemory bounds, in bytes, the structure decoding one pickle may
	// allocate: containers, their slots, objects, memo entries, the
	// decoder's stack (counted as each opcode runs, approximately). The
	// copies of str, bytes and int payloads are not counted: they are no
	// larger than the input. The default, 1 GiB, is far above what any
	// message of a few megabytes needs (an empty list costs about 200
	// bytes, each item of a list 16 to 40), and caps what a hostile one
	// can make the receiver hold whatever MaxMessageSize allows.
	MaxMemory int64
}

// DefaultLimits are the limits used when none are set.
var DefaultLimits = Limits{
	MaxDepth:  10000,
	MaxMemo:   1 << 24,
	MaxItems:  1 << 30,
	MaxMemory: 1 << 30,
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxMemo <= 0 {
		l.MaxMemo = DefaultLimits.MaxMemo
	}
	if l.MaxItems <= 0 {
		l.MaxItems = DefaultLimits.MaxItems
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = DefaultLimits.MaxMemory
	}
	return l
}

// budgetBase and budgetPerByte set the allocation budget: budgetBase
// units plus budgetPerByte units per input byte read so far.
const (
	budgetBase    = 1 << 20
	budgetPerByte = 64
)

// hashBudgetBase and hashBudgetPerByte set the hashing budget: the bytes
// copied or hashed to make the keys of dicts and sets (digests count four
// times). Long keys are made once per value and cost a unit when used
// again, so only keys rebuilt from scratch (short tuples of shared
// members, frozensets) spend it quickly.
const (
	hashBudgetBase    = 1 << 20
	hashBudgetPerByte = 256
)
