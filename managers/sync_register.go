package managers

import (
	"context"

	"github.com/mpconn/mpconn/pickle"
)

// registerSync registers SyncManager's typeids on s.
func registerSync(s *Server) {
	bind := func(name string, names []string, defaults ...any) func(pickle.Tuple, *pickle.Dict) ([]any, error) {
		return func(args pickle.Tuple, kw *pickle.Dict) ([]any, error) {
			c := &Call{Method: name, Args: args, Kwargs: kw}
			return c.Bind(names, defaults...)
		}
	}
	reg := func(typeid string, exposed []string, m2t map[string]string, names []string, defaults []any, mk func(a []any, args pickle.Tuple, kw *pickle.Dict) (Object, error)) {
		b := bind(typeid, names, defaults...)
		s.types[typeid] = &Type{Exposed: exposed, MethodToTypeID: m2t, New: func(ctx context.Context, args pickle.Tuple, kw *pickle.Dict) (Object, error) {
			a, err := b(args, kw)
			if err != nil {
				return nil, err
			}
			return mk(a, args, kw)
		}}
	}
	queue := func(a []any, _ pickle.Tuple, _ *pickle.Dict) (Object, error) { return newQueue(s, a) }
	reg("Queue", queueExposed, nil, []string{"maxsize"}, []any{int64(0)}, queue)
	reg("JoinableQueue", queueExposed, nil, []string{"maxsize"}, []any{int64(0)}, queue)
	reg("Event", eventExposed, nil, nil, nil, func([]any, pickle.Tuple, *pickle.Dict) (Object, error) { return &eventObj{}, nil })
	reg("Lock", acquirerExposed, nil, nil, nil, func([]any, pickle.Tuple, *pickle.Dict) (Object, error) { return &lockObj{}, nil })
	reg("RLock", acquirerExposed, nil, nil, nil, func([]any, pickle.Tuple, *pickle.Dict) (Object, error) {
		return &lockObj{reentrant: true}, nil
	})
	reg("Semaphore", acquirerExposed, nil, []string{"value"}, []any{int64(1)}, func(a []any, _ pickle.Tuple, _ *pickle.Dict) (Object, error) {
		return newSemaphore(false, a)
	})
	reg("BoundedSemaphore", acquirerExposed, nil, []string{"value"}, []any{int64(1)}, func(a []any, _ pickle.Tuple, _ *pickle.Dict) (Object, error) {
		return newSemaphore(true, a)
	})
	reg("Condition", conditionExposed, nil, []string{"lock"}, []any{nil}, func(a []any, _ pickle.Tuple, _ *pickle.Dict) (Object, error) {
		return newCondition(s, a)
	})
	reg("Barrier", barrierExposed, nil, []string{"parties", "action", "timeout"}, []any{nil, nil}, func(a []any, _ pickle.Tuple, _ *pickle.Dict) (Object, error) {
		return newBarrier(a)
	})
	reg("Pool", nil, nil, nil, nil, nil)
	s.types["Pool"].New = func(context.Context, pickle.Tuple, *pickle.Dict) (Object, error) {
		return nil, NewException("builtins", "NotImplementedError",
			"mpconn manager: Pool is not supported: its workers would run Python functions, which a Go server cannot do")
	}
	reg("list", listExposed, nil, []string{"iterable"}, []any{nil}, func(a []any, _ pickle.Tuple, _ *pickle.Dict) (Object, error) {
		return newListObj(s, a)
	})
	s.types["dict"] = &Type{Exposed: dictExposed, MethodToTypeID: map[string]string{"__iter__": "Iterator"},
		New: func(ctx context.Context, args pickle.Tuple, kw *pickle.Dict) (Object, error) {
			return newDictObj(s, &Call{Method: "dict", Args: args, Kwargs: kw})
		}}
	reg("Value", valueExposed, nil, []string{"typecode", "value", "lock"}, []any{true}, func(a []any, _ pickle.Tuple, _ *pickle.Dict) (Object, error) {
		return &valueObj{typecode: a[0], value: a[1]}, nil
	})
	reg("Array", arrayExposed, nil, []string{"typecode", "sequence", "lock"}, []any{true}, func(a []any, _ pickle.Tuple, _ *pickle.Dict) (Object, error) {
		return newArray(s, a)
	})
	s.types["Namespace"] = &Type{Exposed: namespaceExposed, New: func(ctx context.Context, args pickle.Tuple, kw *pickle.Dict) (Object, error) {
		if len(args) > 0 {
			return nil, typeError("Namespace() takes 1 positional argument but %d were given", len(args)+1)
		}
		ns := &namespaceObj{limit: s.opts.MaxItems, attrs: newODict()}
		for _, it := range kw.Items() {
			ns.attrs.set(it.Key, it.Value)
		}
		return ns, nil
	}}
	s.types["Iterator"] = &Type{Exposed: iteratorExposed}
	s.types["AsyncResult"] = &Type{}
}
