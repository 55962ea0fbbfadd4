package managers

import (
	"bytes"

	"github.com/mpconn/mpconn/pickle"
)

// Proxies stored in the server's objects (a Queue proxy put in a dict,
// lists of dicts) are kept as their pickles. Like CPython 3.9 and later
// (id_to_local_proxy_obj), the server then keeps the objects they refer to
// after the clients' last reference goes, and a client that reads the
// stored proxy back (incref) revives them.

var rebuildProxyName = []byte("RebuildProxy")

// pinStoredProxies marks the objects of this server that proxies inside a
// request's arguments refer to. msg is the request's pickle: most have no
// proxy, which a byte search tells cheaply.
func (s *Server) pinStoredProxies(msg []byte, args pickle.Tuple, kwargs *pickle.Dict) {
	if !bytes.Contains(msg, rebuildProxyName) {
		return
	}
	var ids []string
	seen := map[any]bool{}
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 200 {
			return
		}
		switch x := v.(type) {
		case []any:
			if len(x) > 0 {
				if seen[&x[0]] {
					return
				}
				seen[&x[0]] = true
			}
			for _, e := range x {
				walk(e, depth+1)
			}
		case pickle.Tuple:
			for _, e := range x {
				walk(e, depth+1)
			}
		case *pickle.Dict:
			if seen[x] {
				return
			}
			seen[x] = true
			for _, it := range x.Items() {
				walk(it.Value, depth+1)
			}
		case *pickle.Object:
			if seen[x] {
				return
			}
			seen[x] = true
			if tok, _, err := ProxyFromPickle(x); err == nil {
				ids = append(ids, tok.ID)
				return
			}
			walk(x.Args, depth+1)
			walk(x.State, depth+1)
			walk(x.ListItems, depth+1)
			for _, it := range x.DictItems {
				walk(it.Value, depth+1)
			}
		}
	}
	walk(args, 0)
	if kwargs != nil {
		walk(kwargs, 0)
	}
	if len(ids) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if e, ok := s.objs[id]; ok {
			e.pinned = true
		}
	}
}
