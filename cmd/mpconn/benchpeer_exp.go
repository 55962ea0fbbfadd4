package main

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/mpconn/mpconn"
	"golang.org/x/sys/unix"
)

// blockTransport is an experiment, not a baseline: the raw frames with
// blocking system calls on the descriptor, bypassing Go's network poller
// (a blocked read sleeps in the kernel, as CPython's does, instead of
// parking the goroutine and being woken by the poller). It shows what a
// blocking fast path could gain. bench measures it, as "rawblock", only
// with MPCONN_BENCH_EXPERIMENTAL=1.
type blockTransport struct {
	fd    int
	wbuf  []byte
	rbuf  []byte
	codec mpconn.Codec
}

func (t *blockTransport) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(t.fd, p)
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

func (t *blockTransport) writeAll(p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(t.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func (t *blockTransport) send(p []byte) error {
	if len(p) <= 64<<10 {
		t.wbuf = binary.BigEndian.AppendUint32(t.wbuf[:0], uint32(len(p)))
		t.wbuf = append(t.wbuf, p...)
		return t.writeAll(t.wbuf)
	}
	var h [4]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(p)))
	for _, b := range [][]byte{h[:], p} {
		if err := t.writeAll(b); err != nil {
			return err
		}
	}
	return nil
}

func (t *blockTransport) recvInto(buf []byte) (int, error) {
	var h [4]byte
	if _, err := io.ReadFull(t, h[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint32(h[:]))
	if n > len(buf) {
		return 0, fmt.Errorf("rawblock: %d-byte message for a %d-byte buffer", n, len(buf))
	}
	_, err := io.ReadFull(t, buf[:n])
	return n, err
}

func (t *blockTransport) sendObj(v *benchObject) error {
	p, err := t.codec.Marshal(v)
	if err != nil {
		return err
	}
	return t.send(p)
}

func (t *blockTransport) recvObj(v *benchObject) error {
	if t.rbuf == nil {
		t.rbuf = make([]byte, 4<<10)
	}
	n, err := t.recvInto(t.rbuf)
	if err != nil {
		return err
	}
	return t.codec.Unmarshal(t.rbuf[:n], v)
}

func (t *blockTransport) close() error { return unix.Close(t.fd) }
