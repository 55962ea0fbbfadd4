//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package poller

import (
	"context"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// kqueuePoller is the Poller of macOS and the BSDs: a kqueue holding an
// EVFILT_READ filter per descriptor, one-shot (oneShotFlags), and a wake
// event (wakeEvent: EVFILT_USER where the system has it, a pipe
// elsewhere).
//
// A blocking Poll sits in kevent(2) on its thread: the Go runtime's own
// poller is not asked to watch the kqueue. ctx's end wakes it like Wake.
// The kernel removes a descriptor's filter when the descriptor is closed,
// so a closed and reused descriptor number never reports for the old key.
type kqueuePoller struct {
	kq     int
	wakeup waker
	events []unix.Kevent_t

	mu   sync.Mutex
	keys map[uintptr]uint32 // descriptor → key
}

// waker is the wake event of a kqueue.
type waker interface {
	// add registers the event with kq.
	add(kq int) error
	// is reports whether ev is the wake event; drain then resets it.
	is(ev *unix.Kevent_t) bool
	drain()
	trigger(kq int)
	close()
}

// NewKqueue returns the kqueue Poller.
func NewKqueue() (Poller, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	// A kqueue is not inherited by fork; close-on-exec is for form.
	unix.CloseOnExec(kq)
	w, err := newWaker()
	if err != nil {
		unix.Close(kq)
		return nil, err
	}
	if err := w.add(kq); err != nil {
		w.close()
		unix.Close(kq)
		return nil, err
	}
	return &kqueuePoller{kq: kq, wakeup: w, events: make([]unix.Kevent_t, 256), keys: make(map[uintptr]uint32)}, nil
}

// change applies one change to fd's read filter.
func (p *kqueuePoller) change(fd uintptr, flags int) error {
	var ev [1]unix.Kevent_t
	unix.SetKevent(&ev[0], int(fd), unix.EVFILT_READ, flags)
	for {
		_, err := unix.Kevent(p.kq, ev[:], nil, nil)
		if err == unix.EINTR {
			continue
		}
		return os.NewSyscallError("kevent", err)
	}
}

func (p *kqueuePoller) Register(fd uintptr, key uint32) error {
	p.mu.Lock()
	p.keys[fd] = key
	p.mu.Unlock()
	if err := p.change(fd, unix.EV_ADD|oneShotFlags); err != nil {
		p.mu.Lock()
		if p.keys[fd] == key {
			delete(p.keys, fd)
		}
		p.mu.Unlock()
		return err
	}
	return nil
}

func (p *kqueuePoller) Rearm(fd uintptr, key uint32) error {
	return p.change(fd, rearmFlags)
}

func (p *kqueuePoller) Unregister(fd uintptr, key uint32) error {
	p.mu.Lock()
	if p.keys[fd] == key {
		delete(p.keys, fd)
	}
	p.mu.Unlock()
	err := p.change(fd, unix.EV_DELETE)
	if err != nil && os.IsNotExist(err) {
		// ENOENT: a one-shot filter that fired is gone already.
		return nil
	}
	return err
}

func (p *kqueuePoller) Poll(ctx context.Context, block bool, keys []uint32) ([]uint32, error) {
	var timeout *unix.Timespec
	if block {
		if ctx.Done() != nil {
			stop := context.AfterFunc(ctx, p.Wake)
			defer stop()
		}
	} else {
		timeout = new(unix.Timespec) // zero: only look
	}
	for {
		if block && ctx.Err() != nil {
			return keys, ctx.Err()
		}
		n, err := unix.Kevent(p.kq, nil, p.events, timeout)
		if err == unix.EINTR {
			if !block {
				return keys, nil
			}
			continue
		}
		if err != nil {
			return keys, os.NewSyscallError("kevent", err)
		}
		p.mu.Lock()
		for i := range p.events[:n] {
			ev := &p.events[i]
			if p.wakeup.is(ev) {
				p.wakeup.drain()
				keys = append(keys, WakeKey)
				continue
			}
			if key, ok := p.keys[uintptr(ev.Ident)]; ok {
				keys = append(keys, key)
			}
		}
		p.mu.Unlock()
		if n > 0 || !block {
			break
		}
	}
	if block {
		return keys, ctx.Err()
	}
	return keys, nil
}

func (p *kqueuePoller) Wake() { p.wakeup.trigger(p.kq) }

func (p *kqueuePoller) Close() error {
	p.wakeup.close()
	return os.NewSyscallError("close", unix.Close(p.kq))
}
