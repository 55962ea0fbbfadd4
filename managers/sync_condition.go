package managers

import (
	"context"
	"fmt"
	"sync"
	"time"
)

var conditionExposed = []string{"acquire", "release", "wait", "notify", "notify_all"}

// conditionObj is threading.Condition(lock): its lock is a new RLock, or
// the Lock or RLock of this server whose proxy the client passed.
type conditionObj struct {
	lock    *lockObj
	mu      sync.Mutex
	waiters []chan struct{}
}

func newCondition(s *Server, args []any) (Object, error) {
	c := &conditionObj{}
	if args[0] == nil {
		c.lock = &lockObj{reentrant: true}
		return c, nil
	}
	l, ok := s.resolveProxy(args[0]).(*lockObj)
	if !ok {
		return nil, typeError("mpconn manager: a Condition's lock must be a Lock or RLock of this manager")
	}
	c.lock = l
	return c, nil
}

func (c *conditionObj) CallMethod(ctx context.Context, call *Call) (any, error) {
	switch call.Method {
	case "acquire", "release":
		return c.lock.CallMethod(ctx, call)
	case "wait":
		a, err := call.Bind([]string{"timeout"}, nil)
		if err != nil {
			return nil, err
		}
		dl, err := timeoutArg(a[0], "")
		if err != nil {
			return nil, err
		}
		if !c.lock.owned(call.Caller) {
			return nil, NewException("builtins", "RuntimeError", "cannot wait on un-acquired lock")
		}
		w := make(chan struct{})
		c.mu.Lock()
		c.waiters = append(c.waiters, w)
		c.mu.Unlock()
		state := c.lock.saveRelease(call.Caller)
		notified := false
		var tc <-chan time.Time
		if !dl.forever {
			t := time.NewTimer(time.Until(dl.at))
			defer t.Stop()
			tc = t.C
		}
		select {
		case <-w:
			notified = true
		case <-tc:
		case <-ctx.Done():
		}
		if !notified {
			c.mu.Lock()
			for i, x := range c.waiters {
				if x == w {
					c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
					break
				}
			}
			c.mu.Unlock()
		}
		if err := c.lock.restore(ctx, call.Caller, state); err != nil {
			return nil, err
		}
		return notified, nil
	case "notify", "notify_all":
		n := int64(1 << 62)
		if call.Method == "notify" {
			a, err := call.Bind([]string{"n"}, int64(1))
			if err != nil {
				return nil, err
			}
			var ok bool
			if n, ok = toInt(a[0]); !ok {
				return nil, typeError("n must be an int")
			}
		} else if err := call.noArgs(); err != nil {
			return nil, err
		}
		if !c.lock.owned(call.Caller) {
			return nil, NewException("builtins", "RuntimeError", "cannot notify on un-acquired lock")
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for n > 0 && len(c.waiters) > 0 {
			close(c.waiters[0])
			c.waiters = c.waiters[1:]
			n--
		}
		return nil, nil
	}
	return nil, NewException("builtins", "AttributeError", fmt.Sprintf("'Condition' object has no attribute %s", strRepr(call.Method)))
}

func (c *conditionObj) PyRepr() string {
	c.mu.Lock()
	n := len(c.waiters)
	c.mu.Unlock()
	return fmt.Sprintf("<Condition(%s, %d)>", c.lock.PyRepr(), n)
}
