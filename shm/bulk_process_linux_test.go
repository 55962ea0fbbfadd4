//go:build linux

package shm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/pickle"
)

func init() { childMain = bulkChild }

// bulkChild is the receiving process of TestBulkAcrossProcesses: it sums
// every buffer it receives, reading all of it in place, until an ordinary
// message ends the stream, then answers (sums, buffers mapped).
func bulkChild() int {
	ctx := context.Background()
	c, err := mpconn.ChildConn(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	r := NewReceiver(c, nil)
	defer r.Close()
	var sums []any
	for {
		m, err := r.Recv(ctx)
		if errors.Is(err, mpconn.ErrNoFile) {
			if _, err := c.RecvBytes(ctx); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		var sum int64
		for _, b := range m.Bytes() {
			sum += int64(b)
		}
		sums = append(sums, int64(m.Len()), sum)
		m.Close()
	}
	if err := c.Send(ctx, pickle.Tuple{sums, int64(r.Mapped())}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// Buffers go to another process and come back to the pool.
func TestBulkAcrossProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "SHM_TEST_CHILD=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	child, c, err := mpconn.StartChild(cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pool := NewPool(nil)
	defer pool.Close()
	var want []any
	for i := range 8 {
		buf, err := pool.Get(ctx, 1<<20-i) // all fit the same blocks
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for j := range buf.Bytes() {
			buf.Bytes()[j] = byte(i*7 + j)
			sum += int64(byte(i*7 + j))
		}
		want = append(want, int64(1<<20-i), sum)
		if err := Send(ctx, c, buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SendBytes(ctx, []byte("end")); err != nil {
		t.Fatal(err)
	}
	var got pickle.Tuple
	if err := c.Recv(ctx, &got); err != nil {
		t.Fatalf("%v; child: %s", err, stderr.String())
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	sums, _ := got[0].([]any)
	if fmt.Sprint(sums) != fmt.Sprint(want) {
		t.Fatalf("the child read (length, sum) %v, want %v", sums, want)
	}
	n := len(pool.blocks)
	if n < 1 || n > 4 {
		t.Fatalf("pool holds %d blocks for 8 sequential buffers, want 1 to 4", n)
	}
	if got[1] != int64(n) {
		t.Fatalf("the child mapped %v blocks, the pool made %d: mappings were not reused", got[1], n)
	}
}
