package mpconn

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
)

// The environment variables StartChild sets in a child process.
const (
	// EnvFD names the variable holding the number of the descriptor of
	// the child's end of the Pipe, such as "3"; on Windows, the value of
	// the inherited pipe handle, in decimal.
	EnvFD = "MPCONN_FD"

	// EnvAuthKey names the variable holding the authentication key, in
	// hexadecimal. [AuthKey] in a Go child returns it.
	EnvAuthKey = "MPCONN_AUTHKEY"
)

// ChildOptions configures StartChild. The zero value (or nil) gives the
// defaults.
type ChildOptions struct {
	// AuthKey is the key handed to the child in MPCONN_AUTHKEY. Nil means
	// this process's [AuthKey], so that the child inherits it as CPython's
	// children inherit current_process().authkey.
	AuthKey []byte

	// Conn configures the parent's end of the Pipe.
	Conn *ConnOptions
}

// Child is a process started by [StartChild]. It is a [Waitable]: Wait
// and WaitSet report it ready once the process has exited (on Linux
// through a pidfd, without a goroutine).
type Child struct {
	cmd  *exec.Cmd
	regs waitRegs // the wait sets watching the Child

	waitOnce sync.Once
	done     chan struct{} // closed once the process is waited for
	waitErr  error
	exited   atomic.Bool

	exitMu    sync.Mutex
	exitF     *os.File // the pidfd on Linux, closed once waited for
	exitWatch          // the exit's descriptor, where there is one (childexit_*.go)
}

// StartChild starts cmd with one end of a new duplex [Pipe] and returns
// the Child and the parent's end. The child's end is passed as an extra
// file (appended to cmd.ExtraFiles), and two variables are added to the
// child's environment (cmd.Env, or this process's environment when
// cmd.Env is nil): MPCONN_FD, the descriptor number of the child's end,
// and MPCONN_AUTHKEY, the authentication key in hexadecimal.
//
// The parent keeps no copy of the child's end, so when the child exits
// the parent's receives return [io.EOF] (or a connection reset error if
// the child died with messages it had not read). Call [Child.Wait] to
// reap the process.
//
// The key travels in the environment, which processes of the same user
// can read (/proc/PID/environ on Linux); CPython hands it down through a
// pipe instead. Give children that need no key a key of their own in
// ChildOptions.AuthKey.
//
// A Go child picks up its end with [ChildConn]. A Python child (any
// CPython from 2.7) wraps the descriptor in a Connection:
//
//	import os
//	from multiprocessing.connection import Connection
//	conn = Connection(int(os.environ['MPCONN_FD']))
//
// On CPython 2.7, import Connection from _multiprocessing instead.
//
// On Windows the Pipe is a named pipe, as CPython's Pipe() there, and the
// child inherits its end as a handle (listed in
// cmd.SysProcAttr.AdditionalInheritedHandles) whose value MPCONN_FD
// holds. A Go child's ChildConn works unchanged; a Python child wraps the
// handle in a PipeConnection (not tested here: no Windows CPython; a
// child doing PipeConnection's system calls is):
//
//	from multiprocessing.connection import PipeConnection
//	conn = PipeConnection(int(os.environ['MPCONN_FD']))
//
// The parent's end knows the child's pid there: [Conn.SendFile] on it
// duplicates the handle straight into the child (as CPython's DupHandle
// does for a known pid), and [Conn.RecvFile] takes handles only from the
// child (or made for the parent).
//
// The key is bytes.fromhex(os.environ['MPCONN_AUTHKEY']) (on 2.7,
// binascii.unhexlify); Python code that authenticates with the process's
// key needs multiprocessing.current_process().authkey = key.
//
// StartChild suits what the parent's end sends to a Python child, told
// by the name of the command's executable, symbolic links followed: a
// Python 2 (python2.7, python2, pypy) is sent pickles of protocol 2,
// which it can read even when the parent speaks first, as is a "python"
// whose version the name does not give (a wrapper script) until its
// first pickle shows its protocol; a CPython 3.7 or older, which cannot
// read a message over 2 GiB, gets [ConnOptions.MaxSendSize] =
// [MaxSize32Bit] unless ChildOptions.Conn sets one. Other programs get
// the defaults.
func StartChild(cmd *exec.Cmd, opts *ChildOptions) (*Child, *Conn, error) {
	if cmd == nil {
		return nil, nil, errors.New("mpconn: StartChild: nil command")
	}
	if cmd.Process != nil {
		return nil, nil, errors.New("mpconn: StartChild: command already started")
	}
	var o ChildOptions
	if opts != nil {
		o = *opts
	}
	key := o.AuthKey
	if key == nil {
		key = AuthKey()
	}
	// The Pipe, its child's end made ready for cmd (childend_*.go).
	parent, fd, release, err := childPipe(cmd, o.Conn)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	parent.adaptToChild(cmd, o.Conn)
	env := cmd.Environ()
	cmd.Env = append(env[:len(env):len(env)],
		EnvFD+"="+fd,
		EnvAuthKey+"="+hex.EncodeToString(key))
	if err := cmd.Start(); err != nil {
		parent.Close()
		return nil, nil, fmt.Errorf("mpconn: StartChild: %w", err)
	}
	ch := &Child{cmd: cmd, done: make(chan struct{})}
	if !ch.watchExit() {
		// No way to watch the exit without waiting: a goroutine waits.
		go ch.reap()
	}
	return ch, parent, nil
}

