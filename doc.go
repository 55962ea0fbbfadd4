// Package mpconn carries whole messages between processes, byte for byte
// compatible with CPython's multiprocessing.connection (2.7 and 3.6+).
//
// A [Conn] sends and receives messages: raw bytes ([Conn.SendBytes],
// [Conn.RecvBytes], [Conn.RecvBytesInto]) or values through a [Codec]
// ([Conn.Send], [Conn.Recv]; pickle by default, so a Python peer uses
// conn.send and conn.recv). Conns come from:
//
//   - [Pipe] and [PipeOneWay]: a socketpair or an OS pipe, for a parent
//     and a child process; [StartChild] starts a program holding one end,
//     which it picks up with [ChildConn] (Go) or Connection(fd) (Python);
//   - [Listen] and [Dial]: TCP, Unix sockets and Linux abstract sockets,
//     with CPython's HMAC authentication and optional TLS;
//   - [NewRendezvous], [DialRetry] and [PairOver]: a parent and a child
//     that meet at an address;
//   - [FileConn], [FDConn] and [NewConn]: an existing descriptor or
//     net.Conn.
//
// [Wait] and [WaitSet] report which of many Conns, Listeners and child
// processes are ready. [Conn.SendFile] and [Conn.RecvFile] pass open
// descriptors, as multiprocessing.reduction does.
//
// Every message is framed as CPython frames it: a 4-byte big-endian signed
// length and the payload, with the -1 escape and an 8-byte length for
// messages over 2 GiB. CPython 2.7 to 3.7 and billiard cannot read that
// escape: [ConnOptions.MaxSendSize] set to [MaxSize32Bit] makes a larger
// send fail with a [*SendTooLongError] before anything is written
// ([StartChild] sets it for the old Pythons it starts, and sends a Python
// 2 child pickles of protocol 2). Package pickle is the codec; package
// ductworks speaks the ductworks framing.
//
// BUG(mpconn): Only Unix systems are supported (Linux is tested); Windows
// named pipes (CPython's AF_PIPE) are not implemented, and macOS does not
// build yet (it lacks SOCK_CLOEXEC and pipe2).
package mpconn
