//go:build unix

package mpconn

import (
	"errors"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/unix"
)

// A Conn added with messages already in its buffer is ready although its
// socket is empty.
func TestWaitSetAddSeesBuffered(t *testing.T) {
	ctx := testCtx(t)
	a, b := pipePair(t)
	fa, _ := a.Fd()
	frames := append(append(hdr(1), 'x'), append(hdr(1), 'y')...)
	if _, err := unix.Write(fa, frames); err != nil {
		t.Fatal(err)
	}
	if m, err := b.RecvBytes(ctx); err != nil || string(m) != "x" {
		t.Fatal(m, err)
	}
	if osReadable(t, b) {
		t.Fatal("test premise: the socket still has bytes")
	}
	s := newSet(t)
	if err := s.Add(b); err != nil {
		t.Fatal(err)
	}
	got, err := s.Wait(ctx, -1)
	wantReady(t, got, err, b)
	if m, err := b.RecvBytes(ctx); err != nil || string(m) != "y" {
		t.Fatal(m, err)
	}
	got, err = s.Wait(ctx, 0)
	wantReady(t, got, err)
}

// 1,000 Conns, a random few ready each round: exactly those are reported,
// in the order they were added.
func TestWaitSetManyConns(t *testing.T) {
	ctx := testCtx(t)
	const n = 1000
	raiseFileLimit(t, 4*n+100)
	s := newSet(t)
	senders := make([]*Conn, n)
	conns := make([]*Conn, n)
	for i := range conns {
		senders[i], conns[i] = pipePair(t)
		if err := s.Add(conns[i]); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		var want []Waitable
		for _, i := range r.Perm(n)[:1+r.IntN(30)] {
			// Sometimes two messages, one of which stays buffered.
			for k := 0; k < 1+r.IntN(2); k++ {
				if err := senders[i].SendBytes(ctx, []byte{byte(i), byte(k)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i, c := range conns {
			// The senders are done: each message is in c's socket.
			if osReadable(t, c) {
				want = append(want, conns[i])
			}
		}
		var got []Waitable
		for len(got) < len(want) {
			more, err := s.Wait(ctx, -1)
			if err != nil {
				t.Fatal(err)
			}
			got = mergeReady(conns, got, more)
		}
		wantReady(t, got, nil, want...)
		// Drain them all; nothing is left ready.
		for _, o := range got {
			c := o.(*Conn)
			for {
				if _, err := c.RecvBytes(ctx); err != nil {
					t.Fatal(err)
				}
				if ok, _ := c.Poll(ctx, 0); !ok {
					break
				}
			}
		}
		got, err := s.Wait(ctx, 0)
		wantReady(t, got, err)
	}
}

// mergeReady adds more to got, keeping the order of all.
func mergeReady(all []*Conn, got, more []Waitable) []Waitable {
	in := make(map[Waitable]bool)
	for _, o := range got {
		in[o] = true
	}
	for _, o := range more {
		in[o] = true
	}
	var out []Waitable
	for _, c := range all {
		if in[c] {
			out = append(out, c)
		}
	}
	return out
}

// A receive in another goroutine takes a message while the set waits;
// the second message of the same read stays buffered, and the set is
// told about it.
func TestWaitSetConcurrentReceiver(t *testing.T) {
	ctx := testCtx(t)
	s := newSet(t)
	a, b := pipePair(t)
	if err := s.Add(b); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		recvd := make(chan error, 1)
		go func() {
			_, err := b.RecvBytes(ctx)
			recvd <- err
		}()
		waited := make(chan error, 1)
		go func() {
			got, err := s.Wait(ctx, -1)
			if err == nil && (len(got) != 1 || got[0] != b) {
				err = errors.New("wrong objects ready")
			}
			waited <- err
		}()
		fa, _ := a.Fd()
		frames := append(append(hdr(1), 'x'), append(hdr(1), 'y')...)
		if _, err := unix.Write(fa, frames); err != nil {
			t.Fatal(err)
		}
		if err := <-recvd; err != nil {
			t.Fatal(err)
		}
		if err := <-waited; err != nil {
			t.Fatal(err)
		}
		// The first receive may have read one message or both; either
		// way one is left, and Wait sees it.
		got, err := s.Wait(ctx, -1)
		wantReady(t, got, err, b)
		if _, err := b.RecvBytes(ctx); err != nil {
			t.Fatal(err)
		}
		got, err = s.Wait(ctx, 0)
		wantReady(t, got, err)
	}
}

// One Conn in two sets: both see its buffered message, and both see it
// go.
func TestWaitSetTwoSets(t *testing.T) {
	ctx := testCtx(t)
	s1, s2 := newSet(t), newSet(t)
	a, b := pipePair(t)
	s1.Add(b)
	s2.Add(b)
	fa, _ := a.Fd()
	frames := append(append(hdr(1), 'x'), append(hdr(1), 'y')...)
	unix.Write(fa, frames)
	got, err := s1.Wait(ctx, -1) // reads both into b's buffer
	wantReady(t, got, err, b)
	got, err = s2.Wait(ctx, -1)
	wantReady(t, got, err, b)
	b.RecvBytes(ctx)
	b.RecvBytes(ctx)
	for _, s := range []*WaitSet{s1, s2} {
		got, err = s.Wait(ctx, 0)
		wantReady(t, got, err)
	}
	s1.Close()
	a.SendBytes(ctx, nil)
	got, err = s2.Wait(ctx, -1)
	wantReady(t, got, err, b)
}

// raiseFileLimit raises the soft limit on open files to at least n, or
// skips the test or benchmark saying why it cannot.
func raiseFileLimit(t testing.TB, n uint64) {
	t.Helper()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	if uint64(lim.Cur) >= n {
		return
	}
	old := lim
	setRlim(&lim.Cur, n)
	if uint64(lim.Max) < n {
		setRlim(&lim.Max, n) // raising the hard limit needs privilege
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("needs %d open files; the limit is %d (hard %d) and cannot be raised: %v", n, old.Cur, old.Max, err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
}

// setRlim sets a limit field, whose type differs between systems.
func setRlim[T int64 | uint64](p *T, v uint64) { *p = T(v) }
