package mpconn

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

// MaxSize32Bit is the largest message a peer that reads a signed 32-bit
// length header can receive: 2 GiB - 1 bytes. CPython 2.7 to 3.7 cannot
// receive more (3.8 added the 64-bit header that mpconn writes for larger
// messages), and billiard, Celery's fork of multiprocessing, loses the
// stream's framing without an error. Set [ConnOptions.MaxSendSize] to it
// for such peers, and a larger message fails with a [*SendTooLongError]
// before anything is written.
const MaxSize32Bit = 1<<31 - 1

// SendTooLongError reports a message larger than the peer can read
// ([ConnOptions.MaxSendSize]). Nothing of it was written: the Conn stays
// usable.
type SendTooLongError struct {
	Len int64 // the message's size
	Max int64 // the limit in force
}

func (e *SendTooLongError) Error() string {
	return fmt.Sprintf("mpconn: a %d-byte message is larger than the peer can read (%d bytes, ConnOptions.MaxSendSize): nothing was sent", e.Len, e.Max)
}

// checkSendSize refuses a message of n bytes longer than the peer reads.
func (c *Conn) checkSendSize(n int) error {
	if c.maxSend > 0 && int64(n) > c.maxSend {
		return &SendTooLongError{Len: int64(n), Max: c.maxSend}
	}
	return nil
}

// A pythonPeer is what StartChild learnt of a Python child's interpreter
// from its executable's name.
type pythonPeer struct {
	major, minor int // minor -1: not known
}

// pythonName matches the file names of Python interpreters: python,
// python3, python3.12, pypy, pypy3.10 (a trailing "m", "d" or "t" of an
// ABI flag allowed).
var pythonName = regexp.MustCompile(`^(python|pypy)(\d)?(?:\.(\d+))?[mdt]*$`)

// childPython reports whether cmd runs a Python interpreter and, if its
// executable's name (symbolic links followed: a venv's or pyenv's
// "python" leads to "python3.12") says so, which version. known is false
// for an interpreter whose version the name does not give, such as a
// wrapper script named "python".
func childPython(cmd *exec.Cmd) (p pythonPeer, isPython, known bool) {
	path := cmd.Path
	if cmd.Err != nil || path == "" {
		return pythonPeer{}, false, false
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	m := pythonName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		// The name given may say more than the file it leads to
		// (python2.7 -> a binary named otherwise).
		if m = pythonName.FindStringSubmatch(filepath.Base(cmd.Path)); m == nil {
			return pythonPeer{}, false, false
		}
	}
	switch {
	case m[2] != "":
		p.major, _ = strconv.Atoi(m[2])
		p.minor = -1
		if m[3] != "" {
			p.minor, _ = strconv.Atoi(m[3])
		}
		return p, true, true
	case m[1] == "pypy":
		return pythonPeer{major: 2, minor: 7}, true, true // pypy is PyPy's Python 2.7
	}
	return pythonPeer{}, true, false
}

// adaptToChild sets what the parent's end sends to suit a Python child:
// pickles of protocol 2 to a Python 2 (or to an interpreter whose version
// its name does not tell, until the child's first pickle shows its
// protocol), and messages of at most [MaxSize32Bit] bytes to CPython 3.7
// and older, unless opts says otherwise.
func (c *Conn) adaptToChild(cmd *exec.Cmd, opts *ConnOptions) {
	p, isPython, known := childPython(cmd)
	if !isPython {
		return
	}
	if !known || p.major < 3 {
		c.peerProto.Store(2)
	}
	old := known && (p.major < 3 || (p.major == 3 && p.minor >= 0 && p.minor <= 7))
	if old && (opts == nil || opts.MaxSendSize == 0) {
		c.maxSend = MaxSize32Bit
	}
}
