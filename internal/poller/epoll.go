//go:build linux

package poller

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// epoller is the Linux Poller: an epoll instance holding the set's
// descriptors and an eventfd for wake-ups. A blocked Wait does not hold
// an OS thread: the epoll descriptor itself, non-blocking, is handed to
// the Go runtime's poller, which reports it readable when any descriptor
// in the set is ready.
type epoller struct {
	epfd   int
	f      *os.File // owns epfd
	rc     syscall.RawConn
	evfd   int
	events []unix.EpollEvent
}

// connEvents is what a Conn's descriptor is watched for; one-shot, so that
// a descriptor closed behind the set's back (whose registration may linger
// while a copy of it lives on elsewhere) reports at most once.
const connEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// NewEpoll returns the epoll Poller.
func NewEpoll() (Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: WakeKey}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	p := &epoller{epfd: epfd, evfd: evfd, events: make([]unix.EpollEvent, 256)}
	p.f = os.NewFile(uintptr(epfd), "epoll")
	if p.rc, err = p.f.SyscallConn(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *epoller) Register(fd uintptr, key uint32) error {
	ev := unix.EpollEvent{Events: connEvents, Fd: int32(key)}
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev))
}

func (p *epoller) Rearm(fd uintptr, key uint32) error {
	ev := unix.EpollEvent{Events: connEvents, Fd: int32(key)}
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev))
}

func (p *epoller) Unregister(fd uintptr, key uint32) error {
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil))
}

func (p *epoller) Poll(ctx context.Context, block bool, keys []uint32) ([]uint32, error) {
	if !block {
		keys, _, err := p.collect(p.epfd, keys)
		return keys, err
	}
	var werr error
	stop := watch(ctx, p.f.SetReadDeadline)
	err := p.rc.Read(func(fd uintptr) bool {
		var got bool
		keys, got, werr = p.collect(int(fd), keys)
		return got || werr != nil
	})
	if stop != nil {
		stop()
	}
	if werr != nil {
		return keys, werr
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return keys, err
	}
	return keys, ctx.Err()
}

// collect appends the keys of the ready descriptors to keys without
// blocking, and drains the eventfd if it is among them.
func (p *epoller) collect(epfd int, keys []uint32) ([]uint32, bool, error) {
	n, err := unix.EpollWait(epfd, p.events, 0)
	if err == unix.EINTR {
		return keys, false, nil
	}
	if err != nil {
		return keys, false, os.NewSyscallError("epoll_wait", err)
	}
	for _, ev := range p.events[:n] {
		key := uint32(ev.Fd)
		if key == WakeKey {
			var b [8]byte
			unix.Read(p.evfd, b[:])
		}
		keys = append(keys, key)
	}
	return keys, n > 0, nil
}

func (p *epoller) Wake() {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], 1)
	unix.Write(p.evfd, b[:])
}

func (p *epoller) Close() error {
	unix.Close(p.evfd)
	if p.f != nil {
		return p.f.Close()
	}
	return unix.Close(p.epfd)
}

// watch arranges for ctx's cancellation to interrupt a blocking read
// through setDeadline. The returned function must be called when the read
// is over. It returns nil when ctx cannot be cancelled.
func watch(ctx context.Context, setDeadline func(time.Time) error) func() {
	if ctx.Done() == nil {
		return nil
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		setDeadline(time.Unix(1, 0))
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
			setDeadline(time.Time{})
		}
	}
}
