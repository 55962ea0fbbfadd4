package managers

import (
	"context"
	"fmt"
	"sync"
	"time"
)

var barrierExposed = []string{"__getattribute__", "wait", "abort", "reset"}

// barrierObj is threading.Barrier(parties, action=None, timeout=None).
type barrierObj struct {
	parties int64
	timeout any

	mu     sync.Mutex
	gen    *barrierGen
	count  int64
	broken bool
}

// barrierGen is one round of a barrier: done closes when it ends, broken
// tells how.
type barrierGen struct {
	done   chan struct{}
	broken bool
}

var excBrokenBarrier = NewException("threading", "BrokenBarrierError")

func newBarrier(args []any) (Object, error) {
	p, ok := toInt(args[0])
	if !ok {
		return nil, typeError("'<' not supported between instances of '%s' and 'int'", typeName(args[0]))
	}
	if p < 1 {
		return nil, valueError("parties must be >= 1")
	}
	if args[1] != nil {
		return nil, NewException("builtins", "NotImplementedError", "mpconn manager: a Barrier action would run Python code, which a Go server cannot do")
	}
	if _, err := timeoutArg(args[2], ""); err != nil {
		return nil, err
	}
	return &barrierObj{parties: p, timeout: args[2], gen: &barrierGen{done: make(chan struct{})}}, nil
}

// endGen ends the current round and starts the next; b.mu is held.
func (b *barrierObj) endGen(broken bool) {
	b.gen.broken = broken
	close(b.gen.done)
	b.gen = &barrierGen{done: make(chan struct{})}
	b.count = 0
}

func (b *barrierObj) CallMethod(ctx context.Context, c *Call) (any, error) {
	switch c.Method {
	case "wait":
		a, err := c.Bind([]string{"timeout"}, nil)
		if err != nil {
			return nil, err
		}
		t := a[0]
		if t == nil {
			t = b.timeout
		}
		dl, err := timeoutArg(t, "")
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		if b.broken {
			b.mu.Unlock()
			return nil, excBrokenBarrier
		}
		idx := b.count
		b.count++
		g := b.gen
		if b.count == b.parties {
			b.endGen(false)
			b.mu.Unlock()
			return idx, nil
		}
		b.mu.Unlock()
		var tc <-chan time.Time
		if !dl.forever {
			tm := time.NewTimer(time.Until(dl.at))
			defer tm.Stop()
			tc = tm.C
		}
		select {
		case <-g.done:
			if g.broken {
				return nil, excBrokenBarrier
			}
			return idx, nil
		case <-tc:
		case <-ctx.Done():
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.gen == g {
			b.broken = true
			b.endGen(true)
		} else if !g.broken {
			return idx, nil
		}
		return nil, excBrokenBarrier
	case "abort":
		if err := c.noArgs(); err != nil {
			return nil, err
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		b.broken = true
		b.endGen(true)
		return nil, nil
	case "reset":
		if err := c.noArgs(); err != nil {
			return nil, err
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.count > 0 {
			b.endGen(true)
		}
		b.broken = false
		return nil, nil
	case "__getattribute__":
		a, err := c.Bind([]string{"name"})
		if err != nil {
			return nil, err
		}
		name, _ := pyString(a[0])
		b.mu.Lock()
		defer b.mu.Unlock()
		switch name {
		case "parties":
			return b.parties, nil
		case "n_waiting":
			return b.count, nil
		case "broken":
			return b.broken, nil
		}
		return nil, NewException("builtins", "AttributeError", fmt.Sprintf("'Barrier' object has no attribute %s", strRepr(name)))
	}
	return nil, NewException("builtins", "AttributeError", fmt.Sprintf("'Barrier' object has no attribute %s", strRepr(c.Method)))
}

func (b *barrierObj) PyRepr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken {
		return "<threading.Barrier at broken>"
	}
	return fmt.Sprintf("<threading.Barrier: waiters=%d/%d>", b.count, b.parties)
}
