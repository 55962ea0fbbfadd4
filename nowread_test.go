package mpconn

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// readyStream is a transport without a descriptor that tells whether a
// read would wait (as a named pipe does on Windows): its bytes are what
// the test fed it; a Read with none would wait, and fails the test
// instead, as does any read deadline (the short-deadline fallback).
type readyStream struct {
	t         *testing.T
	buf       bytes.Buffer
	eof       bool
	readyErr  error
	deadlines int
}

func (s *readyStream) Readable() (bool, error) {
	return s.buf.Len() > 0 || s.eof || s.readyErr != nil, s.readyErr
}

func (s *readyStream) Read(p []byte) (int, error) {
	if s.buf.Len() == 0 {
		if s.eof {
			return 0, io.EOF
		}
		s.t.Error("Read with nothing to read: it would wait")
		return 0, errors.New("would wait")
	}
	return s.buf.Read(p)
}

func (s *readyStream) Write(p []byte) (int, error) { return len(p), nil }
func (s *readyStream) Close() error                { return nil }
func (s *readyStream) SetReadDeadline(d time.Time) error {
	if !d.IsZero() {
		s.deadlines++
	}
	return nil
}
func (s *readyStream) SetWriteDeadline(time.Time) error { return nil }

// On a transport that can tell whether a read would wait, TryRecvBytes
// and Poll with no timeout read only when it would not: no read that
// waits, no read deadline. A message that has partly arrived is kept
// until the rest comes; an error from the check is the receive's.
func TestTryRecvBytesReadyChecker(t *testing.T) {
	s := &readyStream{t: t}
	c := newConn(s, "test", true, true, nil)
	t.Cleanup(func() { c.Close() })
	if _, err := c.TryRecvBytes(); err != ErrWouldBlock {
		t.Fatalf("nothing there: %v", err)
	}
	if ok, err := c.Poll(testCtx(t), 0); ok || err != nil {
		t.Fatalf("Poll with nothing there: %v, %v", ok, err)
	}
	frame := append([]byte{0, 0, 0, 5}, "hello"...)
	s.buf.Write(frame[:6]) // the header and 2 bytes
	if _, err := c.TryRecvBytes(); err != ErrWouldBlock {
		t.Fatalf("part of a message: %v", err)
	}
	s.buf.Write(frame[6:])
	s.buf.Write([]byte{0, 0, 0, 0}) // and an empty message behind it
	if got, err := c.TryRecvBytes(); err != nil || string(got) != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, err := c.TryRecvBytes(); err != nil || len(got) != 0 {
		t.Fatalf("empty message: %q, %v", got, err)
	}
	if _, err := c.TryRecvBytes(); err != ErrWouldBlock {
		t.Fatalf("drained: %v", err)
	}
	if s.deadlines != 0 {
		t.Fatalf("%d read deadlines set", s.deadlines)
	}
	boom := errors.New("boom")
	s.readyErr = boom
	if _, err := c.TryRecvBytes(); !errors.Is(err, boom) {
		t.Fatalf("a failed check: %v", err)
	}
}

// At the end of the stream TryRecvBytes returns io.EOF.
func TestTryRecvBytesReadyCheckerEOF(t *testing.T) {
	s := &readyStream{t: t, eof: true}
	c := newConn(s, "test", true, true, nil)
	t.Cleanup(func() { c.Close() })
	if _, err := c.TryRecvBytes(); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
}
