// Package mpconn carries whole messages between processes, byte for byte
// compatible with CPython's multiprocessing.connection.
//
// A [Conn] sends and receives messages: raw bytes ([Conn.SendBytes],
// [Conn.RecvBytes]) or values through a [Codec] ([Conn.Send], [Conn.Recv]).
// Conns come from [Pipe] and [PipeOneWay] (a socketpair or an OS pipe, for
// a parent and a child process), from [Listen] and [Dial] (TCP, Unix
// sockets and Linux abstract sockets, with optional HMAC authentication),
// or from an existing descriptor ([FileConn], [NewConn]).
//
// Every message is framed as CPython frames it: a 4-byte big-endian signed
// length and the payload, with the -1 escape and an 8-byte length for
// messages over 2 GiB. A Python process using multiprocessing.connection
// can be on the other end of any Conn.
package mpconn
