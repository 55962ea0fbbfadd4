package mpconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/mpconn/mpconn/pickle"
)

// SendBytesMany delivers exactly the messages of as many SendBytes calls,
// whatever their sizes, in order.
func TestSendBytesManySizes(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	var msgs [][]byte
	for i, size := range []int{0, 1, 64, coalesceMax, coalesceMax + 1, 100000, 0, 3} {
		msgs = append(msgs, bytes.Repeat([]byte{byte('a' + i)}, size))
	}
	for i := range 3000 { // several 64 KiB chunks of small messages
		msgs = append(msgs, []byte(fmt.Sprintf("small message %d", i)))
	}
	done := make(chan error, 1)
	go func() {
		n, err := a.SendBytesMany(ctx, msgs...)
		if err == nil && n != len(msgs) {
			err = fmt.Errorf("SendBytesMany sent %d of %d", n, len(msgs))
		}
		done <- err
	}()
	for i, want := range msgs {
		got, err := b.RecvBytes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d: %d bytes %.20q, want %d bytes %.20q", i, len(got), got, len(want), want)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Poll(ctx, 0); ok || err != nil {
		t.Fatalf("Poll after the last message: %v, %v", ok, err)
	}
}

// Small messages go out about 64 KiB per system call.
func TestSendBytesManyGathers(t *testing.T) {
	c, st := stallConn(-1)
	defer c.Close()
	msgs := make([][]byte, 1000)
	for i := range msgs {
		msgs[i] = bytes.Repeat([]byte{byte(i)}, 64)
	}
	n, err := c.SendBytesMany(testCtx(t), msgs...)
	if err != nil || n != len(msgs) {
		t.Fatalf("SendBytesMany: %d, %v", n, err)
	}
	got, rest := st.written(t)
	if len(got) != len(msgs) || rest != 0 {
		t.Fatalf("%d messages (+%d bytes) written, want %d", len(got), rest, len(msgs))
	}
	for i, m := range got {
		if m != string(msgs[i]) {
			t.Fatalf("message %d differs", i)
		}
	}
	// 68,000 bytes of frames: one write at 64 KiB, one for the rest.
	if w := st.writeCount(); w != 2 {
		t.Fatalf("%d writes for 1000 64-byte messages, want 2", w)
	}
}

// A SendBytesMany cut by its context reports how many messages went out
// whole; the message it cut is finished before the next send; the ones
// after it are not sent.
func TestSendBytesManyInterrupted(t *testing.T) {
	c, st := stallConn(4 + 10 + 4 + 3) // the first frame, and 7 bytes of the second
	defer c.Close()
	ctx, cancel := context.WithCancel(testCtx(t))
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := c.SendBytesMany(ctx, []byte("0123456789"), []byte("abcdefghij"), []byte("not sent"))
		done <- result{n, err}
	}()
	for {
		if _, rest := st.written(t); rest == 7 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	r := <-done
	var pe *partialSendError
	if r.n != 1 || !errors.Is(r.err, context.Canceled) || !errors.As(r.err, &pe) || pe.sent != 7 {
		t.Fatalf("SendBytesMany: %d, %v; want 1 and a partial send of 7 bytes", r.n, r.err)
	}
	st.setBudget(-1)
	if err := c.SendBytes(testCtx(t), []byte("next")); err != nil {
		t.Fatal(err)
	}
	got, rest := st.written(t)
	if want := []string{"0123456789", "abcdefghij", "next"}; fmt.Sprint(got) != fmt.Sprint(want) || rest != 0 {
		t.Fatalf("written %q (+%d bytes), want %q", got, rest, want)
	}
}

// SendMany pickles each value into its own message; a value that cannot
// be encoded stops it there, after the ones before it went out.
func TestSendMany(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	big := bytes.Repeat([]byte("x"), 50000)
	vals := []any{int64(1), "two", []any{3.5, nil}, big, map[string]any{"k": true}}
	n, err := a.SendMany(ctx, vals...)
	if err != nil || n != len(vals) {
		t.Fatalf("SendMany: %d, %v", n, err)
	}
	for i, want := range vals {
		var got any
		if err := b.Recv(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if m, ok := want.(map[string]any); ok {
			if d, ok := got.(interface{ Len() int }); !ok || d.Len() != len(m) {
				t.Fatalf("value %d: %#v, want a dict like %v", i, got, want)
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("value %d: %#v, want %#v", i, got, want)
		}
	}
	n, err = a.SendMany(ctx, "before", make(chan int), "after")
	if n != 1 || err == nil {
		t.Fatalf("SendMany with an unencodable value: %d, %v; want 1 and an error", n, err)
	}
	var got any
	if err := b.Recv(ctx, &got); err != nil || got != "before" {
		t.Fatalf("after a failed SendMany: %#v, %v; want \"before\"", got, err)
	}
	if ok, err := b.Poll(ctx, 0); ok || err != nil {
		t.Fatalf("Poll: %v, %v; want nothing more sent", ok, err)
	}
}

// SendMany with another codec.
func TestSendManyJSON(t *testing.T) {
	a, b, err := Pipe(&ConnOptions{Codec: JSON})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	ctx := testCtx(t)
	if n, err := a.SendMany(ctx, 1, "x", []int{2, 3}); n != 3 || err != nil {
		t.Fatalf("SendMany: %d, %v", n, err)
	}
	for _, want := range []string{"1", `"x"`, "[2,3]"} {
		p, err := b.RecvBytes(ctx)
		if err != nil || string(p) != want {
			t.Fatalf("got %q, %v; want %q", p, err, want)
		}
	}
}

// SendBytesMany, and SendMany of a pickled dict, allocate nothing per call
// in steady state.
func TestSendManyAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are measured without the race detector (scripts/test runs this test again without -race)")
	}
	a, b := pipePair(t)
	ctx := context.Background()
	msgs := make([][]byte, 16)
	for i := range msgs {
		msgs[i] = make([]byte, 64)
	}
	d := pickle.NewDict()
	d.Set("id", int64(1))
	d.Set("name", "hello")
	d.Set("vals", []any{1.5, 2.5, 3.5})
	vals := []any{d, d, d, d}
	const runs = 100
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1024)
		for range (runs + 1) * (len(msgs) + len(vals)) {
			if _, err := b.RecvBytesInto(ctx, buf, 0); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	allocs := testing.AllocsPerRun(runs, func() {
		if _, err := a.SendBytesMany(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SendMany(ctx, vals...); err != nil {
			t.Fatal(err)
		}
	})
	<-done
	if allocs != 0 {
		t.Errorf("SendBytesMany + SendMany: %v allocations per call", allocs)
	}
}
