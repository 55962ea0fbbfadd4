package mpconn

// afterRead runs at the end of every receive and Poll, with the read lock
// still held: the place where wait sets learn that a Conn keeps buffered
// messages the operating system no longer reports as readable, or that it
// has none left.
func (c *Conn) afterRead() {
	if r := c.watchers(); r != nil {
		r.notify(c.ready())
	}
}
