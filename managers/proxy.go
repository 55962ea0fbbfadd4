package managers

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/mpconn/mpconn/pickle"
)

// Proxy refers to a shared object on a manager server, as CPython's
// BaseProxy does. It holds one reference to the object, which Close gives
// back (decref); the server disposes of an object when no reference is
// left. A Proxy is safe for concurrent use.
//
// Pickled (as an argument of a call, for instance), a Proxy becomes the
// RebuildProxy(AutoProxy, token, 'pickle', {'exposed': ...}) call CPython's
// proxies pickle as, which a Python peer turns back into a proxy.
type Proxy struct {
	client  *Client
	token   Token
	exposed []string

	mu     sync.Mutex
	closed bool
}

func newProxy(c *Client, tok Token, exposed []string) *Proxy {
	return &Proxy{client: c, token: tok, exposed: exposed}
}

// Token returns the object's token.
func (p *Proxy) Token() Token { return p.token }

// Exposed returns the names of the methods the server lets clients call.
func (p *Proxy) Exposed() []string { return append([]string(nil), p.exposed...) }

func (p *Proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Call calls the method on the shared object with positional args and
// returns its result, decoded as mpconn's Recv decodes into an any (see
// package pickle), or a *Proxy when the method returns a shared object
// (method_to_typeid, such as a dict's __iter__). An exception the method
// raised is an *Exception; a failure outside it (an unexposed method, for
// instance) a *RemoteError.
//
// If ctx ends before the reply arrives, the call returns ctx's error; the
// method may still run on the server, and its result is then lost.
func (p *Proxy) Call(ctx context.Context, method string, args ...any) (any, error) {
	return p.CallKw(ctx, method, pickle.Tuple(args), nil)
}

// CallKw is Call with keyword arguments.
func (p *Proxy) CallKw(ctx context.Context, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	if p.isClosed() {
		return nil, fmt.Errorf("managers: call on closed proxy: %w", net.ErrClosed)
	}
	return p.client.callMethod(ctx, p.token.ID, method, args, kwargs)
}

// CallAs calls the method as [Proxy.Call] does and stores the result in a
// T, converting it as pickle.Unmarshal converts into a T.
func CallAs[T any](ctx context.Context, p *Proxy, method string, args ...any) (T, error) {
	var out T
	res, err := p.Call(ctx, method, args...)
	if err != nil {
		return out, err
	}
	err = convert(res, &out)
	return out, err
}

// convert stores v in *dst as decoding its pickle would.
func convert(v any, dst any) error {
	switch d := dst.(type) {
	case *any:
		*d = v
		return nil
	case **Proxy:
		if px, ok := v.(*Proxy); ok {
			*d = px
			return nil
		}
		return fmt.Errorf("managers: result is %T, not a proxy", v)
	}
	if _, ok := v.(*Proxy); ok {
		return fmt.Errorf("managers: result is a proxy, cannot store it in %T", dst)
	}
	data, err := pickle.Marshal(v)
	if err != nil {
		return err
	}
	return pickle.Unmarshal(data, dst)
}

// GetValue returns a copy of the shared object itself (the '#GETVALUE'
// fallback, BaseProxy._getvalue).
func (p *Proxy) GetValue(ctx context.Context) (any, error) {
	return p.Call(ctx, "#GETVALUE")
}

// Repr returns the Python repr of the shared object (the '__repr__'
// fallback, which str() of a CPython proxy uses).
func (p *Proxy) Repr(ctx context.Context) (string, error) {
	return CallAs[string](ctx, p, "__repr__")
}

// Close gives back the proxy's reference to the object (decref). Later
// calls return an error wrapping net.ErrClosed. Close is idempotent; it
// waits at most 10 seconds for the server.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.client.control(ctx, "decref", pickle.Tuple{p.token.ID}, nil)
	return err
}

var (
	rebuildProxy = pickle.Global{Module: "multiprocessing.managers", Name: "RebuildProxy"}
	autoProxy    = pickle.Global{Module: "multiprocessing.managers", Name: "AutoProxy"}
)

// MarshalPickle returns the proxy as CPython pickles one.
func (p *Proxy) MarshalPickle() (any, error) {
	kw := pickle.NewDict()
	exp := make(pickle.Tuple, len(p.exposed))
	for i, s := range p.exposed {
		exp[i] = s
	}
	if err := kw.Set("exposed", exp); err != nil {
		return nil, err
	}
	return &pickle.Object{
		Kind:     pickle.Reduce,
		Callable: rebuildProxy,
		Args:     pickle.Tuple{autoProxy, p.token, "pickle", kw},
	}, nil
}

// ProxyFromPickle reads a pickled proxy (CPython's RebuildProxy call) and
// returns its token and, when the pickle carries them, the exposed methods.
// Pass them to [Client.ProxyFor] to use the object.
func ProxyFromPickle(v any) (Token, []string, error) {
	o, ok := v.(*pickle.Object)
	if !ok || !managersClass(o, "RebuildProxy") || len(o.Args) != 4 {
		return Token{}, nil, fmt.Errorf("managers: not a pickled proxy: %T", v)
	}
	tok, err := tokenFrom(o.Args[1])
	if err != nil {
		return Token{}, nil, err
	}
	var exposed []string
	if kw, ok := o.Args[3].(*pickle.Dict); ok {
		if e, ok := kw.Get("exposed"); ok {
			exposed = stringList(e)
		}
	}
	return tok, exposed, nil
}
