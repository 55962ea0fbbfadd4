//go:build !unix && !windows

package mpconn

import "os/exec"

// Without Unix descriptors or Windows handles no pipe end can be handed
// to a child.

func childPipe(*exec.Cmd, *ConnOptions) (*Conn, string, func(), error) {
	return nil, "", nil, unsupported("StartChild")
}

func childConn(string, *ConnOptions) (*Conn, error) {
	return nil, unsupported("ChildConn")
}
