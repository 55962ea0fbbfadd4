package mpconn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/mpconn/mpconn"
)

// A duplex Pipe carries whole messages both ways.
func ExamplePipe() {
	ctx := context.Background()
	a, b, err := mpconn.Pipe(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	a.SendBytes(ctx, []byte("hello"))
	a.SendBytes(ctx, nil) // zero-length messages are messages too
	a.Close()

	for {
		msg, err := b.RecvBytes(ctx)
		if err == io.EOF {
			fmt.Println("peer closed")
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%q\n", msg)
	}
	// Output:
	// "hello"
	// ""
	// peer closed
}

// A Listener with a key authenticates every client the way CPython's
// Listener does; a client with the wrong key is refused on both ends.
func ExampleListen() {
	ctx := context.Background()
	l, err := mpconn.Listen("", &mpconn.ListenOptions{AuthKey: []byte("secret")})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	go func() {
		for {
			c, err := l.Accept(ctx)
			if errors.Is(err, mpconn.ErrAuthentication) {
				continue // a client with the wrong key; keep serving
			}
			if err != nil {
				return
			}
			msg, _ := c.RecvBytes(ctx)
			c.SendBytes(ctx, append([]byte("echo: "), msg...))
			c.Close()
		}
	}()

	c, err := mpconn.Dial(ctx, l.Address(), &mpconn.DialOptions{AuthKey: []byte("secret")})
	if err != nil {
		log.Fatal(err)
	}
	c.SendBytes(ctx, []byte("hi"))
	reply, _ := c.RecvBytes(ctx)
	fmt.Println(string(reply))
	c.Close()

	_, err = mpconn.Dial(ctx, l.Address(), &mpconn.DialOptions{AuthKey: []byte("wrong")})
	fmt.Println(errors.Is(err, mpconn.ErrAuthentication))
	// Output:
	// echo: hi
	// true
}

// RecvBytesInto reads into a caller's buffer; a message that does not fit
// comes back whole inside a *BufferTooShortError and the stream stays in
// step.
func ExampleConn_RecvBytesInto() {
	ctx := context.Background()
	a, b, _ := mpconn.Pipe(nil)
	defer a.Close()
	defer b.Close()
	a.SendBytes(ctx, []byte("short"))
	a.SendBytes(ctx, []byte("a message too long for the buffer"))

	buf := make([]byte, 8)
	n, _ := b.RecvBytesInto(ctx, buf, 0)
	fmt.Printf("%q\n", buf[:n])

	_, err := b.RecvBytesInto(ctx, buf, 0)
	var tooShort *mpconn.BufferTooShortError
	if errors.As(err, &tooShort) {
		fmt.Printf("too short for %q\n", tooShort.Msg)
	}
	// Output:
	// "short"
	// too short for "a message too long for the buffer"
}

// Poll reports whether a whole message is ready; a receive after a true
// Poll does not block.
func ExampleConn_Poll() {
	ctx := context.Background()
	a, b, _ := mpconn.Pipe(nil)
	defer a.Close()
	defer b.Close()

	ready, _ := b.Poll(ctx, 0)
	fmt.Println(ready)
	a.SendBytes(ctx, []byte("x"))
	ready, _ = b.Poll(ctx, time.Second)
	fmt.Println(ready)
	// Output:
	// false
	// true
}

// SendBytesMany sends several messages with few system calls; the
// receiver sees them one by one, as if each had been sent on its own.
func ExampleConn_SendBytesMany() {
	ctx := context.Background()
	a, b, err := mpconn.Pipe(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	defer b.Close()

	n, err := a.SendBytesMany(ctx, []byte("one"), []byte("two"), []byte("three"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent", n)
	for range n {
		msg, err := b.RecvBytes(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s\n", msg)
	}
	// Output:
	// sent 3
	// one
	// two
	// three
}

// SendMany pickles each value into a message of its own; a Python peer
// receives them with conn.recv(), one by one.
func ExampleConn_SendMany() {
	ctx := context.Background()
	a, b, err := mpconn.Pipe(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	defer b.Close()

	if _, err := a.SendMany(ctx, "start", 1, 2, 3, "end"); err != nil {
		log.Fatal(err)
	}
	for {
		var v any
		if err := b.Recv(ctx, &v); err != nil {
			log.Fatal(err)
		}
		fmt.Println(v)
		if v == "end" {
			break
		}
	}
	// Output:
	// start
	// 1
	// 2
	// 3
	// end
}
