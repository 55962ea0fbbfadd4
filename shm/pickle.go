package shm

import (
	"errors"
	"fmt"

	"github.com/mpconn/mpconn/pickle"
)

// The Python forms of blocks and lists in a pickle, as CPython's
// __reduce__ methods make them:
//
//	SharedMemory:  SharedMemory(name, False, size)
//	ShareableList: functools.partial(ShareableList, name=name)()
//
// Over a multiprocessing Connection, CPython pickles the partial with
// multiprocessing.reduction's reducer instead:
// _rebuild_partial(ShareableList, (), {'name': name})(). Both are read;
// the first is written (it needs nothing from multiprocessing to load).
//
// Unpickling either in Python attaches to the named block (and registers
// it with the resource tracker: see the package documentation).
var (
	globalSharedMemory  = pickle.Global{Module: "multiprocessing.shared_memory", Name: "SharedMemory"}
	globalShareableList = pickle.Global{Module: "multiprocessing.shared_memory", Name: "ShareableList"}
	globalPartial       = pickle.Global{Module: "functools", Name: "partial"}
	globalRebuild       = pickle.Global{Module: "multiprocessing.reduction", Name: "_rebuild_partial"}
)

// Ref is a named block as it travels in a pickle: a Python SharedMemory
// or ShareableList. Decoding into a Ref (with mpconn.Conn.Recv or
// [pickle.Unmarshal]) recognises both forms, checks the name, and opens
// nothing: [Ref.Open] or [Ref.OpenList] attach to the block. Encoding a
// Ref gives the same form back, so a Python receiver gets an attached
// SharedMemory (or ShareableList).
type Ref struct {
	Name string
	// Size is the size the sender's SharedMemory declared, 0 for a list.
	// It is not trusted: Open maps the size the file has.
	Size int64
	// List says the reference is a ShareableList.
	List bool
}

// NotRefError is returned when decoding a Python value that is not a
// pickled SharedMemory or ShareableList into a [Ref].
type NotRefError struct {
	Value any
}

func (e *NotRefError) Error() string {
	return fmt.Sprintf("shm: not a pickled SharedMemory or ShareableList: %T", e.Value)
}

// UnmarshalPickle implements [pickle.Unmarshaler].
func (r *Ref) UnmarshalPickle(v any) error {
	o, ok := v.(*pickle.Object)
	if !ok || o.Kind != pickle.Reduce || o.HasState || len(o.ListItems) > 0 || len(o.DictItems) > 0 {
		return &NotRefError{v}
	}
	if g, ok := o.Callable.(pickle.Global); ok && g == globalSharedMemory {
		return r.fromSharedMemory(o)
	}
	if p, ok := o.Callable.(*pickle.Object); ok && len(o.Args) == 0 {
		return r.fromPartial(p)
	}
	return &NotRefError{v}
}

// fromSharedMemory reads SharedMemory(name, False, size).
func (r *Ref) fromSharedMemory(o *pickle.Object) error {
	if len(o.Args) != 3 {
		return &NotRefError{o}
	}
	name, ok1 := o.Args[0].(string)
	create, ok2 := o.Args[1].(bool)
	size, ok3 := toInt64(o.Args[2])
	if !ok1 || !ok2 || !ok3 || create || size < 0 {
		return &NotRefError{o}
	}
	n, err := cleanName(name)
	if err != nil {
		return err
	}
	*r = Ref{Name: n, Size: size}
	return nil
}

// fromPartial reads the partial(ShareableList, name=name) that, called
// with no arguments, makes the list. The partial's state (its function,
// arguments and keywords) is what Python uses.
func (r *Ref) fromPartial(p *pickle.Object) error {
	if p.Kind != pickle.Reduce {
		return &NotRefError{p}
	}
	var st pickle.Tuple
	switch {
	case p.Callable == any(globalPartial) && p.HasState:
		// partial(ShareableList) with state (func, args, kwargs, dict).
		st, _ = p.State.(pickle.Tuple)
		if len(st) != 4 || st[3] != nil {
			return &NotRefError{p}
		}
	case p.Callable == any(globalRebuild) && !p.HasState:
		// _rebuild_partial(func, args, kwargs).
		st = p.Args
	}
	if len(st) < 3 || st[0] != any(globalShareableList) {
		return &NotRefError{p}
	}
	if args, ok := st[1].(pickle.Tuple); !ok || len(args) != 0 {
		return &NotRefError{p}
	}
	kw, ok := st[2].(*pickle.Dict)
	if !ok || kw.Len() != 1 {
		return &NotRefError{p}
	}
	v, _ := kw.Get("name")
	name, ok := v.(string)
	if !ok {
		return &NotRefError{p}
	}
	n, err := cleanName(name)
	if err != nil {
		return err
	}
	*r = Ref{Name: n, List: true}
	return nil
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	}
	return 0, false
}

// MarshalPickle implements [pickle.Marshaler]: the Python form of the
// reference.
func (r Ref) MarshalPickle() (any, error) {
	n, err := cleanName(r.Name)
	if err != nil {
		return nil, err
	}
	if r.List {
		kw := pickle.NewDict()
		kw.Set("name", n)
		partial := &pickle.Object{
			Kind:     pickle.Reduce,
			Callable: globalPartial,
			Args:     pickle.Tuple{globalShareableList},
			HasState: true,
			State:    pickle.Tuple{globalShareableList, pickle.Tuple{}, kw, nil},
		}
		return &pickle.Object{Kind: pickle.Reduce, Callable: partial, Args: pickle.Tuple{}}, nil
	}
	if r.Size < 0 {
		return nil, fmt.Errorf("shm: negative size %d", r.Size)
	}
	return &pickle.Object{Kind: pickle.Reduce, Callable: globalSharedMemory, Args: pickle.Tuple{n, false, r.Size}}, nil
}

// Open attaches to the referenced block (see [Open]); for a list, to the
// block holding it.
func (r Ref) Open() (*Block, error) { return Open(r.Name) }

// OpenList attaches to the referenced ShareableList (see [OpenList]).
func (r Ref) OpenList() (*List, error) {
	if !r.List {
		return nil, errors.New("shm: the reference is a SharedMemory, not a ShareableList")
	}
	return OpenList(r.Name)
}

// Ref returns a reference to the block, to send in its place.
func (b *Block) Ref() Ref { return Ref{Name: b.name, Size: int64(b.Size())} }

// MarshalPickle implements [pickle.Marshaler]: a named block pickles as
// CPython's SharedMemory does, SharedMemory(name, False, size), so that
// a Python receiver gets it attached. An anonymous (memfd) block has no
// Python form: it is an error.
func (b *Block) MarshalPickle() (any, error) {
	if b.name == "" {
		return nil, errors.New("shm: an anonymous block cannot be pickled: send it with Send")
	}
	return b.Ref().MarshalPickle()
}

// Ref returns a reference to the list, to send in its place.
func (l *List) Ref() Ref { return Ref{Name: l.Name(), List: true} }

// MarshalPickle implements [pickle.Marshaler]: a list in a named block
// pickles as CPython's ShareableList does, so that a Python receiver gets
// it attached.
func (l *List) MarshalPickle() (any, error) {
	if l.Name() == "" {
		return nil, errors.New("shm: a list outside a named block cannot be pickled")
	}
	return l.Ref().MarshalPickle()
}
