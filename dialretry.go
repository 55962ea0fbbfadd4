package mpconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/mpconn/mpconn/internal/platform"
)

// Backoff between DialRetry's attempts: it starts short, so that a child
// started just before its parent's listener is up connects quickly, and
// doubles up to a ceiling.
const (
	retryFirstDelay = 2 * time.Millisecond
	retryMaxDelay   = 250 * time.Millisecond
)

// DialRetry is [Dial] for a peer that may not be listening yet, such as a
// parent process that starts its child before (or while) it binds the
// address it hands over. A connection that is refused (ECONNREFUSED), a
// Unix socket path that does not exist yet (ENOENT), and a Unix listener
// whose queue is full (EAGAIN) are retried with a growing delay, from a few
// milliseconds up to 250 ms, until ctx is done. Any other error, including
// a failed authentication, ends the attempts at once.
//
// ctx bounds the whole: the attempts, the delays and the handshake. Give
// it a deadline: without one, DialRetry retries until ctx is cancelled.
// When ctx ends first, the error, a [*RetryError], wraps both ctx's error
// and the last attempt's error (the one before, if ctx cut the last one
// short while it was connecting), so errors.Is(err,
// context.DeadlineExceeded) and errors.Is(err, syscall.ECONNREFUSED) both
// hold.
//
// (The Python project ductworks retries a refused connection a fixed
// number of times, and a missing Unix socket forever; DialRetry uses the
// caller's deadline for both.)
func DialRetry(ctx context.Context, address string, opts *DialOptions) (*Conn, error) {
	if _, _, err := ParseAddress(address); err != nil {
		return nil, err
	}
	delay := retryFirstDelay
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var prev error // the last attempt's error, once retried
	for attempt := 1; ; attempt++ {
		c, err := Dial(ctx, address, opts)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, retryGiveUp(ctx, attempt, err, prev)
		}
		if !retryable(err) {
			return nil, err
		}
		prev = err
		if retryHook != nil {
			retryHook(attempt, err)
		}
		if timer == nil {
			timer = time.NewTimer(delay)
		} else {
			timer.Reset(delay)
		}
		select {
		case <-timer.C:
		case <-ctx.Done():
			return nil, retryGiveUp(ctx, attempt, err, prev)
		}
		delay = min(2*delay, retryMaxDelay)
	}
}

// retryGiveUp returns DialRetry's error once ctx has ended, after attempts
// connection attempts; err is the last attempt's error and prev the one
// before it. An attempt that ctx cut short while it was connecting says
// nothing of the peer (only "i/o timeout" or "operation was canceled"):
// then Last is the error of the attempt before, which tells why the peer
// was not reached (refused, no such socket), whatever the scheduler did
// between the attempts and the deadline.
func retryGiveUp(ctx context.Context, attempts int, err, prev error) *RetryError {
	last := err
	if prev != nil && cutShort(ctx, err) {
		last = prev
	}
	return &RetryError{Attempts: attempts, Err: ctx.Err(), Last: last}
}

// cutShort reports whether err is that of a connect interrupted by ctx
// before the peer answered: a dial error whose only cause is the end of
// ctx. (A handshake that ctx interrupted is not: the peer was there.)
func cutShort(ctx context.Context, err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" &&
		errors.Unwrap(op.Err) == nil && errors.Is(op.Err, ctx.Err())
}

// retryHook, when set by a test, sees every failed attempt that will be
// retried.
var retryHook func(attempt int, err error)

// retryable reports whether a failed connect means the listener is not
// up yet (or is momentarily full), so that trying again makes sense.
func retryable(err error) bool {
	return errors.Is(err, platform.ECONNREFUSED) ||
		errors.Is(err, syscall.ENOENT) ||
		errors.Is(err, platform.EAGAIN)
}

// RetryError reports that [DialRetry] gave up because its context ended
// while the peer was still not listening. It wraps both the context's
// error (Err) and the last attempt's error (Last).
type RetryError struct {
	Attempts int   // connection attempts made
	Err      error // the context's error
	Last     error // the last attempt's error (see DialRetry)
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("mpconn: gave up connecting after %d attempts: %v (last attempt: %v)", e.Attempts, e.Err, e.Last)
}

// Unwrap returns the context's error and the last attempt's error.
func (e *RetryError) Unwrap() []error { return []error{e.Err, e.Last} }
