package poller

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"
)

// The conformance suite: every backend this system has (Backends) is held
// to the same behaviour. Backends that are not Exact may report keys that
// are not ready; every backend must report those that are.

func forEach(t *testing.T, f func(t *testing.T, b Backend, p Poller)) {
	bs := Backends()
	if len(bs) == 0 {
		t.Fatal("no backend")
	}
	for _, b := range bs {
		t.Run(b.Name, func(t *testing.T) {
			p, err := b.New()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := p.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			f(t, b, p)
		})
	}
}

// pipe returns an OS pipe and its read end's descriptor.
func pipe(t *testing.T) (r, w *os.File, fd uintptr) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	rc, err := r.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(s uintptr) { fd = s })
	return r, w, fd
}

func look(t *testing.T, p Poller) []uint32 {
	t.Helper()
	keys, err := p.Poll(context.Background(), false, nil)
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	return keys
}

// waitFor polls, blocking, until key is reported.
func waitFor(t *testing.T, p Poller, key uint32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		keys, err := p.Poll(ctx, true, nil)
		if err != nil {
			t.Fatalf("Poll waiting for key %d: %v", key, err)
		}
		if slices.Contains(keys, key) {
			return
		}
	}
}

func TestConformanceReadiness(t *testing.T) {
	forEach(t, func(t *testing.T, b Backend, p Poller) {
		r, w, fd := pipe(t)
		const key = 1<<31 + 7 // keys are any uint32 but WakeKey
		if err := p.Register(fd, key); err != nil {
			t.Fatal(err)
		}
		if b.Exact && slices.Contains(look(t, p), key) {
			t.Fatal("an empty pipe reported ready")
		}
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, p, key)
		// One-shot: quiet until rearmed, though still readable.
		if b.Exact && slices.Contains(look(t, p), key) {
			t.Fatal("reported twice without a rearm")
		}
		if err := p.Rearm(fd, key); err != nil {
			t.Fatal(err)
		}
		waitFor(t, p, key)
		// Drained and rearmed: quiet.
		if _, err := r.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		if err := p.Rearm(fd, key); err != nil {
			t.Fatal(err)
		}
		if b.Exact && slices.Contains(look(t, p), key) {
			t.Fatal("a drained pipe reported ready")
		}
		// The writer's close is readiness too (end of file).
		w.Close()
		waitFor(t, p, key)
		if err := p.Unregister(fd, key); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(look(t, p), key) {
			t.Fatal("reported after Unregister")
		}
	})
}

func TestConformanceManyKeys(t *testing.T) {
	forEach(t, func(t *testing.T, b Backend, p Poller) {
		const n = 50
		ws := make([]*os.File, n)
		for i := range n {
			_, w, fd := pipe(t)
			ws[i] = w
			if err := p.Register(fd, uint32(i+1)); err != nil {
				t.Fatal(err)
			}
		}
		// Every third becomes ready; each is reported (Exact: only they).
		want := map[uint32]bool{}
		for i := 0; i < n; i += 3 {
			ws[i].Write([]byte("x"))
			want[uint32(i+1)] = true
		}
		got := map[uint32]bool{}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for len(got) < len(want) {
			keys, err := p.Poll(ctx, true, nil)
			if err != nil {
				t.Fatalf("Poll: %v (got %d of %d)", err, len(got), len(want))
			}
			for _, k := range keys {
				if k == WakeKey {
					continue
				}
				if want[k] {
					got[k] = true
				} else if b.Exact {
					t.Fatalf("key %d reported, its pipe is empty", k)
				}
			}
		}
	})
}

func TestConformanceWake(t *testing.T) {
	forEach(t, func(t *testing.T, b Backend, p Poller) {
		// A Wake before Poll is reported by it.
		p.Wake()
		if !slices.Contains(look(t, p), WakeKey) {
			t.Fatal("Wake before a non-blocking Poll not reported")
		}
		// A Wake during a blocking Poll ends it.
		polling := make(chan struct{})
		done := make(chan []uint32)
		go func() {
			close(polling)
			keys, err := p.Poll(context.Background(), true, nil)
			if err != nil {
				t.Errorf("Poll: %v", err)
			}
			done <- keys
		}()
		<-polling
		p.Wake()
		if keys := <-done; !slices.Contains(keys, WakeKey) {
			t.Fatalf("Poll returned %v without WakeKey", keys)
		}
	})
}

func TestConformanceCancel(t *testing.T) {
	forEach(t, func(t *testing.T, b Backend, p Poller) {
		_, _, fd := pipe(t)
		if err := p.Register(fd, 3); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			for {
				keys, err := p.Poll(ctx, true, nil)
				if err != nil {
					done <- err
					return
				}
				if b.Exact && slices.Contains(keys, 3) {
					done <- errors.New("an empty pipe reported ready")
					return
				}
			}
		}()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Poll after cancel: %v, want context.Canceled", err)
		}
	})
}
