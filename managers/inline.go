package managers

import (
	"context"
	"errors"
)

// Method calls run inline by the event loop (eventLoop, Linux only).
//
// Most method calls never wait (a dict's, a list's, a Queue.put on an
// unbounded queue, a Queue.get with an item there): the event loop runs
// those itself, on the goroutine that read the request, and writes the
// reply at once. A call that would wait must not hold the loop up: it goes
// to a goroutine of its own, which runs it again with the server's
// context. That is only right for objects whose methods wait before they
// change anything, which the inlineSafe marker declares.

// inlineContext is the context of a call the event loop runs: waitFor
// returns errWouldBlock instead of waiting.
type inlineContext struct{ context.Context }

// errWouldBlock is returned by a call that would wait under an
// inlineContext; it never reaches a client.
var errWouldBlock = errors.New("managers: the call would wait")

// inlineSafe is implemented by objects whose methods either never wait or
// wait (through waitFor) before they change anything, so that a call that
// returned errWouldBlock can be run again from the start. Condition.wait
// (which releases its lock first), Barrier.wait (which counts the caller
// first) and Go-registered objects are not: their calls always run on a
// goroutine of their own.
//
//lint:ignore U1000 used on Linux only (by the event loop)
type inlineSafe interface{ inlineSafe() }

func (*dictObj) inlineSafe()      {}
func (*iteratorObj) inlineSafe()  {}
func (*listObj) inlineSafe()      {}
func (*valueObj) inlineSafe()     {}
func (*arrayObj) inlineSafe()     {}
func (*namespaceObj) inlineSafe() {}
func (*queueObj) inlineSafe()     {}
func (*lockObj) inlineSafe()      {}
func (*semaphoreObj) inlineSafe() {}
func (*eventObj) inlineSafe()     {}
