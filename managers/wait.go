package managers

import (
	"context"
	"math"
	"sync"
	"time"
)

// notifier wakes every waiter at once: waiters take the current channel
// under the object's mutex, and broadcast closes it.
type notifier struct{ ch chan struct{} }

func (n *notifier) wait() <-chan struct{} {
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *notifier) broadcast() {
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}

// deadline is a wait's end: none (forever) or a time.
type deadline struct {
	forever bool
	at      time.Time
}

func forever() deadline { return deadline{forever: true} }

func after(seconds float64) deadline {
	if seconds > float64(math.MaxInt64/int64(time.Second)) {
		return forever()
	}
	return deadline{at: time.Now().Add(time.Duration(seconds * float64(time.Second)))}
}

// waitFor waits, with mu held, until ready() holds or dl passes; it
// returns whether ready() held. It unlocks mu while it sleeps.
func waitFor(ctx context.Context, mu *sync.Mutex, n *notifier, dl deadline, ready func() bool) (bool, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for !ready() {
		var tc <-chan time.Time
		var d time.Duration
		if !dl.forever {
			if d = time.Until(dl.at); d <= 0 {
				return false, nil
			}
		}
		if _, inline := ctx.(inlineContext); inline {
			// The event loop runs this call: it must not wait, and
			// nothing has changed yet (see inlineSafe).
			return false, errWouldBlock
		}
		if !dl.forever {
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			tc = timer.C
		}
		ch := n.wait()
		mu.Unlock()
		select {
		case <-ch:
		case <-tc:
		case <-ctx.Done():
			mu.Lock()
			return false, ctx.Err()
		}
		mu.Lock()
	}
	return true, nil
}

// timeoutArg reads a timeout argument: None means forever, a negative
// number is the ValueError msg.
func timeoutArg(v any, negMsg string) (deadline, error) {
	if v == nil {
		return forever(), nil
	}
	f, ok := toFloat(v)
	if !ok {
		return deadline{}, typeError("'%s' object cannot be interpreted as a number", typeName(v))
	}
	if f < 0 || math.IsNaN(f) {
		if negMsg == "" {
			return deadline{at: time.Now()}, nil
		}
		return deadline{}, valueError("%s", negMsg)
	}
	return after(f), nil
}
