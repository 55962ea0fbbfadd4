package ductworks_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/mpconn/mpconn/ductworks"
)

// Two Conns exchange JSON values in ductworks frames. In practice the
// other end is a Python program using ductworks' MessageDuctParent or
// MessageDuctChild.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	x, y := net.Pipe()
	parent := ductworks.NewConn(x, nil)
	child := ductworks.NewConn(y, nil)
	defer parent.Close()
	defer child.Close()

	go child.Send(ctx, map[string]any{"job": 7, "args": []string{"a", "b"}})

	var job struct {
		Job  int      `json:"job"`
		Args []string `json:"args"`
	}
	if err := parent.Recv(ctx, &job); err != nil {
		log.Fatal(err)
	}
	fmt.Println(job.Job, job.Args)
	// Output: 7 [a b]
}

// A Go child of a ductworks parent connects to the address the parent
// published (its listener_address), here a TCP port, and talks to it.
func ExampleNewConn() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", "localhost:40123")
	if err != nil {
		log.Fatal(err)
	}
	c := ductworks.NewConn(nc, &ductworks.Options{MaxMessageSize: 64 << 20})
	defer c.Close()
	if err := c.Send(ctx, "ready"); err != nil {
		log.Fatal(err)
	}
	var reply any
	if err := c.Recv(ctx, &reply); err != nil {
		log.Fatal(err)
	}
	fmt.Println(reply)
}

// Poll waits for a whole frame without taking it.
func ExampleConn_Poll() {
	ctx := context.Background()
	x, y := net.Pipe()
	a, b := ductworks.NewConn(x, nil), ductworks.NewConn(y, nil)
	defer a.Close()
	defer b.Close()

	ready, _ := b.Poll(ctx, 0)
	fmt.Println(ready)
	go a.Send(ctx, "hi")
	ready, _ = b.Poll(ctx, 10*time.Second)
	fmt.Println(ready)
	var s string
	b.Recv(ctx, &s)
	fmt.Println(s)
	// Output:
	// false
	// true
	// hi
}
