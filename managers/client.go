package managers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/pickle"
)

// ClientOptions configures a Client. The zero value (or nil) gives the
// defaults.
type ClientOptions struct {
	// AuthKey is the manager's authentication key. Nil means mpconn.AuthKey(),
	// the process's key, as CPython's BaseManager uses
	// current_process().authkey when given none.
	AuthKey []byte

	// Protocol is the pickle protocol of requests (2 to 5). Zero means
	// 4, which CPython 3.4 and later read, and 2 when the server turns
	// out to be Python 2's: Dial's first request then comes back with
	// "unsupported pickle protocol" and is sent again at 2.
	Protocol int

	// MaxIdle is the number of idle connections kept for method calls.
	// Zero means 16; negative keeps none.
	MaxIdle int

	// Dial configures the connections (TLS, digest, timeouts); its
	// AuthKey is replaced by the one above.
	Dial *mpconn.DialOptions
}

// Client is a connection to a manager server: CPython's BaseManager or
// SyncManager (started with start(), get_server().serve_forever() or
// serve_forever on a registered subclass), billiard's, or a [Server].
//
// Control requests (create, incref, decref, ...) each use a connection of
// their own, as in CPython. Method calls go over connections that were
// handed to the server's method loop with accept_connection; CPython keeps
// one per thread, a Client keeps a pool: a call takes an idle connection
// (or opens one), and gives it back when the reply has arrived, so calls
// from many goroutines run side by side on as many connections.
//
// A Client is safe for concurrent use.
type Client struct {
	address string
	pyAddr  any
	dopts   mpconn.DialOptions
	proto   int
	maxIdle int

	mu     sync.Mutex
	idle   []*mpconn.Conn
	closed bool
	nconn  atomic.Int64
}

