//go:build unix && (!linux || mpconnscan)

package mpconn

import (
	"context"
	"sync"
	"time"
)

// scanPoller is the portable poller (on Linux too, with the build tag
// mpconnscan, to test it): it watches no descriptor and has
// every Wait round look at every object, sleeping a little (up to 20 ms)
// between rounds. Correct, but its cost grows with the size of the set.
type scanPoller struct {
	mu    sync.Mutex
	ids   map[uint32]bool
	wakec chan struct{}
	delay time.Duration
}

func newPoller() (poller, error) {
	return &scanPoller{ids: make(map[uint32]bool), wakec: make(chan struct{}, 1)}, nil
}

func (p *scanPoller) register(fd int, id uint32) error {
	p.mu.Lock()
	p.ids[id] = true
	p.mu.Unlock()
	return nil
}

func (p *scanPoller) rearm(fd int, id uint32) error { return nil }

func (p *scanPoller) unregister(fd int, id uint32) error {
	p.mu.Lock()
	delete(p.ids, id)
	p.mu.Unlock()
	return nil
}

func (p *scanPoller) poll(ctx context.Context, block bool, ids []uint32) ([]uint32, error) {
	if block {
		p.delay = min(max(2*p.delay, time.Millisecond), 20*time.Millisecond)
		t := time.NewTimer(p.delay)
		defer t.Stop()
		select {
		case <-p.wakec:
			ids = append(ids, wakeID)
		case <-t.C:
		case <-ctx.Done():
			return ids, ctx.Err()
		}
	} else {
		p.delay = 0
		select {
		case <-p.wakec:
			ids = append(ids, wakeID)
		default:
		}
	}
	p.mu.Lock()
	for id := range p.ids {
		ids = append(ids, id)
	}
	p.mu.Unlock()
	return ids, nil
}

func (p *scanPoller) wake() {
	select {
	case p.wakec <- struct{}{}:
	default:
	}
}

func (p *scanPoller) close() error { return nil }
