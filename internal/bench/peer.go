package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/internal/platform"
)

// ProcessArg is the argument of mpconn's bench subcommand that makes the
// program a bench process. Run runs every measurement in two fresh
// processes, a driver that times the work and a peer that answers,
// connected by a socketpair on descriptor 3, whatever the implementation:
// for the Go implementations they are this program run again as
//
//	mpconn bench __process ROLE IMPL CASE DURATION WARMUP [ADDR]
//
// (a mode that usage does not show), which calls RunProcess. ROLE is
// driver or peer, IMPL mpconn, many (mpconn sending with SendBytesMany and
// SendMany), raw, shared and shared-py (bulk_64MiB through package shm),
// or the experiment rawblock; ADDR is the Unix socket path of
// connect_auth. The driver warms
// up for WARMUP, measures for DURATION and prints "result COUNT NANOS".
const ProcessArg = "__process"

// benchKey is the authentication key of connect_auth.
var benchKey = []byte("mpconn-bench-key")

// benchMsgSize and benchBulkSize are the payload sizes of the bytes and
// bulk cases.
const (
	benchMsgSize  = 64
	benchBulkSize = 1 << 20
)

// benchStreamBatch is how many messages a stream sends between looks at
// the clock.
const benchStreamBatch = 64

// benchAck is a stream receiver's answer to the end of a stream: an empty
// message in the bytes and bulk cases, benchEnd in stream_object.
var benchAck = []byte("ack")

// benchTransport is what the Go processes send and receive with: mpconn,
// or the raw baseline.
type benchTransport interface {
	send(p []byte) error
	recvInto(buf []byte) (int, error)
	sendObj(v *Object) error
	recvObj(v *Object) error
	close() error
}

// mpconnTransport is a Conn used as an application would: RecvBytesInto a
// reused buffer, SendBytes, Send and Recv with the default codec (pickle),
// and a context that is never cancelled.
type mpconnTransport struct {
	c   *mpconn.Conn
	ctx context.Context
}

func (t mpconnTransport) send(p []byte) error { return t.c.SendBytes(t.ctx, p) }
func (t mpconnTransport) recvInto(buf []byte) (int, error) {
	return t.c.RecvBytesInto(t.ctx, buf, 0)
}
func (t mpconnTransport) sendObj(v *Object) error { return t.c.Send(t.ctx, v) }
func (t mpconnTransport) recvObj(v *Object) error { return t.c.Recv(t.ctx, v) }
func (t mpconnTransport) close() error            { return t.c.Close() }

// manyTransport is mpconn sending a stream n messages at a time, with
// SendBytesMany and SendMany.
type manyTransport struct {
	mpconnTransport
	msgs [][]byte
	objs []any
}

func (t *manyTransport) sendMany(p []byte, n int) error {
	for len(t.msgs) < n {
		t.msgs = append(t.msgs, p)
	}
	_, err := t.c.SendBytesMany(t.ctx, t.msgs[:n]...)
	return err
}

func (t *manyTransport) sendObjMany(v *Object, n int) error {
	for len(t.objs) < n {
		t.objs = append(t.objs, v)
	}
	_, err := t.c.SendMany(t.ctx, t.objs[:n]...)
	return err
}

// rawTransport is the baseline: the same frames with plain socket calls
// and no framing library: one write per message (header and payload
// copied together, or a vectored write for a large payload), and two reads
// per message (io.ReadFull of the header, then of the payload).
type rawTransport struct {
	nc    io.ReadWriteCloser // a net.Conn, or a blockFD (rawblock)
	wbuf  []byte
	hdr   [4]byte
	rbuf  []byte // received objects
	codec mpconn.Codec
}

func (t *rawTransport) send(p []byte) error {
	if len(p) <= 64<<10 {
		t.wbuf = binary.BigEndian.AppendUint32(t.wbuf[:0], uint32(len(p)))
		t.wbuf = append(t.wbuf, p...)
		_, err := t.nc.Write(t.wbuf)
		return err
	}
	binary.BigEndian.PutUint32(t.hdr[:], uint32(len(p)))
	bufs := net.Buffers{t.hdr[:], p}
	_, err := bufs.WriteTo(t.nc)
	return err
}

