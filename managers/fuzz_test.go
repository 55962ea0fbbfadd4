package managers

import (
	"testing"

	"github.com/mpconn/mpconn/pickle"
)

// FuzzServeRequest feeds arbitrary requests to a server's control and
// method-call paths, on objects that never block (dict, list, Array,
// Namespace, Value): nothing may panic, and every reply must pickle.
func FuzzServeRequest(f *testing.F) {
	s := NewServer(&ServerOptions{MaxItems: 1000, MaxObjects: 100})
	defer s.Close()
	var ids []string
	for _, c := range []struct {
		typeid string
		args   pickle.Tuple
	}{
		{"dict", nil},
		{"list", pickle.Tuple{[]any{int64(3), "a", 1.5}}},
		{"Array", pickle.Tuple{"i", []any{int64(1), int64(2)}}},
		{"Namespace", nil},
		{"Value", pickle.Tuple{"d", 1.5}},
	} {
		id, _, err := s.create(c.typeid, c.args, pickle.NewDict(), nil)
		if err != nil {
			f.Fatal(err)
		}
		ids = append(ids, id)
	}
	seed := func(v any) {
		data, err := pickle.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	kw := pickle.NewDict()
	slice := &pickle.Object{Kind: pickle.Reduce, Callable: pickle.Global{Module: "builtins", Name: "slice"}, Args: pickle.Tuple{int64(1), nil, int64(-1)}}
	seed(pickle.Tuple{ids[0], "__setitem__", pickle.Tuple{pickle.Tuple{int64(1), "x"}, []any{1.5}}, kw})
	seed(pickle.Tuple{ids[0], "update", pickle.Tuple{[]any{pickle.Tuple{"a", int64(1)}}}, kw})
	seed(pickle.Tuple{ids[0], "__iter__", pickle.Tuple{}, kw})
	seed(pickle.Tuple{ids[1], "__getitem__", pickle.Tuple{slice}, kw})
	seed(pickle.Tuple{ids[1], "__setitem__", pickle.Tuple{slice, []any{int64(1)}}, kw})
	seed(pickle.Tuple{ids[1], "sort", pickle.Tuple{}, kw})
	seed(pickle.Tuple{ids[1], "__mul__", pickle.Tuple{int64(3)}, kw})
	seed(pickle.Tuple{ids[1], "__rmul__", pickle.Tuple{int64(1) << 62}, kw})
	seed(pickle.Tuple{ids[2], "__setitem__", pickle.Tuple{int64(0), int64(1 << 40)}, kw})
	seed(pickle.Tuple{ids[3], "__setattr__", pickle.Tuple{"x", []any{}}, kw})
	seed(pickle.Tuple{ids[4], "#GETVALUE", pickle.Tuple{}, kw})
	seed(pickle.Tuple{ids[0], "__repr__", pickle.Tuple{}, kw})
	seed(pickle.Tuple{nil, "create", pickle.Tuple{"list", []any{int64(1)}}, kw})
	seed(pickle.Tuple{nil, "decref", pickle.Tuple{ids[1]}, kw})
	seed(pickle.Tuple{nil, "get_methods", pickle.Tuple{Token{TypeID: "dict", Address: "/x", ID: ids[0]}}, kw})
	f.Fuzz(func(t *testing.T, msg []byte) {
		kind, res := s.serveOne(msg, "fuzz")
		if _, err := pickle.Marshal(pickle.Tuple{kind, res}); err != nil {
			t.Fatalf("reply %s %v does not pickle: %v", kind, res, err)
		}
		req, exc := s.parseRequest(msg)
		if exc != nil || req.ident != nil || req.method == "accept_connection" || req.method == "shutdown" {
			return
		}
		res, err := s.control(req)
		if err == nil {
			if _, err := pickle.Marshal(res); err != nil {
				t.Fatalf("control reply %v does not pickle: %v", res, err)
			}
		}
	})
}
