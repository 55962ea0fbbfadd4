// Package msgio is the message reader and writer shared by the framed
// connections of this module: mpconn's Conn (CPython's framing) and
// ductworks' Conn (a magic byte and a 4-byte length). It knows nothing of
// either wire: a [Header] parses and writes the headers, and a [Source]
// is the connection the bytes come from.
//
// What it owns:
//
//   - cancel-safe framing: a receive interrupted part way through a
//     message (a deadline, a closed context, a non-blocking read that
//     found nothing) keeps what it has read, and the next one goes on from
//     there, so the stream never loses its place;
//   - read-ahead: small messages are read many at a time into a buffer
//     that starts small and grows only while reads fill it; a payload
//     that does not fit is read straight into its destination, and is
//     allocated only as its bytes arrive, so a header alone never makes
//     the receiver allocate much;
//   - pending writes: a send interrupted part way through a frame keeps
//     the rest, to be written before the next frame.
//
// The owner holds its own locks: a [Reader] is used with the owner's read
// lock held, a [Writer] with its write lock.
package msgio
