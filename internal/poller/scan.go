package poller

import (
	"context"
	"sync"
	"time"
)

// scan is the portable poller: it watches no descriptor and has every
// Poll report every key, sleeping a little (up to 20 ms, doubling from
// 1 ms) between blocking rounds, so the caller looks at every object in
// turn. A blocking Poll never returns empty-handed: with no key
// registered it sleeps on until Wake or its context. Correct anywhere,
// but its cost grows with the size of the set.
type scan struct {
	mu    sync.Mutex
	keys  map[uint32]bool
	wakec chan struct{}
	delay time.Duration
}

// NewScan returns the portable Poller.
func NewScan() (Poller, error) {
	return &scan{keys: make(map[uint32]bool), wakec: make(chan struct{}, 1)}, nil
}

func (p *scan) Register(fd uintptr, key uint32) error {
	p.mu.Lock()
	p.keys[key] = true
	p.mu.Unlock()
	return nil
}

func (p *scan) Rearm(fd uintptr, key uint32) error { return nil }

func (p *scan) Unregister(fd uintptr, key uint32) error {
	p.mu.Lock()
	delete(p.keys, key)
	p.mu.Unlock()
	return nil
}

func (p *scan) Poll(ctx context.Context, block bool, keys []uint32) ([]uint32, error) {
	if block {
		// Sleep, then report every key; with no key registered there is
		// nothing to report, so sleep on (a Register meanwhile is seen at
		// the next tick) until Wake or ctx.
		for woken := false; !woken; {
			p.delay = min(max(2*p.delay, time.Millisecond), 20*time.Millisecond)
			t := time.NewTimer(p.delay)
			select {
			case <-p.wakec:
				keys = append(keys, WakeKey)
				woken = true
			case <-t.C:
				woken = p.registered()
			case <-ctx.Done():
				t.Stop()
				return keys, ctx.Err()
			}
			t.Stop()
		}
	} else {
		p.delay = 0
		select {
		case <-p.wakec:
			keys = append(keys, WakeKey)
		default:
		}
	}
	p.mu.Lock()
	for k := range p.keys {
		keys = append(keys, k)
	}
	p.mu.Unlock()
	return keys, nil
}

// registered reports whether any key is registered.
func (p *scan) registered() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.keys) > 0
}

func (p *scan) Wake() {
	select {
	case p.wakec <- struct{}{}:
	default:
	}
}

func (p *scan) Close() error { return nil }
