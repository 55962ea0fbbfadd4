//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package mpconn

import "syscall"

// watchExit reports false: with neither pidfds nor kqueues a goroutine
// waits for the process, and wait sets learn of its exit from it.
func (ch *Child) watchExit() bool { return false }

func (ch *Child) exitConn() syscall.RawConn { return ch.exitWatch.conn() }

func (ch *Child) pollExit() bool { return false }

// exitWatch is empty: no descriptor tells of the exit.
type exitWatch struct{}

func (exitWatch) conn() syscall.RawConn { return nil }
