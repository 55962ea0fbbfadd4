// Package shm shares memory with Python's multiprocessing.shared_memory
// and between Go processes.
//
// [Create], [Open] and [Unlink] make, attach to and remove named blocks
// that CPython 3.8 and later open as SharedMemory(name); [CreateList],
// [OpenList] and [ParseList] read and write ShareableList blocks of every
// CPython layout (see [Layout]). A [Block] or [List] sent with
// mpconn.Conn.Send arrives in Python's recv() as an attached
// SharedMemory or ShareableList, and a Python SharedMemory or
// ShareableList received into a [Ref] opens with [Ref.Open] or
// [Ref.OpenList].
//
// Between Go processes, [Pool], [Send] and [Receiver] pass large messages
// without copying them through the socket: the sender fills a [Buffer]
// (a sealed memfd from a reusable pool, whose pages stay faulted in from
// one message to the next), Send passes its descriptor over the Conn as
// one message in order with the others, and the receiver reads the same
// pages in a [Message]. Closing the Message hands the buffer back to the
// sender's pool; a Pool whose buffers are all with the receiver makes
// [Pool.Get] wait (backpressure), bounded by its context.
//
// # Platforms
//
// Named blocks are implemented on Linux, where shm_open is a file under
// /dev/shm: the same names ("psm_" and 8 hex digits when generated),
// flags (O_CREAT|O_EXCL|O_RDWR), mode (0600) and sizes (ftruncate, then
// fstat's size, not rounded) as CPython. And on Windows, as CPython's
// SharedMemory there: a section backed by the paging file under the
// block's name ("wnsm_" and 8 hex digits when generated), created with
// CreateFileMapping (an existing name refused), opened with
// OpenFileMapping and mapped whole (the creator's size rounded up to
// pages). A Windows section has no name apart from itself: it and its
// name live while some process holds it, and Unlink does nothing there
// (nor does CPython's unlink); nor can it shrink, so Check always finds
// it whole. On other systems (macOS and the BSDs, whose shm_open is in
// libc, which Go does not call without cgo) the package builds,
// ShareableList encoding works on any byte slice ([ParseList],
// [EncodeList]), and the calls that need the system return errors
// wrapping [ErrUnsupported] (and so [errors.ErrUnsupported]). Memfds and
// sealing are Linux's: Pool, Send and Receiver work on Linux only.
//
// # Who owns and unlinks what
//
// A name lives until someone unlinks it; mappings live until closed,
// whether or not the name is unlinked. The process that creates a block
// owns its name and should unlink it once no process needs to open it
// any more; the others only close.
//
// Python complicates this with its resource tracker. Every
// SharedMemory created or attached in a Python process (before 3.13
// always; from 3.13 unless made with track=False) registers its name with
// that process's tracker, and the tracker unlinks every name still
// registered when the Python program exits, with a warning about leaked
// objects (gh-82300). Only unlink() unregisters. Unpickling a
// SharedMemory or ShareableList attaches with the default, so a block a
// Go program sends to Python is unlinked when the receiving Python
// program ends, even though Go created it; mappings the Go side holds
// stay valid, but the name is gone. A Python receiver that must not do
// that calls multiprocessing.resource_tracker.unregister(shm._name,
// "shared_memory") after attaching, or, from 3.13, attaches itself with
// SharedMemory(name, track=False) instead of receiving a pickle. In the
// other direction, a block Python creates and sends to Go is Python's:
// Go closes it, and Python unlinks it (or its tracker does at exit), so
// a Go program that keeps using it must keep its mapping, not reopen the
// name.
//
// This package keeps no tracker: a Go process that creates a named block
// and exits without unlinking it leaves it in /dev/shm, as
// SharedMemory(track=False) does. (On Windows nothing is left: the
// section goes with the last process that has it open.)
//
// # Trusting the peer
//
// Nothing that comes from a peer is trusted. Names from a pickle are
// checked (one file directly in the shared memory directory: no slash,
// not "." or "..", no NUL; on Windows no backslash, which would reach
// another namespace of kernel objects) and opened without following symlinks; a size
// always comes from fstat, never from a message; ShareableList headers are
// checked against the block once, and each item's format and code at
// each access. A peer can still truncate a named block under a mapping,
// after which touching the lost pages raises SIGBUS, which kills a Go
// program: [Block.Access] runs a function with faults turned into the
// error [ErrFault], and every [List] access goes through it; [Block.Check]
// compares the file's size with the mapping. Memfd blocks passed between
// Go processes are sealed against shrinking instead.
package shm
