package shm

import (
	"context"
	"os"
)

// Zero-copy messages between Go processes. A sender takes a [Buffer]
// from a [Pool], fills it, and sends it with [Send]: one byte on the Conn
// that carries the buffer's memfd (SCM_RIGHTS), in order with the Conn's
// other messages. The receiver's [Receiver.Recv] maps the memfd and
// returns a [Message] whose bytes are the sender's pages, read in place.
// When the receiver closes the Message, the buffer goes back to the
// sender's pool, where the next Get finds it with its pages already
// faulted in, on both sides: a steady stream of large messages costs no
// copy, no page fault and no mmap per message.
//
// The memfd is sealed (F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SEAL) before it
// is first sent, and the receiver refuses one that is not: no one can
// change its size, so a mapping of it cannot fault. The receiver takes
// the size from fstat; the message length, which the sender writes into
// the block's header, is checked against it.
//
// Memfds exist on Linux only; elsewhere the calls return errors wrapping
// [ErrUnsupported].

// PoolOptions configures a [Pool]. Nil means the defaults.
type PoolOptions struct {
	// MaxBlocks bounds the memfds the pool holds (default 4). When all
	// are with the receiver, Get waits for it to release one.
	MaxBlocks int
}

// ReceiverOptions configures a [Receiver]. Nil means the defaults.
type ReceiverOptions struct {
	// MaxCached bounds the mappings a Receiver keeps of buffers it has
	// seen, so that buffers coming back from the sender's pool are not
	// mapped again (default 8). Mappings of Messages the application
	// still holds are not counted: they go when the Message is closed.
	MaxCached int
}

// FileConn is what [Send] and [Receiver] need of a connection: passing
// open files over a Unix socket, in order with its messages. An
// *mpconn.Conn on a Unix socket is one.
type FileConn interface {
	SendFile(ctx context.Context, f *os.File) error
	RecvFile(ctx context.Context) (*os.File, error)
}
