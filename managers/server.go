package managers

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/mpconn/mpconn"
	"github.com/mpconn/mpconn/pickle"
)

// ServerOptions configures a Server. The zero value (or nil) gives the
// defaults. The limits bound what clients can make the server hold: at
// most MaxConns connections, each message at most MaxMessageSize bytes,
// at most MaxObjects objects of at most MaxItems items each.
type ServerOptions struct {
	// MaxObjects bounds the number of shared objects; a create beyond it
	// fails with MemoryError. Zero means 100000.
	MaxObjects int
	// MaxItems bounds the items of one queue, list, dict, namespace or
	// array; an insertion beyond it raises MemoryError. Zero means
	// 1000000.
	MaxItems int
	// MaxMessageSize bounds a request, in bytes; a longer one ends its
	// connection. Zero means 64 MiB.
	MaxMessageSize int
	// MaxConns bounds the connections served at once; further clients are
	// closed at once. Zero means 4096.
	MaxConns int
	// Logf, if set, receives diagnostics (failed handshakes, dropped
	// connections).
	Logf func(format string, args ...any)
}

// Server serves shared objects to Python manager clients
// (multiprocessing.managers.BaseManager.connect and the proxies it makes)
// and to Go Clients, speaking CPython's manager protocol.
//
// NewServer registers SyncManager's typeids (see the package
// documentation); Register adds more, with Go methods. Serve answers the
// clients of a Listener, which must authenticate with the manager's key.
//
// A Server is safe for concurrent use.
type Server struct {
	opts ServerOptions

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slots  chan struct{}

	mu      sync.Mutex
	types   map[string]*Type
	objs    map[string]*entry
	byObj   map[Object]string
	next    uint64
	address any
	conns   map[*mpconn.Conn]struct{}
	local   map[string]*entry // objects with no reference left but a stored proxy (pinStoredProxies)
	nconn   uint64

	// The event loops serving method calls (eventLoop, on Linux); none elsewhere.
	//lint:ignore U1000 used on Linux only
	loopOnce sync.Once
	//lint:ignore U1000 used on Linux only
	loops []*eventLoop
}

// entry is one shared object.
type entry struct {
	obj     Object
	typeid  string
	exposed []string
	isExp   map[string]bool
	m2t     map[string]string
	refs    int
	pinned  bool // a proxy of it is stored in the server (pinStoredProxies)
}

// NewServer returns a Server with the typeids of CPython's SyncManager.
func NewServer(opts *ServerOptions) *Server {
	s := &Server{types: map[string]*Type{}, objs: map[string]*entry{}, byObj: map[Object]string{}, conns: map[*mpconn.Conn]struct{}{}, local: map[string]*entry{}}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.MaxObjects <= 0 {
		s.opts.MaxObjects = 100000
	}
	if s.opts.MaxItems <= 0 {
		s.opts.MaxItems = 1000000
	}
	if s.opts.MaxMessageSize <= 0 {
		s.opts.MaxMessageSize = 64 << 20
	}
	if s.opts.MaxConns <= 0 {
		s.opts.MaxConns = 4096
	}
	s.slots = make(chan struct{}, s.opts.MaxConns)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.next = 0x7f3a00001000
	registerSync(s)
	return s
}

// Register adds (or replaces) a typeid.
func (s *Server) Register(typeid string, t Type) error {
	if typeid == "" {
		return errors.New("managers: empty typeid")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tc := t
	s.types[typeid] = &tc
	return nil
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// Serve accepts clients of l and serves them until ctx ends, Close is
// called, or a client asks for shutdown; then it returns (nil after Close
// or a shutdown, ctx's error otherwise). It does not close l. Clients
// that fail the handshake are logged and ignored.
func (s *Server) Serve(ctx context.Context, l *mpconn.Listener) error {
	s.mu.Lock()
	s.address = pythonAddress(l.Addr())
	s.mu.Unlock()
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	for {
		conn, err := l.Accept(actx)
		if err != nil {
			var he *mpconn.HandshakeError
			if errors.As(err, &he) {
				s.logf("managers: %v", err)
				continue
			}
			if s.ctx.Err() != nil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.logf("managers: connection limit (%d) reached, closing a client", s.opts.MaxConns)
			conn.Close()
			continue
		}
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			conn.Close()
			<-s.slots
			return nil
		}
		s.conns[conn] = struct{}{}
		s.nconn++
		caller := "conn-" + strconv.FormatUint(s.nconn, 10)
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			adopted := false
			defer func() {
				if !adopted {
					<-s.slots
				}
			}()
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				conn.Close()
			}()
			adopted = s.handle(conn, caller)
		}()
	}
}

