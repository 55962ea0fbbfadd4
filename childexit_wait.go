//go:build !linux

package mpconn

import "syscall"

// watchExit reports false: without pidfds a goroutine waits for the
// process, and wait sets learn of its exit from that goroutine.
func (ch *Child) watchExit() bool { return false }

func (ch *Child) exitConn() syscall.RawConn { return nil }

func (ch *Child) pollExit() bool { return false }