// Dial connects to the manager server at address (see mpconn.ParseAddress
// for the forms) and checks it answers, as BaseManager.connect does
// (a 'dummy' request).
func Dial(ctx context.Context, address string, opts *ClientOptions) (*Client, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	c := &Client{address: address, proto: o.Protocol, maxIdle: o.MaxIdle}
	if c.proto == 0 {
		c.proto = pickle.DefaultProtocol
	}
	if c.proto < 2 || c.proto > pickle.HighestProtocol {
		return nil, fmt.Errorf("managers: pickle protocol %d not supported", c.proto)
	}
	if c.maxIdle == 0 {
		c.maxIdle = 16
	}
	if o.Dial != nil {
		c.dopts = *o.Dial
	}
	c.dopts.AuthKey = o.AuthKey
	if c.dopts.AuthKey == nil {
		c.dopts.AuthKey = mpconn.AuthKey()
	}
	err := c.dummy(ctx)
	var re *RemoteError
	if o.Protocol == 0 && errors.As(err, &re) && strings.HasPrefix(re.LastLine(), "ValueError: unsupported pickle protocol:") {
		// A Python 2 server: it reads protocol 2 at most.
		c.proto = 2
		err = c.dummy(ctx)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// dummy sends the 'dummy' request BaseManager.connect sends, on a
// connection of its own, and notes the server's address.
func (c *Client) dummy(ctx context.Context) error {
	conn, err := mpconn.Dial(ctx, c.address, &c.dopts)
	if err != nil {
		return err
	}
	defer conn.Close()
	c.pyAddr = pythonAddress(conn.RemoteAddr())
	_, err = c.dispatch(ctx, conn, nil, "dummy", nil, nil)
	return err
}

// Address returns the server's address as CPython's Token holds it: a
// (host, port) Tuple or a socket path.
func (c *Client) Address() any { return c.pyAddr }

// Close closes the idle connections. Proxies are not closed: close them
// first so that the server can release their objects.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.closed = true
	c.mu.Unlock()
	for _, conn := range idle {
		conn.Close()
	}
	return nil
}

// request is what every request pickles as: (ident or None, method, args, kwds).
func (c *Client) encodeRequest(ident any, method string, args pickle.Tuple, kwargs *pickle.Dict) ([]byte, error) {
	if args == nil {
		args = pickle.Tuple{}
	}
	if kwargs == nil {
		kwargs = pickle.NewDict()
	}
	return pickle.MarshalProtocol(pickle.Tuple{ident, method, args, kwargs}, c.proto)
}

// dispatch sends one request over conn and reads the reply, returning the
// value of a '#RETURN' and the error of any other kind; a '#PROXY' reply is
// returned as its (exposed, token) Tuple with errProxyReply.
func (c *Client) dispatch(ctx context.Context, conn *mpconn.Conn, ident any, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	req, err := c.encodeRequest(ident, method, args, kwargs)
	if err != nil {
		return nil, err
	}
	if err := conn.SendBytes(ctx, req); err != nil {
		return nil, err
	}
	msg, err := conn.RecvBytes(ctx)
	if err != nil {
		return nil, err
	}
	return decodeReply(msg)
}

// errProxyReply marks a '#PROXY' reply.
var errProxyReply = errors.New("managers: #PROXY reply")

// decodeReply reads a reply (kind, result).
func decodeReply(msg []byte) (any, error) {
	var v any
	if err := pickle.Unmarshal(msg, &v); err != nil {
		return nil, fmt.Errorf("managers: bad reply: %w", err)
	}
	t, ok := v.(pickle.Tuple)
	if !ok || len(t) != 2 {
		return nil, fmt.Errorf("managers: bad reply: not a (kind, result) pair")
	}
	kind, _ := pyString(t[0])
	switch kind {
	case "#RETURN":
		return t[1], nil
	case "#PROXY":
		return t[1], errProxyReply
	case "#ERROR":
		return nil, exceptionFrom(t[1])
	case "#TRACEBACK", "#UNSERIALIZABLE":
		s, ok := pyString(t[1])
		if !ok {
			s = repr(t[1])
		}
		return nil, &RemoteError{Kind: kind, Traceback: s}
	}
	return nil, fmt.Errorf("managers: bad reply kind %q", kind)
}

// control sends a control request (ident None) over a connection of its
// own, as CPython's dispatch does.
func (c *Client) control(ctx context.Context, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	conn, err := mpconn.Dial(ctx, c.address, &c.dopts)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return c.dispatch(ctx, conn, nil, method, args, kwargs)
}

// getConn returns an idle method-call connection, or opens one.
func (c *Client) getConn(ctx context.Context) (*mpconn.Conn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("managers: client closed: %w", net.ErrClosed)
	}
	if n := len(c.idle); n > 0 {
		conn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return conn, nil
	}
	c.mu.Unlock()
	conn, err := mpconn.Dial(ctx, c.address, &c.dopts)
	if err != nil {
		return nil, err
	}
	// CPython names the server thread after the client's process and thread.
	name := "MpconnGo-" + strconv.Itoa(os.Getpid()) + "|conn-" + strconv.FormatInt(c.nconn.Add(1), 10)
	if _, err := c.dispatch(ctx, conn, nil, "accept_connection", pickle.Tuple{name}, nil); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// putConn gives back a connection whose last reply was read whole.
func (c *Client) putConn(conn *mpconn.Conn) {
	c.mu.Lock()
	if !c.closed && len(c.idle) < c.maxIdle {
		c.idle = append(c.idle, conn)
		conn = nil
	}
	c.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

// callMethod calls method on the object ident over a pooled connection.
// A connection whose exchange failed (I/O error, cancelled context) is
// closed, not reused: its reply may still be on the way.
func (c *Client) callMethod(ctx context.Context, ident string, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	conn, err := c.getConn(ctx)
	if err != nil {
		return nil, err
	}
	req, err := c.encodeRequest(ident, method, args, kwargs)
	if err != nil {
		c.putConn(conn)
		return nil, err
	}
	if err := conn.SendBytes(ctx, req); err != nil {
		conn.Close()
		return nil, err
	}
	msg, err := conn.RecvBytes(ctx)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c.putConn(conn)
	res, err := decodeReply(msg)
	if err == errProxyReply {
		return c.proxyFromReply(res)
	}
	return res, err
}

// proxyFromReply makes the Proxy of a '#PROXY' reply (exposed, token); the
// server has counted a reference for it, which the Proxy now holds.
func (c *Client) proxyFromReply(v any) (*Proxy, error) {
	t, ok := v.(pickle.Tuple)
	if !ok || len(t) != 2 {
		return nil, fmt.Errorf("managers: bad #PROXY reply")
	}
	tok, err := tokenFrom(t[1])
	if err != nil {
		return nil, err
	}
	tok.Address = c.pyAddr
	return newProxy(c, tok, stringList(t[0])), nil
}

// stringList reads a list or tuple of str.
func stringList(v any) []string {
	var items []any
	switch x := v.(type) {
	case pickle.Tuple:
		items = x
	case []any:
		items = x
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := pyString(it); ok {
			out = append(out, s)
		}
	}
	return out
}

// Create creates a shared object of the registered typeid with args, as
// calling manager.TYPEID(*args) does in Python, and returns its Proxy,
// which holds a reference to it until Close.
func (c *Client) Create(ctx context.Context, typeid string, args ...any) (*Proxy, error) {
	return c.CreateKw(ctx, typeid, pickle.Tuple(args), nil)
}

// CreateKw is Create with keyword arguments.
func (c *Client) CreateKw(ctx context.Context, typeid string, args pickle.Tuple, kwargs *pickle.Dict) (*Proxy, error) {
	full := append(pickle.Tuple{typeid}, args...)
	res, err := c.control(ctx, "create", full, kwargs)
	if err != nil {
		return nil, err
	}
	t, ok := res.(pickle.Tuple)
	if !ok || len(t) != 2 {
		return nil, fmt.Errorf("managers: bad reply to create")
	}
	id, ok := pyString(t[0])
	if !ok {
		return nil, fmt.Errorf("managers: bad object id in reply to create")
	}
	// CPython's client increfs for the new proxy and then decrefs the
	// server's reference from create; holding that reference instead
	// leaves the count the same.
	return newProxy(c, Token{TypeID: typeid, Address: c.pyAddr, ID: id}, stringList(t[1])), nil
}

// ProxyFor returns a Proxy for a shared object of the server given its
// token, such as one from a proxy a Python peer pickled (see
// [ProxyFromPickle]), counting a reference for it (incref) as CPython's
// RebuildProxy does. exposed may be nil.
func (c *Client) ProxyFor(ctx context.Context, tok Token, exposed []string) (*Proxy, error) {
	if _, err := c.control(ctx, "incref", pickle.Tuple{tok.ID}, nil); err != nil {
		return nil, err
	}
	tok.Address = c.pyAddr
	return newProxy(c, tok, exposed), nil
}

// NumberOfObjects returns the number of shared objects the server holds.
func (c *Client) NumberOfObjects(ctx context.Context) (int, error) {
	res, err := c.control(ctx, "number_of_objects", nil, nil)
	if err != nil {
		return 0, err
	}
	n, ok := res.(int64)
	if !ok {
		return 0, fmt.Errorf("managers: bad reply to number_of_objects: %T", res)
	}
	return int(n), nil
}

// DebugInfo returns the server's description of its objects and their
// reference counts.
func (c *Client) DebugInfo(ctx context.Context) (string, error) {
	res, err := c.control(ctx, "debug_info", nil, nil)
	if err != nil {
		return "", err
	}
	s, _ := pyString(res)
	return s, nil
}

// Shutdown asks the server to stop.
func (c *Client) Shutdown(ctx context.Context) error {
	_, err := c.control(ctx, "shutdown", nil, nil)
	return err
}
