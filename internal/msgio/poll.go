package msgio

import (
	"context"
	"errors"
	"net"
	"time"
)

// errBusy is LockPoll's answer when a Poll that must not wait finds the
// read lock held: another goroutine is receiving.
var errBusy = errors.New("mpconn: read lock held")

func noCancel() {}

// Lock takes the capacity-1 channel lock l, giving up when ctx is done.
func Lock(ctx context.Context, l chan struct{}) error {
	select {
	case l <- struct{}{}:
		return nil
	default:
	}
	done := ctx.Done()
	if done == nil {
		l <- struct{}{}
		return nil
	}
	select {
	case l <- struct{}{}:
		return nil
	case <-done:
		return ctx.Err()
	}
}

// LockPoll takes the read lock l for a Poll that waits up to timeout for
// a message: zero does not wait, a negative timeout waits until ctx ends.
// It returns the context to wait with and the function that releases it,
// to call once the Poll is over (whether or not the lock was taken). A
// failure goes to PollResult.
func LockPoll(ctx context.Context, l chan struct{}, timeout time.Duration) (context.Context, context.CancelFunc, error) {
	if timeout == 0 {
		select {
		case l <- struct{}{}:
			return ctx, noCancel, nil
		default:
			return ctx, noCancel, errBusy
		}
	}
	cancel := context.CancelFunc(noCancel)
	wctx := ctx
	if timeout > 0 {
		wctx, cancel = context.WithTimeout(ctx, timeout)
	}
	return wctx, cancel, Lock(wctx, l)
}

// PollResult maps a Poll failure: a read lock held by another receive or
// the end of Poll's own timeout is a false result, the caller's
// cancellation or a closed connection an error, and anything else a true
// result, since a receive reports it at once.
func PollResult(ctx context.Context, err error) (bool, error) {
	if errors.Is(err, errBusy) {
		return false, nil
	}
	if errors.Is(err, net.ErrClosed) {
		return false, err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		if ctx.Err() != nil {
			return false, err
		}
		return false, nil
	}
	return true, nil
}
