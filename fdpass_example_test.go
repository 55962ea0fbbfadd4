//go:build unix

package mpconn_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/mpconn/mpconn"
)

// One end of a Pipe sends the write end of an OS pipe; the other end
// receives its own descriptor for it and writes through it. Across
// processes, the receiver may be CPython's
// multiprocessing.reduction.recv_handle(conn).
func ExampleConn_SendFile() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b, err := mpconn.Pipe(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	r, w, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	// The protocol: a message says that a file follows, then the file.
	a.Send(ctx, "log file follows")
	if err := a.SendFile(ctx, w); err != nil {
		log.Fatal(err)
	}
	w.Close() // the receiver holds its own descriptor now

	var note string
	b.Recv(ctx, &note)
	f, err := b.RecvFile(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprint(f, "written by the receiver")
	f.Close()

	data, _ := io.ReadAll(r)
	fmt.Println(note+":", string(data))
	// Output: log file follows: written by the receiver
}
