//go:build unix

package bench

import (
	"io"

	"golang.org/x/sys/unix"
)

// blockFD is the descriptor of an experiment, not a baseline: the raw
// transport's frames (rawTransport over a blockFD) with blocking system
// calls on the descriptor, bypassing Go's network poller (a blocked read
// sleeps in the kernel, as CPython's does, instead of parking the goroutine
// and being woken by the poller). It shows what a blocking fast path could
// gain. bench measures it, as "rawblock", only with
// MPCONN_BENCH_EXPERIMENTAL=1.
type blockFD int

// openBlockFD makes descriptor fd blocking and returns it as a blockFD.
func openBlockFD(fd int) (blockFD, error) {
	if err := unix.SetNonblock(fd, false); err != nil {
		return -1, err
	}
	return blockFD(fd), nil
}

func (fd blockFD) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of p, as a blocking socket write does.
func (fd blockFD) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Write(int(fd), p[done:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

func (fd blockFD) Close() error { return unix.Close(int(fd)) }
