package npipe

import "golang.org/x/sys/windows"

// SetPeerProcess records pid as the process that holds the other end of
// the pipe, for an end whose peer the system cannot tell: both ends of a
// pipe made by [Pipe] or [ChildPipe] were opened by this process, and a
// pipe names the process that opened an end, not the one holding it now
// (a child that inherited it). The caller knows: the child it started.
func (c *Conn) SetPeerProcess(pid uint32) { c.peer.Store(pid) }

// PeerProcess returns the id of the process at the other end of the
// pipe, or 0 when it is not known: the one recorded by SetPeerProcess,
// or else the one the system names (GetNamedPipeServerProcessId and
// GetNamedPipeClientProcessId: the one that is not this process). Both
// ends opened by this process, and nothing recorded, is 0.
func (c *Conn) PeerProcess() uint32 {
	if pid := c.peer.Load(); pid != 0 {
		return pid
	}
	if c.fd.acquire() != nil {
		return 0
	}
	defer c.fd.release()
	h := c.fd.h
	self := windows.GetCurrentProcessId()
	var server, client uint32
	if windows.GetNamedPipeServerProcessId(h, &server) != nil || windows.GetNamedPipeClientProcessId(h, &client) != nil {
		return 0
	}
	switch {
	case server != self:
		return server
	case client != self:
		return client
	}
	return 0
}
