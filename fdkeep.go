package mpconn

// fileKeeper is the side of a descriptor-passing transport (unixTransport,
// on a Unix socket) that the receive path informs after each read,
// so that it keeps only the descriptors the application can still claim.
type fileKeeper interface {
	// afterRead judges the descriptors that came with the read just made
	// and closes those that no one can claim any more. inBody: the read
	// went straight into the payload of the message being received, so
	// whatever came with it lies inside that message.
	afterRead(c *Conn, inBody bool)

	// passed closes the descriptors of the bytes the receive has
	// consumed (a header just parsed).
	passed(c *Conn)
}
