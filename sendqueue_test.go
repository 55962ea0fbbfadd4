package mpconn

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// stallTransport is a transport whose writes the test controls: a write
// takes at most budget more bytes (negative: any number), then waits until
// the budget grows or a write deadline in the past interrupts it, as a
// full socket does. It counts the writes that took bytes.
type stallTransport struct {
	mu     sync.Mutex
	cond   *sync.Cond
	out    bytes.Buffer
	budget int
	past   bool // the write deadline has passed
	writes int
	closed bool
}

func newStallTransport(budget int) *stallTransport {
	s := &stallTransport{budget: budget}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *stallTransport) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(b) {
		switch {
		case s.closed:
			return n, os.ErrClosed
		case s.budget < 0:
			s.out.Write(b[n:])
			n = len(b)
		case s.budget > 0:
			k := min(s.budget, len(b)-n)
			s.out.Write(b[n : n+k])
			s.budget -= k
			n += k
		case s.past:
			if n > 0 {
				s.writes++
			}
			return n, os.ErrDeadlineExceeded
		default:
			s.cond.Wait()
		}
	}
	s.writes++
	return n, nil
}

func (s *stallTransport) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	s.past = !t.IsZero() && t.Before(time.Now())
	s.cond.Broadcast()
	s.mu.Unlock()
	return nil
}

func (s *stallTransport) setBudget(n int) {
	s.mu.Lock()
	s.budget = n
	s.cond.Broadcast()
	s.mu.Unlock()
}

func (s *stallTransport) Close() error {
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	return nil
}

func (s *stallTransport) Read([]byte) (int, error)        { return 0, io.EOF }
func (s *stallTransport) SetReadDeadline(time.Time) error { return nil }

// written returns the payloads of the whole frames written so far, and
// the number of bytes left over after them.
func (s *stallTransport) written(t *testing.T) ([]string, int) {
	t.Helper()
	s.mu.Lock()
	b := bytes.Clone(s.out.Bytes())
	s.mu.Unlock()
	var msgs []string
	for len(b) >= 4 {
		n := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+n {
			break
		}
		msgs = append(msgs, string(b[4:4+n]))
		b = b[4+n:]
	}
	return msgs, len(b)
}

func (s *stallTransport) writeCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// queueSenders starts one goroutine per message, each sending it with
// SendBytes while the test holds c's write lock, and waits until all of
// them are queued. The results arrive on the returned channel, by message.
func queueSenders(t *testing.T, c *Conn, ctx context.Context, msgs []string) map[string]chan error {
	t.Helper()
	res := make(map[string]chan error)
	for _, m := range msgs {
		ch := make(chan error, 1)
		res[m] = ch
		want := c.sq.n.Load() + 1
		go func() { ch <- c.SendBytes(ctx, []byte(m)) }()
		// One at a time, so that the queue order is msgs' order.
		for c.sq.n.Load() < want {
			time.Sleep(time.Millisecond)
		}
	}
	return res
}

func stallConn(budget int) (*Conn, *stallTransport) {
	st := newStallTransport(budget)
	return newConn(st, "test", true, true, nil), st
}

// Messages sent while another send holds the write lock are written by
// that send, together, in one write, before it returns.
func TestSendQueueCoalesces(t *testing.T) {
	c, st := stallConn(-1)
	defer c.Close()
	ctx := testCtx(t)
	c.wlock <- struct{}{} // a send in progress
	msgs := []string{"one", "two", "three", "four", "five"}
	res := queueSenders(t, c, ctx, msgs)
	if err := c.sendLocked(ctx, []byte("zero")); err != nil {
		t.Fatal(err)
	}
	for m, ch := range res {
		if err := <-ch; err != nil {
			t.Errorf("send %q: %v", m, err)
		}
	}
	got, rest := st.written(t)
	want := append([]string{"zero"}, msgs...)
	if fmt.Sprint(got) != fmt.Sprint(want) || rest != 0 {
		t.Fatalf("written %q (+%d bytes), want %q", got, rest, want)
	}
	if w := st.writeCount(); w != 2 {
		t.Fatalf("%d writes, want 2 (the lock holder's message, then the five queued ones)", w)
	}
}

