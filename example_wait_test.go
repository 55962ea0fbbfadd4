package mpconn_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"time"

	"github.com/mpconn/mpconn"
)

// Wait for whichever of two connections has a message.
func ExampleWait() {
	ctx := context.Background()
	a1, b1, _ := mpconn.Pipe(nil)
	a2, b2, _ := mpconn.Pipe(nil)
	defer a1.Close()
	defer b1.Close()
	defer a2.Close()
	defer b2.Close()

	a2.SendBytes(ctx, []byte("from the second pipe"))
	ready, err := mpconn.Wait(ctx, time.Second, b1, b2)
	if err != nil {
		log.Fatal(err)
	}
	for _, obj := range ready {
		msg, _ := obj.(*mpconn.Conn).RecvBytes(ctx)
		fmt.Printf("%s\n", msg)
	}
	// Nothing more: a zero timeout only looks.
	ready, _ = mpconn.Wait(ctx, 0, b1, b2)
	fmt.Println(len(ready), "ready")
	// Output:
	// from the second pipe
	// 0 ready
}

// A server loop over a reusable WaitSet: the Listener is ready when a
// client connects, a Conn when a message has arrived or its peer left.
func ExampleWaitSet() {
	ctx := context.Background()
	l, err := mpconn.Listen("", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	set, err := mpconn.NewWaitSet()
	if err != nil {
		log.Fatal(err)
	}
	defer set.Close()
	set.Add(l)

	go func() { // a client
		c, err := mpconn.Dial(ctx, l.Address(), nil)
		if err != nil {
			return
		}
		c.SendBytes(ctx, []byte("hello"))
		c.Close()
	}()

	for set.Len() > 0 {
		ready, err := set.Wait(ctx, 10*time.Second)
		if err != nil || len(ready) == 0 {
			log.Fatal("nothing ready: ", err)
		}
		for _, obj := range ready {
			switch obj := obj.(type) {
			case *mpconn.Listener:
				c, err := obj.Accept(ctx)
				if err != nil {
					log.Fatal(err)
				}
				set.Add(c)
				set.Remove(l) // one client is enough here
				fmt.Println("accepted")
			case *mpconn.Conn:
				msg, err := obj.RecvBytes(ctx)
				if err == io.EOF {
					fmt.Println("client left")
					set.Remove(obj)
					obj.Close()
					continue
				}
				fmt.Printf("got %q\n", msg)
			}
		}
	}
	// Output:
	// accepted
	// got "hello"
	// client left
}

// Start a Go program that talks over a Pipe. The child calls
// ChildConn (see that example).
func ExampleStartChild() {
	ctx := context.Background()
	child, conn, err := mpconn.StartChild(exec.Command("./worker"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	conn.SendBytes(ctx, []byte("job 1"))
	// Wait for the answer or for the child to die, whichever comes first.
	ready, err := mpconn.Wait(ctx, -1, conn, child)
	if err != nil {
		log.Fatal(err)
	}
	if ready[0] == conn {
		answer, err := conn.RecvBytes(ctx)
		fmt.Printf("%s %v\n", answer, err) // io.EOF if the child exited
	}
	conn.Close() // the child sees EOF
	if err := child.Wait(); err != nil {
		log.Print("worker: ", err)
	}
}

// In the child started by StartChild (the ./worker of the StartChild
// example): pick up the Pipe end and serve until the parent closes it.
func ExampleChildConn() {
	ctx := context.Background()
	conn, err := mpconn.ChildConn(nil)
	if err != nil {
		log.Fatal(err) // not started by StartChild
	}
	defer conn.Close()
	for {
		job, err := conn.RecvBytes(ctx)
		if err != nil {
			return // io.EOF: the parent is done
		}
		conn.SendBytes(ctx, append([]byte("done: "), job...))
	}
}

// A Python child: the descriptor number and the key are in the
// environment.
func ExampleStartChild_python() {
	ctx := context.Background()
	const script = `
import os
from multiprocessing.connection import Connection
conn = Connection(int(os.environ['MPCONN_FD']))
key = bytes.fromhex(os.environ['MPCONN_AUTHKEY'])
conn.send(('hello from Python', len(key)))
`
	cmd := exec.Command("python3", "-c", script)
	cmd.Stderr = os.Stderr
	child, conn, err := mpconn.StartChild(cmd, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	msg, err := conn.RecvBytes(ctx) // a pickle; conn.Recv decodes it
	fmt.Println(len(msg) > 0, err)
	child.Wait()
}
