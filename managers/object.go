package managers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/mpconn/mpconn/pickle"
)

// Call is one method call on a served object.
type Call struct {
	Method string
	Args   pickle.Tuple
	Kwargs *pickle.Dict // never nil
	// Caller identifies the client connection the call came on, which
	// CPython serves with a thread of its own: ownership (of an RLock,
	// for instance) belongs to it.
	Caller string
}

// Object is a shared object a [Server] serves. CallMethod runs one
// exposed method and returns its result, which must be picklable; an
// *Exception error is raised in the Python client as that exception
// (('#ERROR', exc)), any other error as a RuntimeError with its text.
//
// Calls come from many connections at once: CallMethod must be safe for
// concurrent use. A call that blocks (waiting for a queue item, say)
// blocks only the connection it came on; it must return when ctx ends
// (the server is closing).
type Object interface {
	CallMethod(ctx context.Context, call *Call) (any, error)
}

// Reprer is implemented by Objects that have a Python repr, which the
// '__repr__' and '__str__' fallbacks return (str(proxy) in Python).
type Reprer interface {
	PyRepr() string
}

// Valuer is implemented by Objects that can be copied to the client
// whole, by the '#GETVALUE' fallback (proxy._getvalue() in Python).
type Valuer interface {
	GetValue() (any, error)
}

// Type describes a typeid a [Server] serves.
type Type struct {
	// New makes the object for a create request with the client's
	// arguments. It may return the same Object each time (a queue shared
	// by everyone, as BaseManager.register('get_queue', callable=lambda:
	// queue) does); the object then keeps its id. Nil means the typeid
	// cannot be created by clients, only returned by methods
	// (method_to_typeid), like CPython's 'Iterator'.
	New func(ctx context.Context, args pickle.Tuple, kwargs *pickle.Dict) (Object, error)

	// Exposed lists the methods clients may call. Nil means the method
	// names of a Methods object, sorted.
	Exposed []string

	// MethodToTypeID maps methods whose result is returned as a proxy
	// (a '#PROXY' reply) to the typeid of that proxy. The method's result
	// must then be an Object.
	MethodToTypeID map[string]string
}

// Method is one method of a Methods object.
type Method func(ctx context.Context, call *Call) (any, error)

// Methods is an Object made of Go functions, one per method name.
type Methods map[string]Method

// CallMethod runs the function for call.Method.
func (m Methods) CallMethod(ctx context.Context, call *Call) (any, error) {
	f, ok := m[call.Method]
	if !ok {
		return nil, NewException("builtins", "AttributeError",
			fmt.Sprintf("object has no attribute %s", strRepr(call.Method)))
	}
	return f(ctx, call)
}

func (m Methods) names() []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// typeError returns a TypeError exception.
func typeError(format string, a ...any) *Exception {
	return NewException("builtins", "TypeError", fmt.Sprintf(format, a...))
}

// valueError returns a ValueError exception.
func valueError(format string, a ...any) *Exception {
	return NewException("builtins", "ValueError", fmt.Sprintf(format, a...))
}

// Bind matches a call's arguments to parameter names as Python does,
// filling missing trailing ones from defaults (aligned to the end of
// names), and returns a TypeError naming the method otherwise. A default
// of Required marks a parameter without one.
func (c *Call) Bind(names []string, defaults ...any) ([]any, error) {
	out := make([]any, len(names))
	set := make([]bool, len(names))
	if len(c.Args) > len(names) {
		return nil, typeError("%s() takes %d positional arguments but %d were given", c.Method, len(names), len(c.Args))
	}
	for i, a := range c.Args {
		out[i] = a
		set[i] = true
	}
	if c.Kwargs != nil {
		for _, it := range c.Kwargs.Items() {
			k, _ := pyString(it.Key)
			i := indexOf(names, k)
			if i < 0 {
				return nil, typeError("%s() got an unexpected keyword argument %s", c.Method, strRepr(k))
			}
			if set[i] {
				return nil, typeError("%s() got multiple values for argument %s", c.Method, strRepr(k))
			}
			out[i] = it.Value
			set[i] = true
		}
	}
	first := len(names) - len(defaults)
	for i := range names {
		if set[i] {
			continue
		}
		if i < first || defaults[i-first] == Required {
			return nil, typeError("%s() missing required argument: %s", c.Method, strRepr(names[i]))
		}
		out[i] = defaults[i-first]
	}
	return out, nil
}

type required struct{}

// Required marks a parameter without a default in [Call.Bind].
var Required any = required{}

func indexOf(names []string, s string) int {
	for i, n := range names {
		if n == s {
			return i
		}
	}
	return -1
}

// noArgs checks a call has no arguments.
func (c *Call) noArgs() error {
	_, err := c.Bind(nil)
	return err
}

func exposedSet(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func exposedRepr(list []string) string {
	s := make([]string, len(list))
	for i, e := range list {
		s[i] = strRepr(e)
	}
	return "{" + strings.Join(s, ", ") + "}"
}
