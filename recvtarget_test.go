//go:build unix

package mpconn

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/mpconn/mpconn/pickle"
)

// Recv into a target that cannot take a value fails at once, even with
// no message waiting, and leaves the next message for the next receive.
func TestRecvBadTargetConsumesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec Codec
		isErr func(error) bool
	}{
		{"pickle", Pickle, func(err error) bool { var e *pickle.InvalidUnmarshalError; return errors.As(err, &e) }},
		{"json", JSON, func(err error) bool { var e *json.InvalidUnmarshalError; return errors.As(err, &e) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			a, b, err := Pipe(&ConnOptions{Codec: tc.codec})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			defer b.Close()
			var m map[string]int
			var nilPtr *int
			for _, bad := range []any{nil, 5, m, nilPtr, (*any)(nil)} {
				// Nothing has been sent: a check that read first would block
				// until the test's deadline.
				if err := b.Recv(ctx, bad); !tc.isErr(err) {
					t.Fatalf("Recv(%#v) with nothing sent = %v, want an InvalidUnmarshalError", bad, err)
				}
			}
			if err := a.Send(ctx, map[string]int{"x": 1}); err != nil {
				t.Fatal(err)
			}
			if err := b.Recv(ctx, m); !tc.isErr(err) {
				t.Fatalf("Recv(non-pointer map) = %v, want an InvalidUnmarshalError", err)
			}
			if err := b.Recv(ctx, &m); err != nil || m["x"] != 1 {
				t.Fatalf("the message after a refused Recv: %v, %v", m, err)
			}
		})
	}
}
