package mpconn_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/mpconn/mpconn"
)

func tempDir() (string, func()) {
	dir, err := os.MkdirTemp("", "mpconn-example-")
	if err != nil {
		log.Fatal(err)
	}
	return dir, func() { os.RemoveAll(dir) }
}

// A parent process listens with a Rendezvous, hands the address to a child
// it starts (here a goroutine stands in for the child), and waits for it.
func ExampleRendezvous() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	r, err := mpconn.NewRendezvous("unix", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	// Usually: exec.Command("./child", r.Address()).Start(), or a Python
	// child running Client(address).
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := mpconn.DialRetry(ctx, r.Address(), nil)
		if err != nil {
			log.Fatal(err)
		}
		defer c.Close()
		c.SendBytes(ctx, []byte("hello from the child"))
	}()

	c, err := r.Wait(ctx) // the listener is gone once Wait returns
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	msg, err := c.RecvBytes(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(msg))
	<-done
	// Output: hello from the child
}

// A child started before its parent listens keeps trying until the
// deadline.
func ExampleDialRetry() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir, cleanup := tempDir()
	defer cleanup()
	addr := filepath.Join(dir, "parent.sock")

	type result struct {
		c   *mpconn.Conn
		err error
	}
	dialed := make(chan result, 1)
	go func() {
		// Nothing listens at addr yet: DialRetry waits for it.
		c, err := mpconn.DialRetry(ctx, addr, nil)
		dialed <- result{c, err}
	}()

	l, err := mpconn.Listen(addr, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	parent, err := l.Accept(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer parent.Close()
	d := <-dialed
	if d.err != nil {
		log.Fatal(d.err)
	}
	defer d.c.Close()
	d.c.Send(ctx, "late, but connected")
	var s string
	parent.Recv(ctx, &s)
	fmt.Println(s)
	// Output: late, but connected
}

// PairOver gives two connected ends over a real TCP connection.
func ExamplePairOver() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	parent, child, err := mpconn.PairOver(ctx, "tcp", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer parent.Close()
	defer child.Close()
	child.Send(ctx, []int{1, 2, 3})
	var v []int
	parent.Recv(ctx, &v)
	fmt.Println(v, parent.LocalAddr().Network())
	// Output: [1 2 3] tcp
}