// Pid returns the process id.
func (ch *Child) Pid() int { return ch.cmd.Process.Pid }

// Cmd returns the command, for its ProcessState after Wait and such.
func (ch *Child) Cmd() *exec.Cmd { return ch.cmd }

// Kill kills the process (SIGKILL).
func (ch *Child) Kill() error { return ch.cmd.Process.Kill() }

// Signal sends sig to the process.
func (ch *Child) Signal(sig os.Signal) error { return ch.cmd.Process.Signal(sig) }

// Wait waits for the process to exit and returns what [exec.Cmd.Wait]
// returns: nil for a zero exit status, an *exec.ExitError otherwise. It
// may be called more than once and from several goroutines; all get the
// same result.
func (ch *Child) Wait() error {
	ch.reap()
	<-ch.done
	return ch.waitErr
}

// ExitCode returns the exit code once the process has been waited for,
// -1 before, and -1 when a signal ended it.
func (ch *Child) ExitCode() int {
	select {
	case <-ch.done:
		return ch.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Exited reports, without blocking, whether the process has exited
// (whether or not it was waited for yet).
func (ch *Child) Exited() bool {
	if ch.exited.Load() {
		return true
	}
	return ch.pollExit()
}

// reap waits for the process, once.
func (ch *Child) reap() {
	ch.waitOnce.Do(func() {
		ch.waitErr = ch.cmd.Wait()
		ch.exited.Store(true)
		close(ch.done)
		ch.regs.notify(true)
		ch.exitMu.Lock()
		if ch.exitF != nil {
			ch.exitF.Close()
			ch.exitF = nil
		}
		ch.exitMu.Unlock()
	})
}

// ChildConn returns the Conn of a process started by [StartChild]: its end
// of the Pipe, found through MPCONN_FD. The inherited descriptor is taken
// over (closed once wrapped) and MPCONN_FD is removed from the
// environment, so ChildConn succeeds once per process; later calls, and
// calls in a process not started by StartChild, return an error.
func ChildConn(opts *ConnOptions) (*Conn, error) {
	s := os.Getenv(EnvFD)
	if s == "" {
		return nil, errors.New("mpconn: ChildConn: " + EnvFD + " is not set: the process was not started by StartChild")
	}
	c, err := childConn(s, opts)
	if err != nil {
		return nil, err
	}
	os.Unsetenv(EnvFD)
	return c, nil
}
