package managers

import (
	"context"
	"strings"
	"testing"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/pickle"
)

// TestMalformedRequests sends requests CPython's server rejects and checks
// the Go server gives the same kind of reply and keeps serving.
func TestMalformedRequests(t *testing.T) {
	_, addr := startServer(t, &ServerOptions{MaxMessageSize: 1 << 16, MaxObjects: 3})
	ctx := context.Background()
	roundTrip := func(conn *mpconn.Conn, v any) (string, any) {
		t.Helper()
		if err := conn.Send(ctx, v); err != nil {
			t.Fatal(err)
		}
		var reply pickle.Tuple
		if err := conn.Recv(ctx, &reply); err != nil {
			t.Fatal(err)
		}
		return reply[0].(string), reply[1]
	}
	control := func(v any) (string, any) {
		conn, err := mpconn.Dial(ctx, addr, &mpconn.DialOptions{AuthKey: testKey})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return roundTrip(conn, v)
	}
	cases := []struct {
		name string
		req  any
		want string // in the traceback
	}{
		{"not a tuple", int64(5), "TypeError"},
		{"two items", pickle.Tuple{nil, "dummy"}, "not enough values to unpack"},
		{"unknown function", pickle.Tuple{nil, "explode", pickle.Tuple{}, pickle.NewDict()}, "AssertionError: 'explode' unrecognized"},
		{"unknown typeid", pickle.Tuple{nil, "create", pickle.Tuple{"Nope"}, pickle.NewDict()}, "KeyError: 'Nope'"},
		{"bad incref", pickle.Tuple{nil, "incref", pickle.Tuple{"123"}, pickle.NewDict()}, "KeyError"},
		{"bad create args", pickle.Tuple{nil, "create", pickle.Tuple{"Queue", "x"}, pickle.NewDict()}, "TypeError"},
	}
	for _, c := range cases {
		kind, res := control(c.req)
		if s, _ := res.(string); kind != "#TRACEBACK" || !strings.Contains(s, c.want) {
			t.Errorf("%s: got %s %v, want #TRACEBACK with %q", c.name, kind, res, c.want)
		}
	}
	// Method calls on a served connection.
	conn, err := mpconn.Dial(ctx, addr, &mpconn.DialOptions{AuthKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if kind, _ := roundTrip(conn, pickle.Tuple{nil, "accept_connection", pickle.Tuple{"t"}, pickle.NewDict()}); kind != "#RETURN" {
		t.Fatalf("accept_connection: %s", kind)
	}
	kind, res := control(pickle.Tuple{nil, "create", pickle.Tuple{"dict"}, pickle.NewDict()})
	if kind != "#RETURN" {
		t.Fatalf("create: %s %v", kind, res)
	}
	id := res.(pickle.Tuple)[0].(string)
	for _, c := range []struct {
		req  any
		kind string
		want string
	}{
		{pickle.Tuple{"nope", "get", pickle.Tuple{}, pickle.NewDict()}, "#TRACEBACK", "KeyError: 'nope'"},
		{pickle.Tuple{id, "secret", pickle.Tuple{}, pickle.NewDict()}, "#TRACEBACK", "is not in exposed"},
		{pickle.Tuple{id, "get"}, "#TRACEBACK", "not enough values"},
		{pickle.Tuple{id, "__getitem__", pickle.Tuple{[]any{1}}, pickle.NewDict()}, "#ERROR", ""},
		{pickle.Tuple{id, "__setitem__", pickle.Tuple{"k", int64(1)}, pickle.NewDict()}, "#RETURN", ""},
		{pickle.Tuple{id, "__repr__", pickle.Tuple{}, pickle.NewDict()}, "#RETURN", "{'k': 1}"},
	} {
		kind, res := roundTrip(conn, c.req)
		s, _ := res.(string)
		if kind != c.kind || !strings.Contains(s, c.want) {
			t.Errorf("%v: got %s %v, want %s %q", c.req, kind, res, c.kind, c.want)
		}
	}
	// The object limit.
	for range 2 {
		control(pickle.Tuple{nil, "create", pickle.Tuple{"list"}, pickle.NewDict()})
	}
	if kind, res := control(pickle.Tuple{nil, "create", pickle.Tuple{"list"}, pickle.NewDict()}); kind != "#TRACEBACK" || !strings.Contains(res.(string), "MemoryError") {
		t.Errorf("create past MaxObjects: %s %v", kind, res)
	}
	// A message over MaxMessageSize ends its connection only.
	big := make([]byte, 1<<17)
	// (The server may close before the whole message is written.)
	if err := conn.Send(ctx, pickle.Tuple{id, "__setitem__", pickle.Tuple{"big", big}, pickle.NewDict()}); err == nil {
		var v any
		if err := conn.Recv(ctx, &v); err == nil {
			t.Fatalf("oversized request answered: %v", v)
		}
	}
	if kind, _ := control(pickle.Tuple{nil, "dummy", pickle.Tuple{}, pickle.NewDict()}); kind != "#RETURN" {
		t.Fatalf("server stopped serving: %s", kind)
	}
}
