//go:build unix

package mpconn

import (
	"context"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/mpconn/mpconn/internal/platform"
)

func init() {
	testChildren["wait-hold"] = func() int {
		io.Copy(io.Discard, os.Stdin) // until the parent lets go
		return 0
	}
}

// idleConns returns n Conns whose peers stay open but silent. The peers
// are held by child processes, so that this process needs only one
// descriptor per Conn.
func idleConns(b *testing.B, n int) []*Conn {
	b.Helper()
	raiseFileLimit(b, uint64(n+2048))
	const batch = 1000
	conns := make([]*Conn, 0, n)
	for len(conns) < n {
		k := min(batch, n-len(conns))
		peers := make([]*os.File, 0, k)
		for i := 0; i < k; i++ {
			fds, err := platform.Socketpair()
			if err != nil {
				b.Fatal(err)
			}
			c, err := socketConn(fds[0], "pipe", nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.Close() })
			conns = append(conns, c)
			peers = append(peers, os.NewFile(uintptr(fds[1]), "peer"))
		}
		cmd := goChild("wait-hold")
		cmd.ExtraFiles = peers
		stdin, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { stdin.Close(); cmd.Wait() })
		for _, f := range peers {
			f.Close()
		}
	}
	return conns
}

func benchPipe(b *testing.B) (*Conn, *Conn) {
	b.Helper()
	x, y, err := Pipe(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { x.Close(); y.Close() })
	return x, y
}

// BenchmarkWaitSet measures WaitSet.Wait with n idle Conns registered and
// one ready: the cost should not grow with n.
//
// "buffered": the ready Conn holds a message nobody receives, so every
// Wait finds it on the set's ready list. "roundtrip": each op sends a
// message, waits for it (the descriptor reports it) and receives it.
func BenchmarkWaitSet(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10, 1000, 10000} {
		setup := func(b *testing.B) (*WaitSet, *Conn, *Conn) {
			s := newSet(b)
			for _, y := range idleConns(b, n) {
				if err := s.Add(y); err != nil {
					b.Fatal(err)
				}
			}
			x, y := benchPipe(b)
			if err := s.Add(y); err != nil {
				b.Fatal(err)
			}
			return s, x, y
		}
		b.Run("buffered/idle="+strconv.Itoa(n), func(b *testing.B) {
			s, x, _ := setup(b)
			x.SendBytes(ctx, []byte("ready"))
			for b.Loop() {
				got, err := s.Wait(ctx, -1)
				if err != nil || len(got) != 1 {
					b.Fatal(got, err)
				}
			}
		})
		b.Run("roundtrip/idle="+strconv.Itoa(n), func(b *testing.B) {
			s, x, y := setup(b)
			msg := []byte("ready")
			for b.Loop() {
				x.SendBytes(ctx, msg)
				got, err := s.Wait(ctx, -1)
				if err != nil || len(got) != 1 {
					b.Fatal(got, err)
				}
				if _, err := y.RecvBytes(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWait measures the one-shot Wait, whose cost grows with the
// number of objects (for comparison with BenchmarkWaitSet).
func BenchmarkWait(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10, 1000} {
		b.Run("idle="+strconv.Itoa(n), func(b *testing.B) {
			objs := make([]Waitable, 0, n+1)
			for _, y := range idleConns(b, n) {
				objs = append(objs, y)
			}
			x, y := benchPipe(b)
			objs = append(objs, y)
			x.SendBytes(ctx, []byte("ready"))
			for b.Loop() {
				got, err := Wait(ctx, -1, objs...)
				if err != nil || len(got) != 1 {
					b.Fatal(got, err)
				}
			}
		})
	}
}
