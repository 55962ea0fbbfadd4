//go:build linux

package shm_test

import (
	"context"
	"fmt"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/pickle"
	"github.com/mpconn/mpconn/shm"
)

// A block that Python attaches to with SharedMemory(name).
func ExampleCreate() {
	b, err := shm.Create("", 1000) // a fresh "psm_" name
	if err != nil {
		fmt.Println(err)
		return
	}
	defer shm.Unlink(b.Name()) // the creator owns the name
	defer b.Close()
	copy(b.Bytes(), "hello from Go")

	o, err := shm.Open(b.Name()) // what another process does
	if err != nil {
		fmt.Println(err)
		return
	}
	defer o.Close()
	fmt.Println(o.Size(), string(o.Bytes()[:13]))
	// Output: 1000 hello from Go
}

// A ShareableList, as Python 3.9 and later lay it out.
func ExampleCreateList() {
	l, err := shm.CreateList("", shm.Layout39, 42, 2.5, true, nil, "text", []byte("raw"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer shm.Unlink(l.Name())
	defer l.Close()
	if err := l.Set(4, "other"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Set(4, "far too long for its slot"))
	vals, _ := l.Values()
	f, _ := l.Format()
	fmt.Printf("%v %v %v %v %q %q\n", vals...)
	fmt.Println(f)
	// Output:
	// shm: bytes/str item exceeds available storage: 25 bytes, slot of item 4 has 8
	// 42 2.5 true <nil> "other" "raw"
	// qdxxxxxxx?xxxxxx?x8s8s
}

// A SharedMemory as it travels in a pickle: what Python's recv() attaches
// to, and what a Go receiver decodes into a Ref.
func ExampleRef() {
	b, err := shm.Create("", 64)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer shm.Unlink(b.Name())
	defer b.Close()

	p, _ := pickle.Marshal(b) // what Conn.Send(ctx, b) sends
	var r shm.Ref             // what Conn.Recv(ctx, &r) receives
	if err := pickle.Unmarshal(p, &r); err != nil {
		fmt.Println(err)
		return
	}
	o, err := r.Open()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer o.Close()
	fmt.Println(r.Name == b.Name(), r.Size, o.Size())
	// Output: true 64 64
}

// Zero-copy messages between Go processes: the sender fills a buffer from
// a pool, the receiver reads the same pages. (Here both ends are in one
// process, over a Pipe.)
func ExampleSend() {
	ctx := context.Background()
	a, b, err := mpconn.Pipe(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	defer b.Close()

	pool := shm.NewPool(nil) // one per receiving peer
	defer pool.Close()
	buf, err := pool.Get(ctx, 64<<20)
	if err != nil {
		fmt.Println(err)
		return
	}
	copy(buf.Bytes(), "a large payload")
	if err := shm.Send(ctx, a, buf); err != nil { // one byte and a memfd
		fmt.Println(err)
		return
	}

	r := shm.NewReceiver(b, nil)
	defer r.Close()
	m, err := r.Recv(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Len(), string(m.Bytes()[:15]))
	m.Close() // the buffer goes back to the sender's pool
	// Output: 67108864 a large payload
}
