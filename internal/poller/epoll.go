//go:build !mpconnscan

package mpconn

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// epoller is the Linux poller: an epoll instance holding the set's
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

func newPoller() (poller, error) {
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
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeID}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	p := &epoller{epfd: epfd, evfd: evfd, events: make([]unix.EpollEvent, 256)}
	p.f = os.NewFile(uintptr(epfd), "epoll")
	if p.rc, err = p.f.SyscallConn(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *epoller) register(fd int, id uint32) error {
	ev := unix.EpollEvent{Events: connEvents, Fd: int32(id)}
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev))
}

func (p *epoller) rearm(fd int, id uint32) error {
	ev := unix.EpollEvent{Events: connEvents, Fd: int32(id)}
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev))
}

func (p *epoller) unregister(fd int, id uint32) error {
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil))
}

func (p *epoller) poll(ctx context.Context, block bool, ids []uint32) ([]uint32, error) {
	if !block {
		ids, _, err := p.collect(p.epfd, ids)
		return ids, err
	}
	var werr error
	stop := watch(ctx, p.f.SetReadDeadline)
	err := p.rc.Read(func(fd uintptr) bool {
		var got bool
		ids, got, werr = p.collect(int(fd), ids)
		return got || werr != nil
	})
	if stop != nil {
		stop()
	}
	if werr != nil {
		return ids, werr
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return ids, err
	}
	return ids, ctx.Err()
}

// collect appends the keys of the ready descriptors to ids without
// blocking, and drains the eventfd if it is among them.
func (p *epoller) collect(epfd int, ids []uint32) ([]uint32, bool, error) {
	n, err := unix.EpollWait(epfd, p.events, 0)
	if err == unix.EINTR {
		return ids, false, nil
	}
	if err != nil {
		return ids, false, os.NewSyscallError("epoll_wait", err)
	}
	for _, ev := range p.events[:n] {
		id := uint32(ev.Fd)
		if id == wakeID {
			var b [8]byte
			unix.Read(p.evfd, b[:])
		}
		ids = append(ids, id)
	}
	return ids, n > 0, nil
}

func (p *epoller) wake() {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], 1)
	unix.Write(p.evfd, b[:])
}

func (p *epoller) close() error {
	unix.Close(p.evfd)
	if p.f != nil {
		return p.f.Close()
	}
	return unix.Close(p.epfd)
}
