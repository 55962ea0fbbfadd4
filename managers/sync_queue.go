package managers

import (
	"context"
	"fmt"
	"sync"
)

var queueExposed = []string{"empty", "full", "get", "get_nowait", "join", "put", "put_nowait", "qsize", "shutdown", "task_done"}

// queueObj is queue.Queue(maxsize=0), for the Queue and JoinableQueue typeids.
type queueObj struct {
	limit      int
	mu         sync.Mutex
	changed    notifier
	items      []any
	head       int
	maxsize    int
	unfinished int
	isShutdown bool
}

func newQueue(s *Server, args []any) (Object, error) {
	maxsize, ok := toInt(args[0])
	if !ok {
		return nil, typeError("'<' not supported between instances of '%s' and 'int'", typeName(args[0]))
	}
	return &queueObj{limit: s.opts.MaxItems, maxsize: int(maxsize)}, nil
}

func (q *queueObj) n() int { return len(q.items) - q.head }

func (q *queueObj) fullLocked() bool { return q.maxsize > 0 && q.n() >= q.maxsize }

var (
	excEmpty    = NewException("queue", "Empty") // _queue.Empty from 3.7 on, which loads by either name
	excFull     = NewException("queue", "Full")
	excShutDown = NewException("queue", "ShutDown")
)

func (q *queueObj) CallMethod(ctx context.Context, c *Call) (any, error) {
	switch c.Method {
	case "put", "put_nowait":
		var a []any
		var err error
		if c.Method == "put" {
			a, err = c.Bind([]string{"item", "block", "timeout"}, true, nil)
		} else {
			a, err = c.Bind([]string{"item"})
			a = append(a, false, nil)
		}
		if err != nil {
			return nil, err
		}
		return nil, q.put(ctx, a[0], truth(a[1]), a[2])
	case "get", "get_nowait":
		var a []any
		var err error
		if c.Method == "get" {
			a, err = c.Bind([]string{"block", "timeout"}, true, nil)
		} else {
			_, err = c.Bind(nil)
			a = []any{false, nil}
		}
		if err != nil {
			return nil, err
		}
		return q.get(ctx, truth(a[0]), a[1])
	case "qsize", "empty", "full":
		if err := c.noArgs(); err != nil {
			return nil, err
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		switch c.Method {
		case "qsize":
			return q.n(), nil
		case "empty":
			return q.n() == 0, nil
		}
		return q.fullLocked(), nil
	case "task_done":
		if err := c.noArgs(); err != nil {
			return nil, err
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.unfinished <= 0 {
			return nil, valueError("task_done() called too many times")
		}
		q.unfinished--
		if q.unfinished == 0 {
			q.changed.broadcast()
		}
		return nil, nil
	case "join":
		if err := c.noArgs(); err != nil {
			return nil, err
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		_, err := waitFor(ctx, &q.mu, &q.changed, forever(), func() bool { return q.unfinished == 0 })
		return nil, err
	case "shutdown":
		a, err := c.Bind([]string{"immediate"}, false)
		if err != nil {
			return nil, err
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		q.isShutdown = true
		if truth(a[0]) {
			for q.n() > 0 {
				q.pop()
				if q.unfinished > 0 {
					q.unfinished--
				}
			}
		}
		q.changed.broadcast()
		return nil, nil
	}
	return nil, NewException("builtins", "AttributeError", fmt.Sprintf("'Queue' object has no attribute %s", strRepr(c.Method)))
}

func (q *queueObj) pop() any {
	v := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v
}

func (q *queueObj) put(ctx context.Context, item any, block bool, timeout any) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.isShutdown {
		return excShutDown
	}
	if q.fullLocked() {
		if !block {
			return excFull
		}
		dl, err := timeoutArg(timeout, "'timeout' must be a non-negative number")
		if err != nil {
			return err
		}
		ok, err := waitFor(ctx, &q.mu, &q.changed, dl, func() bool { return !q.fullLocked() || q.isShutdown })
		if err != nil {
			return err
		}
		if q.isShutdown {
			return excShutDown
		}
		if !ok {
			return excFull
		}
	}
	if q.n() >= q.limit {
		return NewException("builtins", "MemoryError", fmt.Sprintf("mpconn manager: limit of %d items per object reached", q.limit))
	}
	q.items = append(q.items, item)
	q.unfinished++
	q.changed.broadcast()
	return nil
}

func (q *queueObj) get(ctx context.Context, block bool, timeout any) (any, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.isShutdown && q.n() == 0 {
		return nil, excShutDown
	}
	if q.n() == 0 {
		if !block {
			return nil, excEmpty
		}
		dl, err := timeoutArg(timeout, "'timeout' must be a non-negative number")
		if err != nil {
			return nil, err
		}
		ok, err := waitFor(ctx, &q.mu, &q.changed, dl, func() bool { return q.n() > 0 || q.isShutdown })
		if err != nil {
			return nil, err
		}
		if q.n() == 0 && q.isShutdown {
			return nil, excShutDown
		}
		if !ok {
			return nil, excEmpty
		}
	}
	v := q.pop()
	q.changed.broadcast()
	return v, nil
}

func (q *queueObj) PyRepr() string { return "<queue.Queue object>" }
