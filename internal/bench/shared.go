package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/shm"
)

// bulk_64MiB's shared-memory rows.
//
// "shared" (mpconn-shared) is Go to Go over package shm: the driver takes
// a buffer from a shm.Pool, copies the prepared payload (a 64 MiB slice,
// as the socket rows send) into it and sends it with shm.Send; the peer
// receives it with a shm.Receiver, reads one byte of every page in place
// and closes the Message, which hands the buffer back to the pool. The
// end of the stream is an ordinary empty message, acknowledged as in the
// other cases.
//
// "shared-inplace" (mpconn-shared-inplace) is the same path with a
// producer that makes each payload in the block instead of copying it
// from memory: it writes the 64 MiB in 1 MiB pieces (copy uses streaming
// stores from 1 MiB on) from one piece it keeps in cache, stamped with the
// message's number. Copying a prepared payload reads 64 MiB from memory
// and writes 64 MiB; making it in place only writes: on the 2-core VM this
// was written on, that is about twice as fast.
//
// "shared-py" is Go to CPython: the driver creates a named block, sends it
// once (Python's recv() attaches it as a SharedMemory), then for each
// payload copies it into the block and sends an 8-byte message; the
// Python peer reads one byte of every page in place and answers "ack",
// after which the block is written again.

// benchHugeSize is bulk_64MiB's payload.
const benchHugeSize = 64 << 20

// benchPoolWarm is how many payloads the shared driver sends before its
// warm-up: more than the pool's default bound of blocks.
const benchPoolWarm = 6

// benchPageStride is how far apart the bytes the peers read are.
const benchPageStride = 4096

// benchPiece is the size of the pieces the in-place producer writes.
const benchPiece = 1 << 20

func benchShared(ctx context.Context, stdout io.Writer, role, impl string, dur, warm time.Duration) error {
	c, err := mpconn.FDConn(3, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if role == "peer" {
		if impl != "shared" && impl != "shared-inplace" {
			return fmt.Errorf("implementation %q has no Go peer", impl)
		}
		err := sharedPeer(ctx, c)
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	msg := make([]byte, benchHugeSize)
	for i := range msg {
		msg[i] = byte(i)
	}
	ack := make([]byte, 16)
	var step func(int) error
	var finish func() error
	switch impl {
	case "shared", "shared-inplace":
		pool := shm.NewPool(nil)
		defer pool.Close()
		fill := func(p []byte) { copy(p, msg) }
		if impl == "shared-inplace" {
			piece := make([]byte, benchPiece)
			copy(piece, msg)
			var seq uint64
			fill = func(p []byte) {
				seq++
				binary.LittleEndian.PutUint64(piece, seq)
				for off := 0; off < len(p); off += len(piece) {
					copy(p[off:], piece)
				}
			}
		}
		step = func(n int) error {
			for range n {
				buf, err := pool.Get(ctx, len(msg))
				if err != nil {
					return err
				}
				fill(buf.Bytes())
				if err := shm.Send(ctx, c, buf); err != nil {
					buf.Release()
					return err
				}
			}
			return nil
		}
		finish = func() error {
			if err := c.SendBytes(ctx, nil); err != nil {
				return err
			}
			_, err := c.RecvBytesInto(ctx, ack, 0)
			return err
		}
	case "shared-py":
		blk, err := shm.Create("", benchHugeSize)
		if err != nil {
			return err
		}
		defer blk.Close()
		defer shm.Unlink(blk.Name())
		if err := c.Send(ctx, blk); err != nil {
			return err
		}
		// Python attached it: the name is not needed any more.
		if _, err := c.RecvBytesInto(ctx, ack, 0); err != nil {
			return err
		}
		shm.Unlink(blk.Name())
		note := make([]byte, 8)
		step = func(n int) error {
			for range n {
				copy(blk.Bytes(), msg)
				if err := c.SendBytes(ctx, note); err != nil {
					return err
				}
				if _, err := c.RecvBytesInto(ctx, ack, 0); err != nil {
					return err
				}
			}
			return nil
		}
	default:
		return fmt.Errorf("unknown implementation %q", impl)
	}
	if impl != "shared-py" {
		// Let the pool reach its steady state (a new block is made while
		// the receiver still holds the others) before the warm-up.
		if err := step(benchPoolWarm); err != nil {
			return err
		}
	}
	if _, _, err := timeBox(warm, 1, step, finish); err != nil {
		return err
	}
	n, el, err := timeBox(dur, 1, step, finish)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "result %d %d\n", n, el.Nanoseconds())
	return nil
}

// sharedPeer receives buffers until the driver closes the connection,
// acknowledging each empty ordinary message.
func sharedPeer(ctx context.Context, c *mpconn.Conn) error {
	r := shm.NewReceiver(c, nil)
	defer r.Close()
	small := make([]byte, 16)
	var sum byte
	for {
		m, err := r.Recv(ctx)
		if errors.Is(err, mpconn.ErrNoFile) {
			n, err := c.RecvBytesInto(ctx, small, 0)
			if err != nil {
				return err
			}
			if n == 0 {
				if err := c.SendBytes(ctx, benchAck); err != nil {
					return err
				}
			}
			continue
		}
		if err != nil {
			return err
		}
		p := m.Bytes()
		for i := 0; i < len(p); i += benchPageStride {
			sum += p[i]
		}
		m.Close()
		runtime.KeepAlive(sum) // the reads are the point
	}
}
