package mpconn

import (
	"errors"
	"fmt"
	"math"

	"github.com/mpconn/mpconn/pickle"
)

// dupHandle is CPython's multiprocessing.reduction.DupHandle, what
// send_handle sends on Windows: a handle duplicated into the process pid,
// where the receiver (if pid is its own) finds it, or from which it takes
// it (DuplicateHandle with DUPLICATE_CLOSE_SOURCE, access as the desired
// access).
type dupHandle struct {
	handle uint64
	access uint32
	pid    uint32
}

var dupHandleClass = pickle.Global{Module: "multiprocessing.reduction", Name: "DupHandle"}

// object returns d as the object CPython pickles for a DupHandle: a
// NEWOBJ of the class without arguments, and BUILD with its __dict__
// (_handle, _access, _pid, in the order DupHandle.__init__ sets them).
func (d dupHandle) object() *pickle.Object {
	state := pickle.NewDict()
	state.Set("_handle", int64(d.handle))
	state.Set("_access", int64(d.access))
	state.Set("_pid", int64(d.pid))
	return &pickle.Object{Kind: pickle.NewObj, Callable: dupHandleClass, Args: pickle.Tuple{}, HasState: true, State: state}
}

var errNotDupHandle = errors.New("not a multiprocessing.reduction.DupHandle")

// parseDupHandle reads a DupHandle from a decoded pickle. Anything else,
// or a DupHandle whose fields are missing or out of range, is an error.
func parseDupHandle(v any) (dupHandle, error) {
	o, ok := v.(*pickle.Object)
	if !ok || o.Class() != "multiprocessing.reduction.DupHandle" || !o.HasState {
		return dupHandle{}, errNotDupHandle
	}
	st, ok := o.State.(*pickle.Dict)
	if !ok {
		return dupHandle{}, errNotDupHandle
	}
	field := func(name string, max uint64) (uint64, error) {
		x, ok := st.Get(name)
		if !ok {
			return 0, fmt.Errorf("%w: no %s", errNotDupHandle, name)
		}
		n, ok := x.(int64)
		if !ok || n < 0 || uint64(n) > max {
			return 0, fmt.Errorf("%w: %s = %v", errNotDupHandle, name, x)
		}
		return uint64(n), nil
	}
	var d dupHandle
	var err error
	if d.handle, err = field("_handle", math.MaxInt64); err != nil {
		return dupHandle{}, err
	}
	a, err := field("_access", math.MaxUint32)
	if err != nil {
		return dupHandle{}, err
	}
	p, err := field("_pid", math.MaxUint32)
	if err != nil {
		return dupHandle{}, err
	}
	d.access, d.pid = uint32(a), uint32(p)
	return d, nil
}
