//go:build linux

package mpconn

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Dial's side of the raw handshake: an authenticating Dial connects with a
// socket the network poller does not know yet and authenticates on it
// with blocking system calls (rawHandshake), falling back to the usual
// dial whenever that does not apply.

// dialRaw connects with a socket the poller does not know, for the
// handshake of an authenticating Dial. It reports ok false, having done
// nothing that matters, when the address does not suit it (a TCP host
// name, which needs resolving) or the connection is not made at once (a
// Unix listener whose queue is full, an error): the caller then dials as
// usual, which waits, retries and reports errors as it always has.
//
// A TCP connect still in progress after handshakePatience is not
// abandoned: pending is then a connection whose connect the caller
// finishes through the poller, on the same socket. (Closing it and
// dialing again would leave the Listener, if the first connect completed
// in the meantime, a connection that goes away in the middle of its
// handshake: a failed accept, which ends many a CPython server.)
func dialRaw(network, addr string) (fd int, remote net.Addr, ok bool, pending *os.File) {
	var (
		family int
		sa     unix.Sockaddr
	)
	switch network {
	case "unix":
		if len(addr) == 0 || len(addr) > maxUnixPath {
			return -1, nil, false, nil
		}
		family, sa = unix.AF_UNIX, &unix.SockaddrUnix{Name: addr}
		remote = &net.UnixAddr{Name: addr, Net: "unix"}
	case "tcp":
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || ap.Addr().Zone() != "" {
			return -1, nil, false, nil
		}
		ip := ap.Addr().Unmap()
		if ip.Is4() {
			family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}
		} else {
			family, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
		}
		remote = net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, ap.Port()))
	default:
		return -1, nil, false, nil
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, nil, false, nil
	}
	err = unix.Connect(fd, sa)
	if err == unix.EINPROGRESS || err == unix.EINTR {
		// (An interrupted connect goes on in the background.)
		err = waitConnect(fd)
	}
	if network == "tcp" && err == errConnectPending {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) // as net.Dial does
		return -1, remote, false, os.NewFile(uintptr(fd), "dial")
	}
	if err != nil {
		unix.Close(fd)
		return -1, nil, false, nil
	}
	if network == "tcp" {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) // as net.Dial does
	}
	return fd, remote, true, nil
}

// pendingConnectHook, when set by a test, is called when an
// authenticating Dial goes on with a connect still in progress.
var pendingConnectHook func()

// errConnectPending reports a connect still in progress after
// handshakePatience.
var errConnectPending = errors.New("mpconn: connect in progress")

// finishConnect waits through the poller (f is a non-blocking descriptor,
// which os.NewFile registers there) for the connect in progress on f to
// end, or for ctx to end, and returns the connection. It closes f.
func finishConnect(ctx context.Context, f *os.File, remote net.Addr) (net.Conn, error) {
	defer f.Close() // net.FileConn keeps a duplicate
	fail := func(err error) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: remote, Err: err}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return fail(err)
	}
	// A deadline in the past interrupts the write.
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var soerr int
	werr := rc.Write(func(fd uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, err := unix.Poll(pfd, 0); err != nil || n == 0 {
			return false // not yet: wait for writability
		}
		soerr, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			soerr = int(err.(syscall.Errno))
		}
		return true
	})
	if ctx.Err() != nil {
		// As net.Dial reports a connect that ctx interrupted.
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fail(os.ErrDeadlineExceeded)
		}
		return fail(ctx.Err())
	}
	if werr != nil {
		return fail(werr)
	}
	if soerr != 0 {
		return fail(os.NewSyscallError("connect", syscall.Errno(soerr)))
	}
	nc, err := net.FileConn(f)
	if err != nil {
		return fail(err)
	}
	return nc, nil
}

// waitConnect waits up to handshakePatience for a connect in progress;
// errConnectPending means it is still in progress.
func waitConnect(fd int) error {
	end := time.Now().Add(handshakePatience)
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		left := time.Until(end)
		if left <= 0 {
			return errConnectPending
		}
		n, err := unix.Poll(pfd, int((left+time.Millisecond-1)/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n > 0 {
			soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if err != nil {
				return err
			}
			if soerr != 0 {
				return syscall.Errno(soerr)
			}
			return nil
		}
	}
}

// dialAuthFast is Dial's authenticated handshake on a socket the poller
// does not know yet; ok false means it did not apply (see dialRaw) and
// nothing was done.
func dialAuthFast(ctx context.Context, network, addr string, o *DialOptions) (c *Conn, ok bool, err error) {
	if len(blockingSlots) == cap(blockingSlots) {
		return nil, false, nil // no thread to spare: the usual way
	}
	fd, remote, ok, pending := dialRaw(network, addr)
	if pending != nil {
		// The connect takes longer than the fast path waits: finish it
		// through the poller, and authenticate the usual way.
		if pendingConnectHook != nil {
			pendingConnectHook()
		}
		nc, err := finishConnect(ctx, pending, remote)
		if err != nil {
			return nil, true, err
		}
		c, err := dialHandshake(ctx, nc, network, addr, o)
		return c, true, err
	}
	if !ok {
		return nil, false, nil
	}
	var deadline time.Time
	if o.HandshakeTimeout >= 0 {
		deadline = time.Now().Add(cmp.Or(o.HandshakeTimeout, defaultDialHandshakeTimeout))
	}
	h := newRawHandshake(fd, network, remote, o.Conn, deadline)
	h.wrote = true // the challenge comes in reply to the connect
	if network == "unix" {
		h.local = &net.UnixAddr{Net: "unix"} // unnamed
	}
	if err := authenticateClient(ctx, h, o.AuthKey, o.AuthDigest); err != nil {
		h.close()
		return nil, true, &net.OpError{Op: "dial", Net: network, Addr: remote, Err: err}
	}
	c, err = h.finish()
	if err != nil {
		h.close()
		return nil, true, &net.OpError{Op: "dial", Net: network, Addr: remote, Err: err}
	}
	h.done()
	yieldSometimes()
	return c, true, nil
}
