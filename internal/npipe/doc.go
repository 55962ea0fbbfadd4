// Package npipe is mpconn's Windows named-pipe layer: message-mode pipes as
// CPython's multiprocessing.connection uses them (PipeListener, PipeClient,
// PipeConnection and Pipe in Lib/multiprocessing/connection.py).
//
// A named pipe in message mode keeps message boundaries itself, so nothing
// is framed: one [Conn.WriteMsg] is one WriteFile and one pipe message, and
// [Conn.ReadMsg] returns exactly one message, empty ones included. That is
// what CPython's PipeConnection sends and expects, the authentication
// handshake included.
//
// # I/O
//
// Every handle is opened for overlapped I/O and tied to one I/O completion
// port owned by this package, served by one goroutine. A call waits for its
// completion packet, for its context and for Close at once; when the
// context ends or the Conn is closed, the operation is cancelled with
// CancelIoEx and the call returns only after the kernel has let go of its
// buffer. A receive reads the head of the next message (up to
// [HeadSize] bytes); a longer message reports ERROR_MORE_DATA and
// PeekNamedPipe tells how much is left, which is read in one more call
// (CPython does the same with 128-byte heads). A cancelled receive either
// consumed nothing or keeps the head it read for the next call, so message
// boundaries survive cancellation.
//
// # Addresses and security
//
// A pipe address is `\\.\pipe\NAME` (or `\\SERVER\pipe\NAME` to dial
// another machine); [IsAddress] tells one apart as CPython does: it starts
// with two backslashes. [Listen] and [Pipe] create pipes that only the
// current user can open and that refuse remote clients, unless
// [Options] asks for CPython's behaviour (the default security
// descriptor, remote clients allowed). Clients open pipes with
// SECURITY_IDENTIFICATION, so the server cannot impersonate them.
//
// Only the Windows build has the pipe functions; the portable part (the
// address rules, the unique names, the error types) builds everywhere.
package npipe
