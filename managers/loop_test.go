package managers

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/pickle"
)

// methodConn dials addr and turns the connection into a method-call
// channel with accept_connection.
func methodConn(t *testing.T, addr string) *mpconn.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := mpconn.Dial(ctx, addr, &mpconn.DialOptions{AuthKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if kind, res := rawCall(t, conn, pickle.Tuple{nil, "accept_connection", pickle.Tuple{"t"}, pickle.NewDict()}); kind != "#RETURN" {
		t.Fatalf("accept_connection: %s %v", kind, res)
	}
	return conn
}

// rawCall sends one request and reads its reply.
func rawCall(t *testing.T, conn *mpconn.Conn, req any) (string, any) {
	t.Helper()
	if err := conn.Send(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	return rawReply(t, conn)
}

func rawReply(t *testing.T, conn *mpconn.Conn) (string, any) {
	t.Helper()
	var reply pickle.Tuple
	if err := conn.Recv(context.Background(), &reply); err != nil {
		t.Fatal(err)
	}
	return reply[0].(string), reply[1]
}

// createRaw creates an object of typeid over a control connection and
// returns its id.
func createRaw(t *testing.T, addr, typeid string) string {
	t.Helper()
	conn, err := mpconn.Dial(context.Background(), addr, &mpconn.DialOptions{AuthKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	kind, res := rawCall(t, conn, pickle.Tuple{nil, "create", pickle.Tuple{typeid}, pickle.NewDict()})
	if kind != "#RETURN" {
		t.Fatalf("create %s: %s %v", typeid, kind, res)
	}
	return res.(pickle.Tuple)[0].(string)
}

// TestPipelinedRequests sends many requests before reading any reply (no
// CPython client does; the protocol allows it): each is answered, in
// order, including requests longer than the server's first read buffer
// and one that is put on a goroutine (a blocking Queue.get whose item is
// already there is not; an empty queue's get with a timeout is).
func TestPipelinedRequests(t *testing.T) {
	_, addr := startServer(t, nil)
	testPipelined(t, addr)
}

// TestPipelinedRequestsTCP: the same over TCP, where requests are read
// without MSG_PEEK.
func TestPipelinedRequestsTCP(t *testing.T) {
	_, addr := startServerAt(t, "127.0.0.1:0", nil)
	testPipelined(t, addr)
}

func testPipelined(t *testing.T, addr string) {
	id := createRaw(t, addr, "dict")
	qid := createRaw(t, addr, "Queue")
	conn := methodConn(t, addr)
	ctx := context.Background()
	const n = 60
	var msgs [][]byte
	var want []any
	for i := range n {
		var req pickle.Tuple
		switch i % 6 {
		case 0:
			req = pickle.Tuple{id, "__setitem__", pickle.Tuple{fmt.Sprint("k", i), int64(i)}, pickle.NewDict()}
			want = append(want, nil)
		case 1:
			req = pickle.Tuple{id, "get", pickle.Tuple{fmt.Sprint("k", i-1)}, pickle.NewDict()}
			want = append(want, int64(i-1))
		case 2:
			big := bytes.Repeat([]byte{byte(i)}, 100<<10)
			req = pickle.Tuple{id, "__setitem__", pickle.Tuple{"big", big}, pickle.NewDict()}
			want = append(want, nil)
		case 3:
			req = pickle.Tuple{qid, "get", pickle.Tuple{true, 0.01}, pickle.NewDict()}
			want = append(want, "queue.Empty")
		case 4:
			req = pickle.Tuple{qid, "put", pickle.Tuple{int64(i)}, pickle.NewDict()}
			want = append(want, nil)
		case 5:
			req = pickle.Tuple{qid, "get", pickle.Tuple{}, pickle.NewDict()}
			want = append(want, int64(i-1))
		}
		m, err := pickle.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := conn.SendBytesMany(ctx, msgs...)
		errc <- err
	}()
	for i := range n {
		kind, res := rawReply(t, conn)
		switch w := want[i].(type) {
		case string:
			e, ok := res.(*pickle.Object)
			if kind != "#ERROR" || !ok || !strings.HasSuffix(e.Class(), "Empty") {
				t.Fatalf("reply %d: %s %v, want #ERROR %s", i, kind, res, w)
			}
		default:
			if kind != "#RETURN" || res != w {
				t.Fatalf("reply %d: %s %v, want #RETURN %v", i, kind, res, w)
			}
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestClientNotReading: a client that sends requests without reading the
// replies (megabytes of them) holds up neither the server nor the other
// clients, and gets every reply once it reads.
func TestClientNotReading(t *testing.T) {
	_, addr := startServer(t, nil)
	testNotReading(t, addr, 1<<20)
}

// TestClientNotReadingMidsize: the same with replies of 60 KiB, short
// enough for the loop to keep each for the write that goes with taking
// its request out of the socket (takeAll), long enough to fill the
// socket after a few: those writes are partial.
func TestClientNotReadingMidsize(t *testing.T) {
	_, addr := startServer(t, nil)
	testNotReading(t, addr, 60<<10)
}

// testNotReading: a client sends 16 requests whose replies are size
// bytes each without reading them; another client is served meanwhile;
// then the first reads all its replies.
func testNotReading(t *testing.T, addr string, size int) {
	id := createRaw(t, addr, "dict")
	ctx := context.Background()
	big := bytes.Repeat([]byte("x"), size)
	slow := methodConn(t, addr)
	if kind, res := rawCall(t, slow, pickle.Tuple{id, "__setitem__", pickle.Tuple{"big", big}, pickle.NewDict()}); kind != "#RETURN" {
		t.Fatalf("set: %s %v", kind, res)
	}
	const n = 16
	get, err := pickle.Marshal(pickle.Tuple{id, "get", pickle.Tuple{"big"}, pickle.NewDict()})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := slow.SendBytes(ctx, get); err != nil {
			t.Fatal(err)
		}
	}
	// Meanwhile another client is served.
	other := methodConn(t, addr)
	for i := range 20 {
		if kind, res := rawCall(t, other, pickle.Tuple{id, "__setitem__", pickle.Tuple{"i", int64(i)}, pickle.NewDict()}); kind != "#RETURN" {
			t.Fatalf("other client: %s %v", kind, res)
		}
	}
	for i := range n {
		kind, res := rawReply(t, slow)
		if b, ok := res.([]byte); kind != "#RETURN" || !ok || !bytes.Equal(b, big) {
			t.Fatalf("reply %d: %s %T", i, kind, res)
		}
	}
}

// TestCloseWithBlockedCall: Close returns while a call waits, and the
// waiting client's connection ends.
func TestCloseWithBlockedCall(t *testing.T) {
	s, addr := startServer(t, nil)
	qid := createRaw(t, addr, "Queue")
	conn := methodConn(t, addr)
	if err := conn.Send(context.Background(), pickle.Tuple{qid, "get", pickle.Tuple{}, pickle.NewDict()}); err != nil {
		t.Fatal(err)
	}
	// A second connection's call is answered while the first waits.
	other := methodConn(t, addr)
	if kind, res := rawCall(t, other, pickle.Tuple{qid, "qsize", pickle.Tuple{}, pickle.NewDict()}); kind != "#RETURN" || res != int64(0) {
		t.Fatalf("qsize: %s %v", kind, res)
	}
	s.Close()
	var v any
	if err := conn.Recv(context.Background(), &v); err == nil {
		// The call may be answered with EOFError before the close.
		if tup, ok := v.(pickle.Tuple); !ok || tup[0] != "#ERROR" {
			t.Fatalf("blocked call answered %v", v)
		}
	}
}

// TestCallsSentWithAccept: method calls sent together with
// accept_connection, before its reply (the server may have read them
// already when it takes the connection over), are all answered.
func TestCallsSentWithAccept(t *testing.T) {
	_, addr := startServer(t, nil)
	id := createRaw(t, addr, "dict")
	ctx := context.Background()
	for round := range 3 {
		conn, err := mpconn.Dial(ctx, addr, &mpconn.DialOptions{AuthKey: testKey})
		if err != nil {
			t.Fatal(err)
		}
		var msgs [][]byte
		for _, req := range []pickle.Tuple{
			{nil, "accept_connection", pickle.Tuple{"t"}, pickle.NewDict()},
			{id, "__setitem__", pickle.Tuple{"r", int64(round)}, pickle.NewDict()},
			{id, "get", pickle.Tuple{"r"}, pickle.NewDict()},
		} {
			m, err := pickle.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
		if _, err := conn.SendBytesMany(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
		for i, want := range []any{nil, nil, int64(round)} {
			if kind, res := rawReply(t, conn); kind != "#RETURN" || res != want {
				t.Fatalf("round %d reply %d: %s %v, want %v", round, i, kind, res, want)
			}
		}
		conn.Close()
	}
}

// TestSeveralLoops: with more processors the Server runs several event
// loops (on Linux), and clients spread over them are all served.
func TestSeveralLoops(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(6))
	s, addr := startServer(t, nil)
	id := createRaw(t, addr, "dict")
	var conns []*mpconn.Conn
	for range 6 {
		conns = append(conns, methodConn(t, addr))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(conns))
	for i, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			key := fmt.Sprint("c", i)
			for j := range 100 {
				for _, req := range []pickle.Tuple{
					{id, "__setitem__", pickle.Tuple{key, int64(j)}, pickle.NewDict()},
					{id, "get", pickle.Tuple{key}, pickle.NewDict()},
				} {
					if err := conn.Send(ctx, req); err != nil {
						errs <- err
						return
					}
					var reply pickle.Tuple
					if err := conn.Recv(ctx, &reply); err != nil {
						errs <- err
						return
					}
					if req[1] == "get" && (reply[0] != "#RETURN" || reply[1] != int64(j)) {
						errs <- fmt.Errorf("%s: get after setting %d: %v", key, j, reply)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Every connection has been answered, so the loops were started
	// (and Do makes their start visible here).
	s.loopOnce.Do(func() {})
	if runtime.GOOS == "linux" && len(s.loops) != 3 {
		t.Errorf("%d event loops with GOMAXPROCS 6, want 3", len(s.loops))
	}
}