func (t *rawTransport) recvInto(buf []byte) (int, error) {
	var h [4]byte
	if _, err := io.ReadFull(t.nc, h[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint32(h[:]))
	if n > len(buf) {
		return 0, fmt.Errorf("raw: %d-byte message for a %d-byte buffer", n, len(buf))
	}
	_, err := io.ReadFull(t.nc, buf[:n])
	return n, err
}

func (t *rawTransport) sendObj(v *Object) error {
	p, err := t.codec.Marshal(v)
	if err != nil {
		return err
	}
	return t.send(p)
}

func (t *rawTransport) recvObj(v *Object) error {
	if t.rbuf == nil {
		t.rbuf = make([]byte, 4<<10)
	}
	n, err := t.recvInto(t.rbuf)
	if err != nil {
		return err
	}
	return t.codec.Unmarshal(t.rbuf[:n], v)
}

func (t *rawTransport) close() error { return t.nc.Close() }

// Exit statuses of RunProcess, as the mpconn command's.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// RunProcess is the hidden driver and peer mode of a bench run (the
// arguments after ProcessArg: ROLE IMPL CASE DURATION WARMUP [ADDR]). It
// returns the process's exit status.
func RunProcess(ctx context.Context, stdout, stderr io.Writer, args []string) int {
	if len(args) < 5 {
		fmt.Fprintf(stderr, "mpconn bench %s: want ROLE IMPL CASE DURATION WARMUP [ADDR]\n", ProcessArg)
		return exitUsage
	}
	role, impl, name := args[0], args[1], args[2]
	dur, err1 := time.ParseDuration(args[3])
	warm, err2 := time.ParseDuration(args[4])
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintf(stderr, "mpconn bench %s: %v\n", ProcessArg, err)
		return exitUsage
	}
	var addr string
	if len(args) > 5 {
		addr = args[5]
	}
	if dir := os.Getenv("MPCONN_BENCH_CPUPROFILE"); dir != "" {
		// A CPU profile of each process, for looking into a case.
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%s-%s.pprof", name, impl, role)))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	if err := benchProcess(ctx, stdout, role, impl, name, dur, warm, addr); err != nil {
		fmt.Fprintf(stderr, "mpconn bench %s %s %s %s: %v\n", ProcessArg, role, impl, name, err)
		return exitFail
	}
	return exitOK
}

// openTransport wraps descriptor 3.
func openTransport(impl string) (benchTransport, error) {
	switch impl {
	case "mpconn":
		c, err := mpconn.FDConn(3, nil)
		if err != nil {
			return nil, err
		}
		return mpconnTransport{c: c, ctx: context.Background()}, nil
	case "raw":
		f := os.NewFile(3, "socketpair")
		nc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		return &rawTransport{nc: nc, codec: benchCodec}, nil
	case "many":
		t, err := openTransport("mpconn")
		if err != nil {
			return nil, err
		}
		return &manyTransport{mpconnTransport: t.(mpconnTransport)}, nil
	case "rawblock":
		fd, err := openBlockFD(3)
		if err != nil {
			return nil, err
		}
		return &rawTransport{nc: fd, codec: benchCodec}, nil
	}
	return nil, fmt.Errorf("unknown implementation %q", impl)
}

func benchProcess(ctx context.Context, stdout io.Writer, role, impl, name string, dur, warm time.Duration, addr string) error {
	if name == "connect_auth" {
		return benchConnect(ctx, stdout, role, impl, dur, warm, addr)
	}
	if name == "manager_ops" {
		if role != "peer" {
			return errors.New("manager_ops has a Python driver only")
		}
		return benchManagerServe(ctx, addr)
	}
	if impl == "shared" || impl == "shared-inplace" || impl == "shared-py" {
		return benchShared(ctx, stdout, role, impl, dur, warm)
	}
	if role == "peer" && impl == "many" {
		impl = "mpconn" // the receiver is the same
	}
	t, err := openTransport(impl)
	if err != nil {
		return err
	}
	defer t.close()
	if role == "peer" {
		err := benchPeer(t, name)
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	var step func(n int) error
	var finish func() error
	batch := 1
	switch name {
	case "rtt_bytes_64":
		msg := make([]byte, benchMsgSize)
		buf := make([]byte, benchMsgSize)
		step = func(int) error {
			if err := t.send(msg); err != nil {
				return err
			}
			_, err := t.recvInto(buf)
			return err
		}
	case "rtt_object":
		var got Object
		step = func(int) error {
			if err := t.sendObj(&Obj); err != nil {
				return err
			}
			return t.recvObj(&got)
		}
	case "stream_bytes_64", "bulk_1MiB", "bulk_64MiB":
		size := benchMsgSize
		switch name {
		case "bulk_1MiB":
			size, batch = benchBulkSize, 1
		case "bulk_64MiB":
			size, batch = benchHugeSize, 1
		default:
			batch = benchStreamBatch
		}
		msg := make([]byte, size)
		step = func(n int) error {
			if m, ok := t.(*manyTransport); ok {
				return m.sendMany(msg, n)
			}
			for range n {
				if err := t.send(msg); err != nil {
					return err
				}
			}
			return nil
		}
		finish = func() error { return endStream(t, t.send(nil)) }
	case "stream_object":
		batch = benchStreamBatch
		step = func(n int) error {
			if m, ok := t.(*manyTransport); ok {
				return m.sendObjMany(&Obj, n)
			}
			for range n {
				if err := t.sendObj(&Obj); err != nil {
					return err
				}
			}
			return nil
		}
		finish = func() error { return endStream(t, t.sendObj(&benchEnd)) }
	default:
		return fmt.Errorf("unknown case %q", name)
	}
	if _, _, err := timeBox(warm, batch, step, finish); err != nil {
		return err
	}
	n, el, err := timeBox(dur, batch, step, finish)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "result %d %d\n", n, el.Nanoseconds())
	return nil
}

