package msgio

import (
	"context"
	"errors"
	"os"
	"time"
)

// aLongTimeAgo is a deadline in the past, which interrupts blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// Watch arranges for ctx's end to interrupt blocking I/O through
// setDeadline (a net.Conn's SetReadDeadline or SetWriteDeadline). The
// returned function must be called when the I/O is over; it clears the
// deadline if ctx's end set it. ctx must be able to end (ctx.Done() is not
// nil).
func Watch(ctx context.Context, setDeadline func(time.Time) error) func() {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		setDeadline(aLongTimeAgo)
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
			setDeadline(time.Time{})
		}
	}
}

// CtxErr returns ctx's error if ctx is done and err is a deadline error
// caused by it; otherwise err.
func CtxErr(ctx context.Context, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if e := ctx.Err(); e != nil {
			return e
		}
	}
	return err
}
