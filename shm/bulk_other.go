//go:build !linux

package shm

import "context"

// Pool hands out shared buffers to send over one Conn. Memfds are
// Linux's: here every call returns an error wrapping [ErrUnsupported].
type Pool struct{}

// NewPool returns a Pool.
func NewPool(opts *PoolOptions) *Pool { return &Pool{} }

// Get returns an error wrapping [ErrUnsupported].
func (p *Pool) Get(ctx context.Context, size int) (*Buffer, error) { return nil, ErrUnsupported }

// Close does nothing.
func (p *Pool) Close() error { return nil }

// Buffer is a shared buffer from a [Pool].
type Buffer struct{}

// Bytes returns nil.
func (b *Buffer) Bytes() []byte { return nil }

// Len returns 0.
func (b *Buffer) Len() int { return 0 }

// Release does nothing.
func (b *Buffer) Release() {}

// Send returns an error wrapping [ErrUnsupported].
func Send(ctx context.Context, c FileConn, b *Buffer) error { return ErrUnsupported }

// Receiver receives shared buffers.
type Receiver struct{}

// NewReceiver returns a Receiver.
func NewReceiver(c FileConn, opts *ReceiverOptions) *Receiver { return &Receiver{} }

// Recv returns an error wrapping [ErrUnsupported].
func (r *Receiver) Recv(ctx context.Context) (*Message, error) { return nil, ErrUnsupported }

// Mapped returns 0.
func (r *Receiver) Mapped() int { return 0 }

// Close does nothing.
func (r *Receiver) Close() error { return nil }

// Message is a received shared buffer.
type Message struct{}

// Bytes returns nil.
func (m *Message) Bytes() []byte { return nil }

// Len returns 0.
func (m *Message) Len() int { return 0 }

// Close does nothing.
func (m *Message) Close() error { return nil }
