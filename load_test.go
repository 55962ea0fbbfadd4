//go:build unix

package mpconn

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Load: many authenticated clients streaming messages of mixed sizes
// through one Listener, and many goroutines sharing one Conn. Every
// message must arrive whole, exactly once and, per connection (or per
// sender), in order. Durations and peak memory are measured and logged.

// loadPool is the random material message payloads are cut from.
var loadPool = func() []byte {
	b := make([]byte, 1<<18)
	rand.New(rand.NewSource(42)).Read(b)
	return b
}()

// loadSize is the payload size of message seq: mostly small, with the
// sizes around CPython's 16 KiB write-coalescing limit and an occasional
// large one.
func loadSize(seq int) int {
	switch {
	case seq%500 == 499:
		return 200000
	case seq%100 == 50:
		return 16384 + seq%2 // 16384 or 16385
	}
	return [...]int{8, 9, 17, 100, 255, 256, 1000, 1500, 3000, 64}[seq%10]
}

// loadMessage builds message seq of sender id: the id and seq, then bytes
// of loadPool at an offset that depends on both.
func loadMessage(id, seq int) []byte {
	n := loadSize(seq)
	p := make([]byte, n)
	binary.BigEndian.PutUint32(p, uint32(id))
	binary.BigEndian.PutUint32(p[4:], uint32(seq))
	off := (id*7919 + seq*31) % (len(loadPool) - n)
	copy(p[8:], loadPool[off:])
	return p
}

// checkLoadMessage reports how p differs from message seq of sender id.
func checkLoadMessage(p []byte, id, seq int) error {
	if len(p) < 8 {
		return fmt.Errorf("sender %d: %d-byte message, want message %d", id, len(p), seq)
	}
	gid, gseq := int(binary.BigEndian.Uint32(p)), int(binary.BigEndian.Uint32(p[4:]))
	if gid != id || gseq != seq {
		return fmt.Errorf("sender %d: got message %d/%d, want %d/%d (lost, repeated or out of order)", id, gid, gseq, id, seq)
	}
	if !bytes.Equal(p, loadMessage(id, seq)) {
		return fmt.Errorf("sender %d: message %d corrupted (%d bytes, want %d)", id, seq, len(p), loadSize(seq))
	}
	return nil
}

// memPeak samples the heap until stopped and returns the peaks.
type memPeak struct {
	stop     chan struct{}
	done     chan struct{}
	heap     uint64 // peak HeapAlloc
	sys      uint64 // peak Sys
	base     uint64 // HeapAlloc at the start
	baseSys  uint64
	nsamples int
}

func startMemPeak() *memPeak {
	m := &memPeak{stop: make(chan struct{}), done: make(chan struct{})}
	var s runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&s)
	m.base, m.baseSys = s.HeapAlloc, s.Sys
	go func() {
		defer close(m.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&s)
			m.heap, m.sys = max(m.heap, s.HeapAlloc), max(m.sys, s.Sys)
			m.nsamples++
			select {
			case <-tick.C:
			case <-m.stop:
				return
			}
		}
	}()
	return m
}

func (m *memPeak) end() {
	close(m.stop)
	<-m.done
}

// runLoad runs clients authenticated clients, each sending msgs messages
// through one Unix-socket Listener that echoes them, with a reader and a
// writer goroutine per client. It fails on any lost, repeated, reordered
// or corrupted message, or when the peak heap exceeds heapBound.
func runLoad(t *testing.T, clients, msgs int, heapBound uint64) {
	key := []byte("load")
	lctx, _ := longTestCtx(t)
	ctx, cancel := context.WithCancel(lctx)
	defer cancel()
	// The handshake timeout is far beyond the test's needs: the test is
	// about losing nothing, not about speed.
	l, err := Listen("", &ListenOptions{AuthKey: key, HandshakeTimeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s := startEchoServer(t, l)
	mem := startMemPeak()

	var received, bytesSent atomic.Int64
	var failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
		cancel()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for id := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: key, HandshakeTimeout: 10 * time.Minute})
			if err != nil {
				fail("client %d: %v", id, err)
				return
			}
			defer c.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				for seq := range msgs {
					p := loadMessage(id, seq)
					if err := c.SendBytes(ctx, p); err != nil {
						fail("client %d: send %d: %v", id, seq, err)
						return
					}
					bytesSent.Add(int64(len(p)))
				}
			}()
			for seq := range msgs {
				p, err := c.RecvBytes(ctx)
				if err != nil {
					fail("client %d: receive %d: %v", id, seq, err)
					break
				}
				if err := checkLoadMessage(p, id, seq); err != nil {
					fail("%v", err)
					break
				}
				received.Add(1)
			}
			<-done
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	mem.end()
	total := int64(clients) * int64(msgs)
	lost := total - received.Load()
	t.Logf("MEASURED load: %d clients x %d messages (%d MB each way) in %v (%.0f msgs/s); lost %d; peak HeapAlloc %d MB (baseline %d MB), peak Sys %d MB",
		clients, msgs, bytesSent.Load()>>20, elapsed.Round(time.Millisecond), float64(received.Load())/elapsed.Seconds(),
		lost, mem.heap>>20, mem.base>>20, mem.sys>>20)
	if lost != 0 || failures.Load() != 0 {
		t.Fatalf("%d of %d messages not echoed back intact, %d failures", lost, total, failures.Load())
	}
	accepted, hsErrs, other := s.counts()
	if accepted != clients || len(hsErrs) != 0 || other != nil {
		t.Fatalf("accepted %d of %d clients, handshake errors %v, other %v", accepted, clients, hsErrs, other)
	}
	if mem.heap > heapBound {
		t.Fatalf("peak heap %d bytes, over the bound of %d", mem.heap, heapBound)
	}
}

