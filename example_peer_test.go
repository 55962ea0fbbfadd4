//go:build unix

package mpconn_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/mpconn/mpconn"
)

// A Conn to a peer that reads a 32-bit length (CPython 2.7 to 3.7,
// billiard) refuses a larger message before writing any of it. Here the
// limit is 4 bytes, to show it without 2 GiB.
func ExampleSendTooLongError() {
	ctx := context.Background()
	a, b, err := mpconn.Pipe(&mpconn.ConnOptions{MaxSendSize: 4}) // mpconn.MaxSize32Bit for such peers
	if err != nil {
		panic(err)
	}
	defer a.Close()
	defer b.Close()
	err = a.SendBytes(ctx, []byte("too long"))
	var tl *mpconn.SendTooLongError
	fmt.Println(errors.As(err, &tl), tl.Len, tl.Max)
	fmt.Println(a.SendBytes(ctx, []byte("fits"))) // the Conn is still usable
	// Output:
	// true 8 4
	// <nil>
}
