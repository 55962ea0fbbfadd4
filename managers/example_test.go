package managers_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/managers"
	"github.com/mpconn/mpconn/pickle"
)

// A Go server of SyncManager's typeids, and a Go client of it. A Python
// client would connect with SyncManager(address=path, authkey=b'secret').
func Example() {
	dir, _ := os.MkdirTemp("", "mgr")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "mgr.sock")
	key := []byte("secret")

	l, err := mpconn.Listen(path, &mpconn.ListenOptions{AuthKey: key})
	if err != nil {
		panic(err)
	}
	defer l.Close()
	srv := managers.NewServer(nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	defer func() { srv.Close(); <-done }()

	ctx := context.Background()
	c, err := managers.Dial(ctx, path, &managers.ClientOptions{AuthKey: key})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	q, err := c.Create(ctx, "Queue")
	if err != nil {
		panic(err)
	}
	defer q.Close()
	q.Call(ctx, "put", []any{"job", 1})
	job, _ := q.Call(ctx, "get")
	fmt.Println(job)
	_, err = q.Call(ctx, "get_nowait")
	fmt.Println(errors.Is(err, managers.ErrEmpty), err)
	// Output:
	// [job 1]
	// true Empty
}

// Go methods served to Python: after this, a Python client of the
// manager calls m.Greeter().greet('Ada') (with Mgr.register('Greeter')
// on its side).
func ExampleServer_Register() {
	srv := managers.NewServer(nil)
	defer srv.Close()
	srv.Register("Greeter", managers.Type{
		New: func(ctx context.Context, args pickle.Tuple, kw *pickle.Dict) (managers.Object, error) {
			return managers.Methods{
				"greet": func(ctx context.Context, c *managers.Call) (any, error) {
					a, err := c.Bind([]string{"name"})
					if err != nil {
						return nil, err
					}
					return fmt.Sprintf("hello, %v", a[0]), nil
				},
			}, nil
		},
	})
	fmt.Println("registered")
	// Output: registered
}