// Close stops the server: Serve returns, blocked calls return, every
// connection is closed. It waits for the connections' goroutines.
func (s *Server) Close() error {
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Done returns a channel closed when the server stops (Close, or a
// client's shutdown request).
func (s *Server) Done() <-chan struct{} { return s.ctx.Done() }

// request is a decoded request.
type request struct {
	ident  any
	method string
	args   pickle.Tuple
	kwargs *pickle.Dict
	proto  int
	msg    []byte // the request's pickle
}

// parseRequest reads (ident, methodname, args, kwds), reporting malformed
// input as the exception CPython's unpacking raises.
func (s *Server) parseRequest(msg []byte) (*request, *Exception) {
	r := &request{proto: pickle.Protocol(msg), msg: msg}
	if r.proto < 2 {
		r.proto = 2
	}
	var v any
	d := pickle.NewBytesDecoder(msg)
	d.SetLimits(pickle.Limits{MaxItems: s.opts.MaxItems + 16})
	if err := d.Decode(&v); err != nil {
		return r, NewException("_pickle", "UnpicklingError", err.Error())
	}
	t, ok := v.(pickle.Tuple)
	if !ok {
		if l, isList := v.([]any); isList {
			t, ok = pickle.Tuple(l), true
		}
	}
	if !ok {
		return r, typeError("cannot unpack non-iterable %s object", typeName(v))
	}
	if len(t) != 4 {
		if len(t) > 4 {
			return r, valueError("too many values to unpack (expected 4)")
		}
		return r, valueError("not enough values to unpack (expected 4, got %d)", len(t))
	}
	r.ident = t[0]
	if id, ok := pyString(t[0]); ok {
		r.ident = id
	}
	m, ok := pyString(t[1])
	if !ok {
		return r, typeError("method name must be str, not %s", typeName(t[1]))
	}
	r.method = m
	switch a := t[2].(type) {
	case pickle.Tuple:
		r.args = a
	case []any:
		r.args = a
	case nil:
		return r, typeError("argument after * must be an iterable, not NoneType")
	default:
		return r, typeError("argument after * must be an iterable, not %s", typeName(t[2]))
	}
	switch k := t[3].(type) {
	case *pickle.Dict:
		for _, it := range k.Items() {
			if _, ok := pyString(it.Key); !ok {
				return r, typeError("keywords must be strings")
			}
		}
		r.kwargs = k
	default:
		return r, typeError("argument after ** must be a mapping, not %s", typeName(t[3]))
	}
	return r, nil
}

// traceback formats an exception as CPython's format_exc text.
func traceback(where string, e *Exception) string {
	return "Traceback (most recent call last):\n  File \"mpconn/managers\", in " + where + "\n" + e.Error() + "\n"
}

// send pickles and sends a reply; a result that cannot be pickled gives
// '#UNSERIALIZABLE', as in CPython.
func (s *Server) send(conn *mpconn.Conn, proto int, kind string, v any) error {
	msg, err := s.appendReply(nil, proto, kind, v)
	if err != nil {
		return err
	}
	// (No context: Close unblocks the connections by closing them, and a
	// cancellable context costs each call a registration.)
	return conn.SendBytes(context.Background(), msg)
}

// appendReply appends the pickle of a reply to dst; a result that cannot
// be pickled gives '#UNSERIALIZABLE', as in CPython.
func (s *Server) appendReply(dst []byte, proto int, kind string, v any) ([]byte, error) {
	if text, ok := v.(string); ok && proto == 2 && kind != "#RETURN" {
		// Protocol 2 requests come from Python 2, whose client asserts
		// the text of a traceback is a str (a byte string there).
		v = pickle.ByteString(text)
	}
	msg, err := pickle.AppendMarshal(dst, pickle.Tuple{kind, v}, proto)
	if err != nil {
		msg, err = pickle.AppendMarshal(dst, pickle.Tuple{"#UNSERIALIZABLE",
			traceback("send", NewException("_pickle", "PicklingError", err.Error()))}, proto)
	}
	return msg, err
}

var publicMethods = map[string]bool{
	"shutdown": true, "create": true, "accept_connection": true, "get_methods": true,
	"debug_info": true, "number_of_objects": true, "dummy": true, "incref": true, "decref": true,
}

// handle serves one connection: one control request, or, after
// accept_connection, method calls. It reports whether the event loop took
// the connection over (eventLoop, Server.adopt): the loop then has its own copy of the
// descriptor and the connection's slot, and conn may be closed.
func (s *Server) handle(conn *mpconn.Conn, caller string) (adopted bool) {
	msg, err := conn.RecvBytesMax(context.Background(), s.opts.MaxMessageSize)
	if err != nil {
		return false
	}
	req, exc := s.parseRequest(msg)
	if exc == nil && !publicMethods[req.method] {
		exc = NewException("builtins", "AssertionError", strRepr(req.method)+" unrecognized")
	}
	if exc != nil {
		s.send(conn, req.proto, "#TRACEBACK", traceback("handle_request", exc))
		return false
	}
	if req.method == "accept_connection" {
		if s.send(conn, req.proto, "#RETURN", nil) != nil {
			return false
		}
		if s.adopt(conn, caller) {
			return true
		}
		s.serveClient(conn, caller)
		return false
	}
	res, err := s.control(req)
	if err != nil {
		var e *Exception
		if !errors.As(err, &e) {
			e = NewException("builtins", "RuntimeError", err.Error())
		}
		s.send(conn, req.proto, "#TRACEBACK", traceback(req.method, e))
		return false
	}
	s.send(conn, req.proto, "#RETURN", res)
	if req.method == "shutdown" {
		s.cancel()
	}
	return false
}

// control runs a control request.
func (s *Server) control(req *request) (any, error) {
	args := req.args
	nargs := func(n int) error {
		if len(args) != n || req.kwargs.Len() != 0 {
			return typeError("%s() takes %d positional arguments but %d were given", req.method, n+2, len(args)+2)
		}
		return nil
	}
	switch req.method {
	case "dummy", "shutdown":
		return nil, nargs(0)
	case "number_of_objects":
		if err := nargs(0); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.objs), nil
	case "debug_info":
		if err := nargs(0); err != nil {
			return nil, err
		}
		return s.debugInfo(), nil
	case "create":
		if len(args) < 1 {
			return nil, typeError("create() missing 1 required positional argument: 'typeid'")
		}
		typeid, ok := pyString(args[0])
		if !ok {
			return nil, NewException("builtins", "KeyError", args[0])
		}
		id, exposed, err := s.create(typeid, args[1:], req.kwargs, nil)
		if err != nil {
			return nil, err
		}
		s.pinStoredProxies(req.msg, args[1:], req.kwargs)
		return pickle.Tuple{id, stringsTuple(exposed)}, nil
	case "get_methods":
		if err := nargs(1); err != nil {
			return nil, err
		}
		tok, err := tokenFrom(args[0])
		if err != nil {
			return nil, NewException("builtins", "AttributeError", err.Error())
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		e, ok := s.objs[tok.ID]
		if !ok {
			return nil, NewException("builtins", "KeyError", tok.ID)
		}
		return stringsTuple(e.exposed), nil
	case "incref", "decref":
		if err := nargs(1); err != nil {
			return nil, err
		}
		id, _ := pyString(args[0])
		s.mu.Lock()
		defer s.mu.Unlock()
		e, ok := s.objs[id]
		if !ok {
			if le, isLocal := s.local[id]; isLocal {
				if req.method == "incref" {
					// A stored proxy read back: the object is tracked again.
					delete(s.local, id)
					le.refs = 1
					s.objs[id] = le
				}
				return nil, nil
			}
			return nil, NewException("builtins", "KeyError", args[0])
		}
		if req.method == "incref" {
			e.refs++
			return nil, nil
		}
		if e.refs <= 0 {
			return nil, NewException("builtins", "AssertionError", fmt.Sprintf("Id %s has refcount %d, not 1+", id, e.refs))
		}
		e.refs--
		if e.refs == 0 {
			s.dispose(id, e)
		}
		return nil, nil
	}
	return nil, NewException("builtins", "AssertionError", strRepr(req.method)+" unrecognized")
}

func stringsTuple(ss []string) pickle.Tuple {
	t := make(pickle.Tuple, len(ss))
	for i, s := range ss {
		t[i] = s
	}
	return t
}

// dispose forgets an object whose last reference went; s.mu is held.
func (s *Server) dispose(id string, e *entry) {
	delete(s.objs, id)
	if e.pinned {
		s.local[id] = e
		return
	}
	if comparable(e.obj) && s.byObj[e.obj] == id {
		delete(s.byObj, e.obj)
	}
	if c, ok := e.obj.(interface{ close() }); ok {
		c.close()
	}
}

func comparable(o Object) bool {
	return o != nil && reflect.TypeOf(o).Comparable()
}

// create makes (or, with obj, registers) an object of typeid and counts
// one reference for the caller, as CPython's Server.create does.
func (s *Server) create(typeid string, args pickle.Tuple, kwargs *pickle.Dict, obj Object) (string, []string, error) {
	s.mu.Lock()
	t, ok := s.types[typeid]
	s.mu.Unlock()
	if !ok {
		return "", nil, NewException("builtins", "KeyError", typeid)
	}
	if obj == nil {
		if t.New == nil {
			if len(args) != 1 || kwargs.Len() != 0 {
				return "", nil, valueError("Without callable, must have one non-keyword argument")
			}
			o, ok := args[0].(Object)
			if !ok {
				return "", nil, typeError("typeid %s cannot be created by clients", strRepr(typeid))
			}
			obj = o
		} else {
			s.mu.Lock()
			full := len(s.objs)+len(s.local) >= s.opts.MaxObjects
			s.mu.Unlock()
			if full {
				return "", nil, NewException("builtins", "MemoryError", fmt.Sprintf("mpconn manager: limit of %d shared objects reached", s.opts.MaxObjects))
			}
			o, err := t.New(s.ctx, args, kwargs)
			if err != nil {
				return "", nil, err
			}
			obj = o
		}
	}
	exposed := t.Exposed
	if exposed == nil {
		if m, ok := obj.(Methods); ok {
			exposed = m.names()
		}
	}
	exposed = append([]string(nil), exposed...)
	for m := range t.MethodToTypeID {
		if indexOf(exposed, m) < 0 {
			exposed = append(exposed, m)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.objs)+len(s.local) >= s.opts.MaxObjects {
		return "", nil, NewException("builtins", "MemoryError", fmt.Sprintf("mpconn manager: limit of %d shared objects reached", s.opts.MaxObjects))
	}
	var id string
	if comparable(obj) {
		id = s.byObj[obj]
	}
	e := s.objs[id]
	if e == nil && id != "" {
		if e = s.local[id]; e != nil {
			delete(s.local, id)
			s.objs[id] = e
		}
	}
	if id == "" || e == nil {
		s.next += 0x30
		id = strconv.FormatUint(s.next, 16)
		e = &entry{obj: obj, typeid: typeid}
		s.objs[id] = e
		if comparable(obj) {
			s.byObj[obj] = id
		}
	}
	e.exposed, e.isExp, e.m2t = exposed, exposedSet(exposed), t.MethodToTypeID
	e.refs++
	return id, exposed, nil
}

func (s *Server) debugInfo() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.objs))
	for id := range s.objs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var lines []string
	for _, id := range ids {
		e := s.objs[id]
		desc := "<" + e.typeid + " object>"
		if r, ok := e.obj.(Reprer); ok {
			desc = r.PyRepr()
		}
		if len(desc) > 75 {
			desc = desc[:75]
		}
		lines = append(lines, fmt.Sprintf("  %s:       refcount=%d\n    %s", id, e.refs, desc))
	}
	return strings.Join(lines, "\n")
}