// A queued sender whose context ends before anyone writes its message
// takes it back: nothing of it is sent.
func TestSendQueueWithdraw(t *testing.T) {
	c, st := stallConn(-1)
	defer c.Close()
	ctx := testCtx(t)
	c.wlock <- struct{}{}
	cctx, cancel := context.WithCancel(ctx)
	res := queueSenders(t, c, ctx, []string{"first"})
	res2 := queueSenders(t, c, cctx, []string{"withdrawn"})
	res3 := queueSenders(t, c, ctx, []string{"last"})
	cancel()
	if err := <-res2["withdrawn"]; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled queued send: %v, want context.Canceled", err)
	}
	if err := c.sendLocked(ctx, []byte("zero")); err != nil {
		t.Fatal(err)
	}
	for _, r := range []map[string]chan error{res, res3} {
		for m, ch := range r {
			if err := <-ch; err != nil {
				t.Errorf("send %q: %v", m, err)
			}
		}
	}
	got, rest := st.written(t)
	if want := []string{"zero", "first", "last"}; fmt.Sprint(got) != fmt.Sprint(want) || rest != 0 {
		t.Fatalf("written %q (+%d bytes), want %q", got, rest, want)
	}
}

// When the write of a batch is interrupted (the lock holder's context
// ends while the socket is full), the messages already written are
// reported sent, the one cut in two is finished first by the next writer,
// and the rest go back to the queue: every queued sender's message still
// arrives whole and in order, and each hears it went out.
func TestSendQueueInterruptedBatch(t *testing.T) {
	c, st := stallConn(-1)
	defer c.Close()
	ctx := testCtx(t)
	c.wlock <- struct{}{}
	msgs := []string{"aaaaaaaa", "bbbbbbbb", "cccccccc", "dddddddd"}
	res := queueSenders(t, c, ctx, msgs)
	// The lock holder's own message goes out; then the socket takes 15
	// more bytes (one 12-byte frame and 3 bytes of the next) and stalls
	// until the holder's context ends.
	st.setBudget(8 + 15)
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.sendLocked(hctx, []byte("zero")) }()
	for {
		got, rest := st.written(t)
		if len(got) == 2 && rest == 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("lock holder: %v (its own message was written)", err)
	}
	if err := <-res["aaaaaaaa"]; err != nil {
		t.Fatalf("first queued message, written whole: %v", err)
	}
	st.setBudget(-1)
	for _, m := range msgs[1:] {
		if err := <-res[m]; err != nil {
			t.Errorf("send %q: %v", m, err)
		}
	}
	got, rest := st.written(t)
	if want := append([]string{"zero"}, msgs...); fmt.Sprint(got) != fmt.Sprint(want) || rest != 0 {
		t.Fatalf("written %q (+%d bytes), want %q", got, rest, want)
	}
}

// A failed write reports its error to every sender in the batch, and
// later sends fail too.
func TestSendQueueWriteError(t *testing.T) {
	c, st := stallConn(0)
	ctx := testCtx(t)
	c.wlock <- struct{}{}
	res := queueSenders(t, c, ctx, []string{"x", "y"})
	st.Close() // the transport breaks under the Conn
	if err := c.sendLocked(ctx, []byte("zero")); err == nil {
		t.Fatal("send on a broken transport succeeded")
	}
	for m, ch := range res {
		if err := <-ch; !errors.Is(err, net.ErrClosed) {
			t.Errorf("send %q on a broken transport: %v, want net.ErrClosed", m, err)
		}
	}
	c.Close()
}

// Many goroutines sending at once over a real socket: every message
// arrives once, whole, and each goroutine's messages in the order it sent
// them.
func TestSendQueueConcurrentOrder(t *testing.T) {
	a, b := pipePair(t)
	ctx := testCtx(t)
	const senders, each = 8, 2000
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, 8+s*7)
			for i := range each {
				binary.BigEndian.PutUint32(p, uint32(s))
				binary.BigEndian.PutUint32(p[4:], uint32(i))
				if err := a.SendBytes(ctx, p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]uint32, senders)
	for range senders * each {
		p, err := b.RecvBytes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s, i := binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:])
		if int(s) >= senders || len(p) != 8+int(s)*7 {
			t.Fatalf("bad message %x", p)
		}
		if i != next[s] {
			t.Fatalf("sender %d: message %d after %d", s, i, next[s])
		}
		next[s]++
	}
	wg.Wait()
	if ok, err := b.Poll(ctx, 0); ok || err != nil {
		t.Fatalf("Poll after the last message: %v, %v", ok, err)
	}
}
