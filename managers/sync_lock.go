package managers

import (
	"context"
	"fmt"
	"sync"
)

var acquirerExposed = []string{"acquire", "release"}

// lockObj is threading.Lock (owner-less) or threading.RLock (owned by the
// calling connection, CPython's serving thread).
type lockObj struct {
	reentrant bool
	mu        sync.Mutex
	changed   notifier
	owner     string
	count     int
}

func (l *lockObj) acquire(ctx context.Context, caller string, dl deadline) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reentrant && l.count > 0 && l.owner == caller {
		l.count++
		return true, nil
	}
	ok, err := waitFor(ctx, &l.mu, &l.changed, dl, func() bool { return l.count == 0 })
	if !ok || err != nil {
		return false, err
	}
	l.count, l.owner = 1, caller
	return true, nil
}

func (l *lockObj) release(caller string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == 0 || (l.reentrant && l.owner != caller) {
		if l.reentrant {
			return NewException("builtins", "RuntimeError", "cannot release un-acquired lock")
		}
		return NewException("builtins", "RuntimeError", "release unlocked lock")
	}
	l.count--
	if l.count == 0 {
		l.owner = ""
		l.changed.broadcast()
	}
	return nil
}

func (l *lockObj) owned(caller string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reentrant {
		return l.count > 0 && l.owner == caller
	}
	return l.count > 0
}

func (l *lockObj) saveRelease(caller string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.count
	l.count, l.owner = 0, ""
	l.changed.broadcast()
	return n
}

func (l *lockObj) restore(ctx context.Context, caller string, state int) error {
	if _, err := l.acquire(ctx, caller, forever()); err != nil {
		return err
	}
	l.mu.Lock()
	l.count = state
	l.mu.Unlock()
	return nil
}

func (l *lockObj) CallMethod(ctx context.Context, c *Call) (any, error) {
	switch c.Method {
	case "acquire":
		a, err := c.Bind([]string{"blocking", "timeout"}, true, int64(-1))
		if err != nil {
			return nil, err
		}
		t, ok := toFloat(a[1])
		if !ok {
			return nil, typeError("'%s' object cannot be interpreted as an integer", typeName(a[1]))
		}
		dl := forever()
		switch {
		case !truth(a[0]):
			if t != -1 {
				return nil, valueError("can't specify a timeout for a non-blocking call")
			}
			dl = after(0)
		case t == -1:
		case t < 0:
			return nil, valueError("timeout value must be a non-negative number")
		default:
			dl = after(t)
		}
		return l.acquire(ctx, c.Caller, dl)
	case "release":
		if err := c.noArgs(); err != nil {
			return nil, err
		}
		return nil, l.release(c.Caller)
	}
	return nil, NewException("builtins", "AttributeError", fmt.Sprintf("lock has no attribute %s", strRepr(c.Method)))
}

func (l *lockObj) PyRepr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	state := "unlocked"
	if l.count > 0 {
		state = "locked"
	}
	if l.reentrant {
		return fmt.Sprintf("<%s _thread.RLock object count=%d>", state, l.count)
	}
	return fmt.Sprintf("<%s _thread.lock object>", state)
}

// semaphoreObj is threading.Semaphore or threading.BoundedSemaphore.
type semaphoreObj struct {
	bounded bool
	initial int64
	mu      sync.Mutex
	changed notifier
	value   int64
}

func newSemaphore(bounded bool, args []any) (Object, error) {
	v, ok := toInt(args[0])
	if !ok {
		return nil, typeError("'<' not supported between instances of '%s' and 'int'", typeName(args[0]))
	}
	if v < 0 {
		return nil, valueError("semaphore initial value must be >= 0")
	}
	return &semaphoreObj{bounded: bounded, initial: v, value: v}, nil
}

func (s *semaphoreObj) CallMethod(ctx context.Context, c *Call) (any, error) {
	switch c.Method {
	case "acquire":
		a, err := c.Bind([]string{"blocking", "timeout"}, true, nil)
		if err != nil {
			return nil, err
		}
		if !truth(a[0]) && a[1] != nil {
			return nil, valueError("can't specify timeout for non-blocking acquire")
		}
		dl := after(0)
		if truth(a[0]) {
			if dl, err = timeoutArg(a[1], ""); err != nil {
				return nil, err
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		ok, err := waitFor(ctx, &s.mu, &s.changed, dl, func() bool { return s.value > 0 })
		if ok {
			s.value--
		}
		return ok, err
	case "release":
		a, err := c.Bind([]string{"n"}, int64(1))
		if err != nil {
			return nil, err
		}
		n, ok := toInt(a[0])
		if !ok || n < 1 {
			return nil, valueError("n must be one or more")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.bounded && s.value+n > s.initial {
			return nil, valueError("Semaphore released too many times")
		}
		s.value += n
		s.changed.broadcast()
		return nil, nil
	}
	return nil, NewException("builtins", "AttributeError", fmt.Sprintf("semaphore has no attribute %s", strRepr(c.Method)))
}

func (s *semaphoreObj) PyRepr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := "Semaphore"
	if s.bounded {
		name = "BoundedSemaphore"
	}
	return fmt.Sprintf("<threading.%s object: value=%d>", name, s.value)
}

// eventObj is threading.Event.
type eventObj struct {
	mu      sync.Mutex
	changed notifier
	flag    bool
}

var eventExposed = []string{"is_set", "set", "clear", "wait"}

func (e *eventObj) CallMethod(ctx context.Context, c *Call) (any, error) {
	switch c.Method {
	case "is_set", "set", "clear":
		if err := c.noArgs(); err != nil {
			return nil, err
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		switch c.Method {
		case "is_set":
			return e.flag, nil
		case "set":
			e.flag = true
			e.changed.broadcast()
		default:
			e.flag = false
		}
		return nil, nil
	case "wait":
		a, err := c.Bind([]string{"timeout"}, nil)
		if err != nil {
			return nil, err
		}
		dl, err := timeoutArg(a[0], "")
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		return waitFor(ctx, &e.mu, &e.changed, dl, func() bool { return e.flag })
	}
	return nil, NewException("builtins", "AttributeError", fmt.Sprintf("'Event' object has no attribute %s", strRepr(c.Method)))
}

func (e *eventObj) PyRepr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.flag {
		return "<threading.Event: set>"
	}
	return "<threading.Event: unset>"
}
