package shm

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
)

// Block is a mapped shared memory block: a named POSIX shared memory
// object, as CPython's multiprocessing.shared_memory.SharedMemory makes
// them, or an anonymous memfd block from a [Pool].
//
// Bytes returns the mapping itself: writes are seen by every process that
// maps the block, and there is no locking between processes. The Block's
// methods are safe for concurrent use, but Close must not race with uses
// of the slice Bytes returned: after Close, that memory is unmapped.
type Block struct {
	name string // without the leading slash; "" for a memfd block

	mu      sync.Mutex
	data    []byte
	fd      osHandle // the descriptor (Linux) or the section handle (Windows)
	closed  bool
	onClose func() // memfd blocks: return to the pool's accounting
}

// Create creates a new named block of size bytes, as
// SharedMemory(name, create=True, size=size) does: shm_open with
// O_CREAT|O_EXCL|O_RDWR and mode 0600 (less the umask), then ftruncate to
// size, then a shared read-write mapping of the size fstat reports. With
// name "", a fresh name is made up like CPython's ("psm_" and 8 hex
// digits, "wnsm_" on Windows), retrying on a collision. An existing name
// is an error wrapping [fs.ErrExist]. On Linux the block is the file
// /dev/shm/NAME; on Windows it is a paging-file section of that name
// (CreateFileMapping, as CPython); elsewhere Create returns an error
// wrapping [ErrUnsupported].
//
// The caller owns the name: unlink it (with [Block.Unlink]) when no
// process needs to open it any more. See the package documentation on
// who unlinks what.
func Create(name string, size int) (*Block, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shm: create %q: size must be positive, not %d", name, size)
	}
	if name == "" {
		for {
			b, err := createNamed(NewName(), size)
			if errors.Is(err, errExist) {
				continue
			}
			return b, err
		}
	}
	n, err := cleanName(name)
	if err != nil {
		return nil, err
	}
	return createNamed(n, size)
}

// Open maps an existing named block, as SharedMemory(name) does: shm_open
// with O_RDWR, and a shared read-write mapping of the size fstat reports
// (the size a creator asked for on Linux; macOS rounds it up to pages).
// On Windows it opens the section (OpenFileMapping) and maps all of it:
// its size is the creator's rounded up to pages, as VirtualQuerySize
// gives CPython.
// The name is checked first: a name from a peer cannot reach a file
// outside the shared memory directory. A name that does not exist is an
// error wrapping [fs.ErrNotExist]. Unlike CPython, a failed Open never
// unlinks the name.
func Open(name string) (*Block, error) {
	n, err := cleanName(name)
	if err != nil {
		return nil, err
	}
	return openNamed(n)
}

// Unlink removes a named block, as shm_unlink (and SharedMemory.unlink)
// do: the name goes, and the memory goes when the last mapping of it is
// closed. On Windows there is nothing to remove, and Unlink only checks
// the name: a section and its name live until the last process that
// holds it closes it (CPython's unlink does nothing there either).
func Unlink(name string) error {
	n, err := cleanName(name)
	if err != nil {
		return err
	}
	return unlinkNamed(n)
}

// Name returns the block's name as CPython's SharedMemory.name gives it,
// without the leading slash: the name to pass to SharedMemory(name) in
// Python. It is "" for an anonymous (memfd) block.
func (b *Block) Name() string { return b.name }

// Size returns the size of the mapping in bytes, 0 after Close.
func (b *Block) Size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.data)
}

// Bytes returns the mapped memory, nil after Close. If another process
// may truncate the file behind a named block, read it through
// [Block.Access] instead: touching a page past the new end of the file
// raises SIGBUS, which kills a Go program.
func (b *Block) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.data
}

// Close unmaps the block and closes its descriptor. It does not unlink
// the name. Close is idempotent.
func (b *Block) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	data, fd, onClose := b.data, b.fd, b.onClose
	b.data, b.fd, b.onClose = nil, noHandle, nil
	b.mu.Unlock()
	err := release(data, fd)
	if onClose != nil {
		onClose()
	}
	return err
}

// Unlink removes the block's name (see [Unlink]). The mapping stays valid
// until Close. It is an error for an anonymous block.
func (b *Block) Unlink() error {
	if b.name == "" {
		return errors.New("shm: unlink: the block has no name")
	}
	return unlinkNamed(b.name)
}

// Check reports whether the file behind the block still covers the whole
// mapping: a peer may have truncated it, after which touching the pages
// past its end raises SIGBUS. It returns an error wrapping [ErrFault] if
// the file shrank. A check is only a snapshot: a peer can truncate right
// after it; [Block.Access] is safe at every moment, and memfd blocks from
// a [Pool] are sealed against shrinking.
func (b *Block) Check() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	size, err := fileSize(b.fd, len(b.data))
	if err != nil {
		return err
	}
	if size < int64(len(b.data)) {
		return fmt.Errorf("%w: file is %d bytes, mapping %d", ErrFault, size, len(b.data))
	}
	return nil
}

// Access calls fn with the mapped memory and returns [ErrFault] instead
// of crashing if fn touches a page the file behind the block no longer
// has (a peer truncated it). fn runs on the calling goroutine with
// [debug.SetPanicOnFault] on; it must not keep p or hand it to other
// goroutines, which are not protected. After a fault, p's contents are
// whatever fn saw before it; the block stays usable (Check tells its
// state).
func (b *Block) Access(fn func(p []byte)) (err error) {
	p := b.Bytes()
	if p == nil {
		return ErrClosed
	}
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if a, ok := r.(interface{ Addr() uintptr }); ok {
				err = fmt.Errorf("%w (address %#x)", ErrFault, a.Addr())
				return
			}
			panic(r)
		}
	}()
	fn(p)
	return nil
}
