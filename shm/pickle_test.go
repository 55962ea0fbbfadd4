package shm

import (
	"errors"
	"testing"

	"github.com/mpconn/mpconn/pickle"
)

func TestRefRoundTrip(t *testing.T) {
	for _, r := range []Ref{{Name: "psm_0123abcd", Size: 1000}, {Name: "psm_0123abcd", List: true}} {
		for proto := 2; proto <= 5; proto++ {
			p, err := pickle.MarshalProtocol(r, proto)
			if err != nil {
				t.Fatal(err)
			}
			var got Ref
			if err := pickle.Unmarshal(p, &got); err != nil || got != r {
				t.Fatalf("protocol %d: %+v, %v; want %+v", proto, got, err, r)
			}
		}
	}
}

// Pickles as CPython 3.12 writes them: pickle.dumps(SharedMemory) and,
// over a Connection, a ShareableList through _rebuild_partial.
const (
	pySharedMemory  = "\x80\x02cmultiprocessing.shared_memory\nSharedMemory\nq\x00X\x0c\x00\x00\x00psm_d9707e4eq\x01\x89K\n\x87q\x02Rq\x03."
	pyShareableList = "\x80\x04\x95\x85\x00\x00\x00\x00\x00\x00\x00\x8c\x19multiprocessing.reduction\x94\x8c\x10_rebuild_partial\x94\x93\x94\x8c\x1dmultiprocessing.shared_memory\x94\x8c\rShareableList\x94\x93\x94)}\x94\x8c\x04name\x94\x8c\fpsm_24c23bf7\x94s\x87\x94R\x94)R\x94."
)

func TestRefFromCPython(t *testing.T) {
	var r Ref
	if err := pickle.Unmarshal([]byte(pySharedMemory), &r); err != nil || r != (Ref{Name: "psm_d9707e4e", Size: 10}) {
		t.Fatalf("%+v, %v", r, err)
	}
	if err := pickle.Unmarshal([]byte(pyShareableList), &r); err != nil || r != (Ref{Name: "psm_24c23bf7", List: true}) {
		t.Fatalf("%+v, %v", r, err)
	}
}

func TestRefRejects(t *testing.T) {
	sm := func(args ...any) any {
		return &pickle.Object{Kind: pickle.Reduce, Callable: globalSharedMemory, Args: args}
	}
	var ne *NameError
	var nr *NotRefError
	cases := []struct {
		v       any
		nameErr bool
	}{
		{sm("../../etc/passwd", false, int64(1)), true},
		{sm("a/b", false, int64(1)), true},
		{sm("", false, int64(1)), true},
		{sm("psm_1", true, int64(1)), false}, // create=True
		{sm("psm_1", false, int64(-1)), false},
		{sm("psm_1", false), false},
		{sm(int64(1), false, int64(1)), false},
		{&pickle.Object{Kind: pickle.Reduce, Callable: pickle.Global{Module: "os", Name: "system"}, Args: pickle.Tuple{"psm_1"}}, false},
		{"psm_1", false},
		{nil, false},
		{pickle.Tuple{"x"}, false},
	}
	for _, c := range cases {
		p, err := pickle.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		var r Ref
		err = pickle.Unmarshal(p, &r)
		if c.nameErr && !errors.As(err, &ne) || !c.nameErr && !errors.As(err, &nr) {
			t.Errorf("%#v: %v", c.v, err)
		}
	}
	if _, err := (Ref{Name: "psm_1"}).OpenList(); err == nil {
		t.Error("OpenList of a SharedMemory ref succeeded")
	}
	if _, err := (Ref{Name: "../x"}).MarshalPickle(); !errors.As(err, &ne) {
		t.Errorf("MarshalPickle with a bad name: %v", err)
	}
}
