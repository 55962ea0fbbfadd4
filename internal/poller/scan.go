package poller

import (
	"context"
	"sync"
	"time"
)

// scan is the portable poller: it watches no descriptor and has every
// Poll report every key, sleeping a little (up to 20 ms, doubling from
// 1 ms) between blocking rounds, so the caller looks at every object in
// turn. Correct anywhere, but its cost grows with the size of the set.
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
		p.delay = min(max(2*p.delay, time.Millisecond), 20*time.Millisecond)
		t := time.NewTimer(p.delay)
		defer t.Stop()
		select {
		case <-p.wakec:
			keys = append(keys, WakeKey)
		case <-t.C:
		case <-ctx.Done():
			return keys, ctx.Err()
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

func (p *scan) Wake() {
	select {
	case p.wakec <- struct{}{}:
	default:
	}
}

func (p *scan) Close() error { return nil }