// endStream waits for the receiver's acknowledgement of the end message
// whose sending returned err.
func endStream(t benchTransport, err error) error {
	if err != nil {
		return err
	}
	var ack [16]byte
	_, err = t.recvInto(ack[:])
	return err
}

// timeBox runs step in batches until d has passed (at least one batch),
// then finish, and returns how many operations ran and how long it took,
// finish included.
func timeBox(d time.Duration, batch int, step func(n int) error, finish func() error) (int64, time.Duration, error) {
	var n int64
	start := time.Now()
	for {
		if err := step(batch); err != nil {
			return n, 0, err
		}
		n += int64(batch)
		if time.Since(start) >= d {
			break
		}
	}
	if finish != nil {
		if err := finish(); err != nil {
			return n, 0, err
		}
	}
	return n, time.Since(start), nil
}

// benchPeer answers the driver until it closes the connection.
func benchPeer(t benchTransport, name string) error {
	switch name {
	case "rtt_bytes_64":
		buf := make([]byte, benchMsgSize)
		for {
			n, err := t.recvInto(buf)
			if err != nil {
				return err
			}
			if err := t.send(buf[:n]); err != nil {
				return err
			}
		}
	case "rtt_object":
		var v Object
		for {
			if err := t.recvObj(&v); err != nil {
				return err
			}
			if err := t.sendObj(&v); err != nil {
				return err
			}
		}
	case "stream_bytes_64", "bulk_1MiB", "bulk_64MiB":
		buf := make([]byte, benchBulkSize)
		if name == "bulk_64MiB" {
			buf = make([]byte, benchHugeSize)
		}
		for {
			n, err := t.recvInto(buf)
			if err != nil {
				return err
			}
			if n == 0 {
				if err := t.send(benchAck); err != nil {
					return err
				}
			}
		}
	case "stream_object":
		var v Object
		for {
			if err := t.recvObj(&v); err != nil {
				return err
			}
			if v.ID == -1 {
				if err := t.send(benchAck); err != nil {
					return err
				}
			}
		}
	}
	return fmt.Errorf("unknown case %q", name)
}

// benchConnect is connect_auth: the peer listens at addr and closes every
// connection it accepts; the driver connects (and authenticates) and
// closes, again and again. The peer says "ready" on descriptor 3 once it
// listens. The raw baseline connects and closes a plain Unix socket.
func benchConnect(ctx context.Context, stdout io.Writer, role, impl string, dur, warm time.Duration, addr string) error {
	ctrl := os.NewFile(3, "control")
	defer ctrl.Close()
	if role == "peer" {
		return benchListen(ctx, impl, addr, ctrl)
	}
	var ready [5]byte
	if _, err := io.ReadFull(ctrl, ready[:]); err != nil {
		return fmt.Errorf("waiting for the listener: %w", err)
	}
	var step func(int) error
	switch impl {
	case "mpconn":
		opts := &mpconn.DialOptions{AuthKey: benchKey}
		step = func(int) error {
			c, err := mpconn.Dial(ctx, addr, opts)
			if err != nil {
				return err
			}
			return c.Close()
		}
	case "raw":
		step = func(int) error {
			for {
				c, err := net.Dial("unix", addr)
				if errors.Is(err, platform.EAGAIN) {
					// The listener's queue is full (a Unix socket
					// does not wait): try again, on the clock.
					runtime.Gosched()
					continue
				}
				if err != nil {
					return err
				}
				return c.Close()
			}
		}
	default:
		return fmt.Errorf("unknown implementation %q", impl)
	}
	if _, _, err := timeBox(warm, 1, step, nil); err != nil {
		return err
	}
	n, el, err := timeBox(dur, 1, step, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "result %d %d\n", n, el.Nanoseconds())
	return nil
}

// benchListen serves connect_auth's driver until it is killed.
func benchListen(ctx context.Context, impl, addr string, ctrl *os.File) error {
	switch impl {
	case "mpconn":
		l, err := mpconn.Listen(addr, &mpconn.ListenOptions{AuthKey: benchKey})
		if err != nil {
			return err
		}
		defer l.Close()
		if _, err := ctrl.Write([]byte("ready")); err != nil {
			return err
		}
		for {
			c, err := l.Accept(ctx)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
					return nil
				}
				continue // a failed handshake: the driver reports it
			}
			c.Close()
		}
	case "raw":
		l, err := net.Listen("unix", addr)
		if err != nil {
			return err
		}
		defer l.Close()
		if _, err := ctrl.Write([]byte("ready")); err != nil {
			return err
		}
		for {
			c, err := l.Accept()
			if err != nil {
				return nil
			}
			c.Close()
		}
	}
	return fmt.Errorf("unknown implementation %q", impl)
}