// Many goroutines send and receive on both ends of one Listener
// connection at once. With one receiving goroutine per end, each sender's
// messages arrive in order; with several, each message arrives exactly
// once. Messages from concurrent senders never interleave.
func TestLoadOneConnManyGoroutines(t *testing.T) {
	senders, each := 32, 300
	if raceEnabled {
		each = 100
	}
	for _, network := range []string{"unix", "tcp"} {
		for _, receivers := range []int{1, 8} {
			t.Run(fmt.Sprintf("%s %d receivers", network, receivers), func(t *testing.T) {
				ctx := testCtx(t)
				addr := ""
				if network == "tcp" {
					addr = "127.0.0.1:0"
				}
				l, err := Listen(addr, &ListenOptions{AuthKey: []byte("k")})
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				cc := make(chan *Conn, 1)
				go func() {
					c, err := Dial(ctx, l.Address(), &DialOptions{AuthKey: []byte("k")})
					if err != nil {
						t.Error(err)
					}
					cc <- c
				}()
				a, err := l.Accept(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer a.Close()
				b := <-cc
				if b == nil {
					t.FailNow()
				}
				defer b.Close()
				var wg sync.WaitGroup
				for _, end := range [][2]*Conn{{a, b}, {b, a}} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := manyGoroutines(ctx, end[0], end[1], senders, each, receivers); err != nil {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
			})
		}
	}
}

// manyGoroutines sends senders*each messages on from, from senders
// goroutines, and receives them on to with receivers goroutines.
func manyGoroutines(ctx context.Context, from, to *Conn, senders, each, receivers int) error {
	errc := make(chan error, senders+receivers)
	for s := range senders {
		go func() {
			for i := range each {
				if err := from.SendBytes(ctx, loadMessage(s, i)); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	var mu sync.Mutex
	next := make([]int, senders)    // with one receiver: the expected seq per sender
	seen := make([][]bool, senders) // with several: exactly once
	for s := range seen {
		seen[s] = make([]bool, each)
	}
	var got atomic.Int64
	total := int64(senders * each)
	for range receivers {
		go func() {
			for got.Load() < total {
				// With several receivers, the last messages may all go to
				// others: poll with a short context and look again.
				rctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				p, err := to.RecvBytes(rctx)
				cancel()
				if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
					continue
				}
				if err != nil {
					errc <- err
					return
				}
				if len(p) < 8 {
					errc <- fmt.Errorf("%d-byte message", len(p))
					return
				}
				s, i := int(binary.BigEndian.Uint32(p)), int(binary.BigEndian.Uint32(p[4:]))
				if s >= senders || i >= each {
					errc <- fmt.Errorf("message %d/%d out of range", s, i)
					return
				}
				mu.Lock()
				if receivers == 1 && next[s] != i {
					mu.Unlock()
					errc <- fmt.Errorf("sender %d: got message %d, want %d", s, i, next[s])
					return
				}
				next[s]++
				dup := seen[s][i]
				seen[s][i] = true
				mu.Unlock()
				if dup {
					errc <- fmt.Errorf("message %d/%d received twice", s, i)
					return
				}
				if err := checkLoadMessage(p, s, i); err != nil {
					errc <- err
					return
				}
				got.Add(1)
			}
			errc <- nil
		}()
	}
	var first error
	for range senders + receivers {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	if got.Load() != total {
		return fmt.Errorf("received %d of %d messages", got.Load(), total)
	}
	return nil
}
