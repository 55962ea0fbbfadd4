package mpconn

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// The benchmarks run the peer in a child process (the test binary run
// again), over a socketpair, and measure each case twice side by side:
// mpconn, and the same work with raw socket reads and writes (one write per
// message, io.ReadFull for the fixed-size frame), so the ratio shows what
// the framing library costs or saves.

func init() {
	testChildren["bench-echo"] = benchEchoChild
	testChildren["bench-rawecho"] = benchRawEchoChild
	testChildren["bench-sink"] = benchSinkChild
	testChildren["bench-rawsink"] = benchRawSinkChild
}

func benchEnv(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

func benchEchoChild() int {
	c, err := FDConn(3, nil)
	if err != nil {
		return 1
	}
	ctx := context.Background()
	buf := make([]byte, 4<<20)
	for {
		n, err := c.RecvBytesInto(ctx, buf, 0)
		if err != nil {
			return 0
		}
		if err := c.SendBytes(ctx, buf[:n]); err != nil {
			return 0
		}
	}
}

func rawChildConn() net.Conn {
	f := os.NewFile(3, "peer")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		os.Exit(1)
	}
	return nc
}

func benchRawEchoChild() int {
	nc := rawChildConn()
	size := benchEnv("MPCONN_BENCH_SIZE")
	buf := make([]byte, 4+size)
	for {
		if _, err := io.ReadFull(nc, buf); err != nil {
			return 0
		}
		if _, err := nc.Write(buf); err != nil {
			return 0
		}
	}
}

// benchSinkChild receives messages until an empty one, then acknowledges.
func benchSinkChild() int {
	c, err := FDConn(3, nil)
	if err != nil {
		return 1
	}
	ctx := context.Background()
	buf := make([]byte, 4<<20)
	for {
		n, err := c.RecvBytesInto(ctx, buf, 0)
		if err != nil {
			return 0
		}
		if n == 0 {
			if err := c.SendBytes(ctx, []byte("ack")); err != nil {
				return 0
			}
		}
	}
}

func benchRawSinkChild() int {
	nc := rawChildConn()
	var hdr [4]byte
	buf := make([]byte, 4<<20)
	for {
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			return 0
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if _, err := io.ReadFull(nc, buf[:n]); err != nil {
			return 0
		}
		if n == 0 {
			if _, err := nc.Write([]byte{0, 0, 0, 3, 'a', 'c', 'k'}); err != nil {
				return 0
			}
		}
	}
}

// startPeer starts child as a peer process holding the other end of a
// duplex Pipe and returns this end.
func startBenchPeer(b *testing.B, child string, size int) *Conn {
	b.Helper()
	a, peer, err := Pipe(nil)
	if err != nil {
		b.Fatal(err)
	}
	f, err := peer.File()
	if err != nil {
		b.Fatal(err)
	}
	peer.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+child, "MPCONN_BENCH_SIZE="+strconv.Itoa(size))
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.Cleanup(func() {
		a.Close()
		cmd.Wait()
	})
	return a
}

// rawConn is the raw socket under a Conn made by startPeer.
func rawConn(b *testing.B, c *Conn) net.Conn {
	nc, ok := c.t.(net.Conn)
	if !ok {
		b.Fatal("not a net.Conn")
	}
	return nc
}

func BenchmarkRoundTrip64(b *testing.B) {
	const size = 64
	msg := make([]byte, size)
	b.Run("mpconn", func(b *testing.B) {
		c := startBenchPeer(b, "bench-echo", size)
		ctx := context.Background()
		buf := make([]byte, size)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := c.SendBytes(ctx, msg); err != nil {
				b.Fatal(err)
			}
			if _, err := c.RecvBytesInto(ctx, buf, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		c := startBenchPeer(b, "bench-rawecho", size)
		nc := rawConn(b, c)
		frame := append(hdr(size), msg...)
		buf := make([]byte, len(frame))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := nc.Write(frame); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(nc, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchStream(b *testing.B, size int) {
	msg := make([]byte, size)
	b.Run("mpconn", func(b *testing.B) {
		c := startBenchPeer(b, "bench-sink", size)
		ctx := context.Background()
		ack := make([]byte, 16)
		b.SetBytes(int64(size))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := c.SendBytes(ctx, msg); err != nil {
				b.Fatal(err)
			}
		}
		if err := c.SendBytes(ctx, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := c.RecvBytesInto(ctx, ack, 0); err != nil {
			b.Fatal(err)
		}
	})
	if size <= coalesceMax {
		// The same stream from several goroutines at once, which the
		// send queue writes together (group commit).
		b.Run("mpconn-4senders", func(b *testing.B) {
			c := startBenchPeer(b, "bench-sink", size)
			ctx := context.Background()
			ack := make([]byte, 16)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.SetParallelism(2) // 2 × GOMAXPROCS goroutines
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.SendBytes(ctx, msg); err != nil {
						b.Error(err)
						return
					}
				}
			})
			if err := c.SendBytes(ctx, nil); err != nil {
				b.Fatal(err)
			}
			if _, err := c.RecvBytesInto(ctx, ack, 0); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.Run("raw", func(b *testing.B) {
		c := startBenchPeer(b, "bench-rawsink", size)
		nc := rawConn(b, c)
		frame := append(hdr(size), msg...)
		ack := make([]byte, 7)
		b.SetBytes(int64(size))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if size <= coalesceMax {
				if _, err := nc.Write(frame); err != nil {
					b.Fatal(err)
				}
			} else {
				bufs := net.Buffers{frame[:4], msg}
				if _, err := bufs.WriteTo(nc); err != nil {
					b.Fatal(err)
				}
			}
		}
		if _, err := nc.Write(hdr(0)); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(nc, ack); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkStream64(b *testing.B) { benchStream(b, 64) }

func BenchmarkStream1MiB(b *testing.B) { benchStream(b, 1<<20) }
