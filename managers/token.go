package managers

import (
	"fmt"
	"net"
	"strings"

	"github.com/mpconn/mpconn/pickle"
)

// Token identifies a shared object on a manager server, as
// multiprocessing.managers.Token does: the typeid it was created as, the
// server's address and the object's id (CPython's '%x' % id(obj)).
type Token struct {
	TypeID  string
	Address any // the server's address in Python form: a str path, or a (host, port) Tuple
	ID      string
}

var tokenClass = pickle.Global{Module: "multiprocessing.managers", Name: "Token"}

// MarshalPickle returns the Token as CPython pickles it: NEWOBJ of
// multiprocessing.managers.Token, then BUILD with (typeid, address, id).
func (t Token) MarshalPickle() (any, error) {
	return &pickle.Object{
		Kind:     pickle.NewObj,
		Callable: tokenClass,
		Args:     pickle.Tuple{},
		HasState: true,
		State:    pickle.Tuple{t.TypeID, t.Address, t.ID},
	}, nil
}

// tokenFrom reads a Token from its decoded pickle.
func tokenFrom(v any) (Token, error) {
	o, ok := v.(*pickle.Object)
	if !ok || !managersClass(o, "Token") || !o.HasState {
		return Token{}, fmt.Errorf("managers: not a Token: %T", v)
	}
	st, ok := o.State.(pickle.Tuple)
	if !ok || len(st) != 3 {
		return Token{}, fmt.Errorf("managers: Token state is not a 3-tuple")
	}
	typeid, ok1 := pyString(st[0])
	id, ok2 := pyString(st[2])
	if !ok1 || !ok2 {
		return Token{}, fmt.Errorf("managers: Token typeid or id is not a str")
	}
	return Token{TypeID: typeid, Address: st[1], ID: id}, nil
}

// managersClass reports whether o's class is name in
// multiprocessing.managers or billiard.managers.
func managersClass(o *pickle.Object, name string) bool {
	c := o.Class()
	return c == "multiprocessing.managers."+name || c == "billiard.managers."+name
}

// pyString returns a Python str (or Python 2 str) as a Go string.
func pyString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case pickle.ByteString:
		return string(s), true
	}
	return "", false
}

// pythonAddress returns addr as a Python Listener gives it: a (host, port)
// tuple for TCP, the path (or "\x00name" for an abstract socket) for Unix.
func pythonAddress(addr net.Addr) any {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return pickle.Tuple{a.IP.String(), a.Port}
	case *net.UnixAddr:
		if strings.HasPrefix(a.Name, "@") {
			return "\x00" + a.Name[1:]
		}
		return a.Name
	}
	return addr.String()
}
