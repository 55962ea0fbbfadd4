// Package managers speaks CPython's multiprocessing.managers protocol, as a
// client of Python manager servers and as a server for Python clients.
//
// A [Client] connects to a BaseManager or SyncManager server (CPython 2.7
// and 3.6 to 3.13, or billiard's), creates shared objects by typeid ([Client.Create])
// and calls their methods through a [Proxy]: results are decoded as mpconn's
// Recv decodes them ([Proxy.Call], or [CallAs] for a Go type), methods that
// return shared objects give Proxies, and exceptions raised by the methods
// come back as an [*Exception] carrying the Python class and args
// (errors.Is(err, [ErrEmpty]) recognises queue.Empty).
//
// A [Server] serves the typeids of CPython's SyncManager to Python clients
// of CPython 2.7 and 3.6 to 3.13 (SyncManager(address, authkey).connect()
// and the proxies it makes), and
// any typeid registered with Go methods ([Server.Register], [Methods]):
//
//	Queue, JoinableQueue  queue.Queue: put, get, put_nowait, get_nowait,
//	                      qsize, empty, full, task_done, join, shutdown
//	dict                  every method of DictProxy; __iter__ gives an Iterator
//	list                  every method of ListProxy (sort without key=)
//	Namespace, Value      attributes; get and set
//	Array                 array.array of a type code: len, items, slices
//	Lock, RLock           acquire, release (an RLock is owned by the client
//	                      connection, which is CPython's serving thread)
//	Semaphore, BoundedSemaphore, Event, Condition (its lock may be a Lock or
//	RLock proxy of the same server), Barrier (without action)
//	Pool                  refused: creating one raises NotImplementedError
//
// Values are any picklable Python data, stored as decoded (inert objects
// included, see package pickle) and returned equal. Errors are raised as
// CPython's classes (queue.Empty, queue.Full, KeyError, IndexError,
// threading.BrokenBarrierError ...), so that except clauses work. Blocking
// calls (Queue.get, Lock.acquire, Event.wait, Condition.wait, Barrier.wait)
// block only the connection they came on.
//
// On Linux the Server serves method calls from an event loop (epoll; one
// per two processors, at most 8): a request is read with one system call
// and answered with one (on Unix sockets, where io_uring is allowed, one
// system call reads the requests of every connection found ready, and one
// writes their replies), and calls that cannot wait (a dict's, a
// Queue.put, a Queue.get with an item there) run on the loop itself, so a
// call that takes long there (the repr of a huge dict) holds up the other
// connections of its loop, as CPython's lock does. Calls that would wait,
// Condition and Barrier calls, and the methods of Go-registered typeids
// run on a goroutine of their own, as on other systems every connection
// does.
//
// # Protocol
//
// Each request is a pickled (id or None, method name, args, kwargs) over an
// authenticated mpconn connection; the reply is ('#RETURN', value),
// ('#ERROR', exception), ('#TRACEBACK', text), ('#UNSERIALIZABLE', text) or
// ('#PROXY', (exposed, Token)). Control requests (id None: create, incref,
// decref, get_methods, number_of_objects, debug_info, dummy, shutdown) each
// take a connection of their own; accept_connection turns a connection into
// a method-call channel, which CPython keeps one of per client thread and a
// Client keeps a pool of. A Proxy holds one reference to its object, which
// Close gives back; the server disposes of objects no one refers to.
//
// # Limits
//
// A Server never executes anything a pickle names, and its memory is bounded
// by ServerOptions: the number of objects, the items per object, the size of
// a request, and the number of connections.
//
// Python 2.7 clients are served too (their slice methods and has_key
// included); the Client is tested against Python 3 servers only.
//
// BUG(managers): Iterators
// over a dict iterate over a snapshot of its keys. A list's __reversed__
// returns a list, and an Array slice an array built from a list.
// Proxies a client stores inside another object (a Queue proxy in a dict,
// a list of dicts) are kept as their pickles; as in CPython 3.9 and later,
// the objects they refer to then stay on the server after the clients'
// last reference goes (until the server stops: it cannot tell when the
// stored proxy is dropped, which CPython can), and reading the proxy back
// revives them.
package managers
