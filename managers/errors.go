package managers

import (
	"fmt"
	"strings"

	"github.com/mpconn/mpconn/pickle"
)

// Exception is a Python exception instance travelling between a manager
// server and its clients: the reply ('#ERROR', exception) that a method
// raising it produces.
//
// A client gets an *Exception from a call whose method raised; errors.As
// finds it, and errors.Is matches it against [ErrEmpty], [ErrFull] and the
// other sentinels below by class, so queue.Empty is recognised without
// looking at any message. A Go method served by a [Server] returns one
// (made with [NewException]) to raise that exception in the Python client.
type Exception struct {
	// Class is the exception's class, such as builtins.KeyError or
	// _queue.Empty.
	Class pickle.Global
	// Args are the exception's args.
	Args pickle.Tuple
	// Value is the exception as it was pickled, when it came from a peer
	// (it may carry state besides Args); nil for one made in Go.
	Value *pickle.Object
}

// NewException returns the exception module.name(*args), such as
// NewException("builtins", "KeyError", "k").
func NewException(module, name string, args ...any) *Exception {
	if args == nil {
		args = []any{}
	}
	return &Exception{Class: pickle.Global{Module: module, Name: name}, Args: pickle.Tuple(args)}
}

// Error returns the class name and the message as Python prints them, such
// as "KeyError: 'k'".
func (e *Exception) Error() string {
	msg := ""
	switch len(e.Args) {
	case 0:
	case 1:
		if s, ok := pyString(e.Args[0]); ok {
			msg = s
			if e.Class.Name == "KeyError" {
				msg = repr(e.Args[0])
			}
		} else {
			msg = repr(e.Args[0])
		}
	default:
		msg = repr(e.Args)
	}
	if msg == "" {
		return e.Class.Name
	}
	return e.Class.Name + ": " + msg
}

// Is reports whether target is a sentinel naming e's class (see
// [ErrEmpty]), or an *Exception of the same class.
func (e *Exception) Is(target error) bool {
	if c, ok := target.(*classError); ok {
		for _, g := range c.classes {
			if g == e.Class {
				return true
			}
		}
		return false
	}
	if t, ok := target.(*Exception); ok {
		return t.Class == e.Class
	}
	return false
}

// MarshalPickle returns the exception as CPython pickles one:
// REDUCE of the class with the args (or the received form, unchanged).
func (e *Exception) MarshalPickle() (any, error) {
	if e.Value != nil {
		return e.Value, nil
	}
	return &pickle.Object{Kind: pickle.Reduce, Callable: e.Class, Args: e.Args}, nil
}

// exceptionFrom reads an exception from its decoded pickle.
func exceptionFrom(v any) *Exception {
	o, ok := v.(*pickle.Object)
	if !ok {
		return &Exception{Class: pickle.Global{Module: "builtins", Name: "Exception"}, Args: pickle.Tuple{v}}
	}
	e := &Exception{Value: o, Args: o.Args}
	if g, ok := o.Callable.(pickle.Global); ok {
		e.Class = g
	}
	// Exceptions with state (such as OSError subclasses) keep their args
	// in the state when REDUCE had none.
	if len(e.Args) == 0 && o.HasState {
		if d, ok := o.State.(*pickle.Dict); ok {
			if a, ok := d.Get("args"); ok {
				if t, ok := a.(pickle.Tuple); ok {
					e.Args = t
				}
			}
		}
	}
	return e
}

// classError is a sentinel that matches exceptions of some classes.
type classError struct {
	name    string
	classes []pickle.Global
}

func (c *classError) Error() string { return "managers: " + c.name }

func classes(names ...string) []pickle.Global {
	var gs []pickle.Global
	for _, n := range names {
		i := strings.LastIndexByte(n, '.')
		gs = append(gs, pickle.Global{Module: n[:i], Name: n[i+1:]})
	}
	return gs
}

// Sentinels matching remote exceptions by class with errors.Is. Each
// lists the names the class has in the Python versions that pickle it
// (queue.Empty is _queue.Empty in CPython 3.7 and later, Queue.Empty in
// Python 2).
var (
	ErrEmpty         error = &classError{"queue.Empty", classes("_queue.Empty", "queue.Empty", "Queue.Empty")}
	ErrFull          error = &classError{"queue.Full", classes("queue.Full", "Queue.Full")}
	ErrKey           error = &classError{"KeyError", classes("builtins.KeyError", "exceptions.KeyError")}
	ErrIndex         error = &classError{"IndexError", classes("builtins.IndexError", "exceptions.IndexError")}
	ErrBrokenBarrier error = &classError{"threading.BrokenBarrierError", classes("threading.BrokenBarrierError")}
	ErrStopIteration error = &classError{"StopIteration", classes("builtins.StopIteration", "exceptions.StopIteration")}
)

// RemoteError is a failure a manager server reported as text: the reply
// ('#TRACEBACK', text), for an exception raised outside the object's
// method (an unknown id or method, a failed create), or
// ('#UNSERIALIZABLE', text), for a result the server could not pickle.
// CPython's client raises multiprocessing.managers.RemoteError for both.
type RemoteError struct {
	Kind      string // "#TRACEBACK" or "#UNSERIALIZABLE"
	Traceback string // the server's text, usually a Python traceback
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("managers: remote error (%s):\n%s", e.Kind, strings.TrimRight(e.Traceback, "\n"))
}

// LastLine returns the traceback's last non-empty line, which names the
// exception, such as "KeyError: 'abc'".
func (e *RemoteError) LastLine() string {
	lines := strings.Split(strings.TrimRight(e.Traceback, "\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