// lookup finds a shared object.
func (s *Server) lookup(id any) (*entry, bool) {
	sid, _ := pyString(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.objs[sid]
	if !ok {
		e, ok = s.local[sid]
	}
	return e, ok
}

// resolveProxy returns the served object a pickled proxy of this server
// refers to (a Condition's lock, for instance), or nil.
func (s *Server) resolveProxy(v any) Object {
	tok, _, err := ProxyFromPickle(v)
	if err != nil {
		return nil
	}
	e, ok := s.lookup(tok.ID)
	if !ok {
		return nil
	}
	return e.obj
}

// serveClient runs method calls from one connection until it closes, as
// CPython's Server.serve_client does.
func (s *Server) serveClient(conn *mpconn.Conn, caller string) {
	for {
		msg, err := conn.RecvBytesMax(context.Background(), s.opts.MaxMessageSize)
		if err != nil {
			return
		}
		kind, res := s.serveOne(msg, caller)
		if s.send(conn, s.replyProto(msg), kind, res) != nil {
			return
		}
	}
}

func (s *Server) replyProto(msg []byte) int {
	p := pickle.Protocol(msg)
	if p < 2 {
		p = 2
	}
	return p
}

// serveOne runs one method call and returns the reply's kind and value.
func (s *Server) serveOne(msg []byte, caller string) (string, any) {
	p, kind, res := s.prepare(msg, caller)
	if p == nil {
		return kind, res
	}
	return s.exec(s.ctx, p)
}

// methodCall is a method call ready to run.
type methodCall struct {
	e    *entry
	call Call
}

// prepare parses a method call and finds its object. When the request is
// answered without calling a method (a malformed request, an unknown
// object or method, a fallback), p is nil and kind and res are the reply.
func (s *Server) prepare(msg []byte, caller string) (p *methodCall, kind string, res any) {
	req, exc := s.parseRequest(msg)
	if exc != nil {
		return nil, "#TRACEBACK", traceback("serve_client", exc)
	}
	e, ok := s.lookup(req.ident)
	if !ok {
		return nil, "#TRACEBACK", traceback("serve_client", NewException("builtins", "KeyError", req.ident))
	}
	s.pinStoredProxies(msg, req.args, req.kwargs)
	if !e.isExp[req.method] {
		switch req.method {
		case "__repr__", "__str__":
			if r, ok := e.obj.(Reprer); ok {
				return nil, "#RETURN", r.PyRepr()
			}
			return nil, "#RETURN", "<" + e.typeid + " object>"
		case "#GETVALUE":
			if v, ok := e.obj.(Valuer); ok {
				val, err := v.GetValue()
				if err == nil {
					return nil, "#RETURN", val
				}
				return nil, "#TRACEBACK", traceback("fallback_getvalue", asException(err))
			}
			return nil, "#TRACEBACK", traceback("fallback_getvalue", NewException("_pickle", "PicklingError", "mpconn manager: "+e.typeid+" objects cannot be copied"))
		}
		return nil, "#TRACEBACK", traceback("serve_client",
			NewException("builtins", "AttributeError", fmt.Sprintf("method %s of %s object is not in exposed=%s", strRepr(req.method), e.typeid, exposedRepr(e.exposed))))
	}
	return &methodCall{e: e, call: Call{Method: req.method, Args: req.args, Kwargs: req.kwargs, Caller: caller}}, "", nil
}

// exec runs a prepared method call and returns the reply's kind and
// value. Under an inlineContext (a call the event loop runs itself), a
// call that would wait returns errWouldBlock before doing anything.
func (s *Server) exec(ctx context.Context, p *methodCall) (string, any) {
	e, method := p.e, p.call.Method
	res, err := e.obj.CallMethod(ctx, &p.call)
	if err != nil {
		if err == errWouldBlock {
			return "", errWouldBlock
		}
		var re *RemoteError
		if errors.As(err, &re) {
			return "#TRACEBACK", re.Traceback
		}
		return "#ERROR", asException(err)
	}
	if typeid := e.m2t[method]; typeid != "" {
		o, ok := res.(Object)
		if !ok {
			return "#TRACEBACK", traceback("serve_client", typeError("method %s returned %T, not a shared object", method, res))
		}
		id, exposed, err := s.create(typeid, nil, pickle.NewDict(), o)
		if err != nil {
			return "#TRACEBACK", traceback("create", asException(err))
		}
		s.mu.Lock()
		addr := s.address
		s.mu.Unlock()
		return "#PROXY", pickle.Tuple{stringsTuple(exposed), Token{TypeID: typeid, Address: addr, ID: id}}
	}
	return "#RETURN", res
}

func asException(err error) *Exception {
	var e *Exception
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.Canceled) {
		return NewException("builtins", "EOFError", "mpconn manager: server is closing")
	}
	return NewException("builtins", "RuntimeError", err.Error())
}
