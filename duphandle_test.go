package mpconn

import (
	"errors"
	"testing"

	"github.com/mpconn/mpconn/pickle"
)

// What CPython pickles for send_handle on Windows, made with CPython 3.12
// on Linux (which has no DupHandle) by giving multiprocessing.reduction a
// stand-in class of that name:
//
//	class DupHandle(object): pass
//	DupHandle.__module__ = 'multiprocessing.reduction'
//	multiprocessing.reduction.DupHandle = DupHandle
//	d = DupHandle.__new__(DupHandle)
//	d._handle = 0x1234; d._access = 2; d._pid = 4321
//	pickle.dumps(d, 4)
//
// (_access 2 is DUPLICATE_SAME_ACCESS, which send_handle passes as the
// access: CPython issue gh-82369.)
const cpythonDupHandle4 = "\x80\x04\x95V\x00\x00\x00\x00\x00\x00\x00\x8c\x19multiprocessing.reduction\x94\x8c\tDupHandle\x94\x93\x94)\x81\x94}\x94(\x8c\x07_handle\x94M4\x12\x8c\x07_access\x94K\x02\x8c\x04_pid\x94M\xe1\x10ub."

// protocol 2, as CPython 2.7 to 3.7 peers are sent.
const cpythonDupHandle2 = "\x80\x02cmultiprocessing.reduction\nDupHandle\nq\x00)\x81q\x01}q\x02(X\x07\x00\x00\x00_handleq\x03M4\x12X\x07\x00\x00\x00_accessq\x04K\x02X\x04\x00\x00\x00_pidq\x05M\xe1\x10ub."

func TestDupHandlePickle(t *testing.T) {
	want := dupHandle{handle: 0x1234, access: 2, pid: 4321}
	for _, tc := range []struct {
		proto int
		data  string
	}{{4, cpythonDupHandle4}, {2, cpythonDupHandle2}} {
		var v any
		if err := pickle.Unmarshal([]byte(tc.data), &v); err != nil {
			t.Fatal(err)
		}
		d, err := parseDupHandle(v)
		if err != nil || d != want {
			t.Fatalf("protocol %d: parsed %+v, %v", tc.proto, d, err)
		}
		// What Go sends is the same bytes.
		got, err := pickle.MarshalProtocol(want.object(), tc.proto)
		if err != nil || string(got) != tc.data {
			t.Fatalf("protocol %d: encoded %q, %v\nwant %q", tc.proto, got, err, tc.data)
		}
	}
	for _, bad := range []any{
		nil, "x", int64(3),
		&pickle.Object{Kind: pickle.NewObj, Callable: pickle.Global{Module: "builtins", Name: "object"}, HasState: true, State: pickle.NewDict()},
		withState(dupHandle{handle: 1, pid: 2}.object(), "_pid", int64(-1)),
		withState(dupHandle{handle: 1, pid: 2}.object(), "_access", int64(1<<40)),
		withState(dupHandle{handle: 1, pid: 2}.object(), "_handle", "h"),
	} {
		if _, err := parseDupHandle(bad); !errors.Is(err, errNotDupHandle) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// withState sets one field of a DupHandle object's state.
func withState(o *pickle.Object, k string, v any) *pickle.Object {
	o.State.(*pickle.Dict).Set(k, v)
	return o
}
