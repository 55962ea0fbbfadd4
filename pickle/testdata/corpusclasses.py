# Classes for the CPython corpus test (pickle/corpus_test.go). Instances are
# pickled by CPython, decoded and re-encoded by Go, and loaded back here, so
# they must live in an importable module. Python 2.7 and 3.x.


class Point(object):
    """An instance with a __dict__ (NEWOBJ + BUILD)."""

    def __init__(self, x, y):
        self.x = x
        self.y = y


class Slotted(object):
    """An instance with __slots__ (BUILD with (None, slots))."""
    __slots__ = ('a', 'b')

    def __init__(self, a, b):
        self.a = a
        self.b = b


class Both(object):
    """__slots__ plus a __dict__."""
    __slots__ = ('s', '__dict__')

    def __init__(self):
        self.s = 1
        self.d = 2


class Reduced(object):
    """A __reduce__ returning a callable and arguments."""

    def __init__(self, a, b=None):
        self.a = a
        self.b = b

    def __reduce__(self):
        return (Reduced, (self.a, self.b))


class NewArgsEx(object):
    """__getnewargs_ex__ (NEWOBJ_EX at protocol 4+)."""

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        self.args = args
        self.kwargs = kwargs
        return self

    def __getnewargs_ex__(self):
        return self.args, self.kwargs

    def __getstate__(self):
        return {'args': self.args, 'kwargs': self.kwargs}

    def __setstate__(self, state):
        self.args = state['args']
        self.kwargs = state['kwargs']


class MyList(list):
    """A list subclass with an attribute (APPENDS on an object)."""


class MyDict(dict):
    """A dict subclass (SETITEMS on an object)."""


class Outer(object):
    class Inner(object):
        """A nested class (qualified name)."""


class OldStyle:
    """An old-style class in Python 2 (INST / OBJ)."""

    def __init__(self):
        self.v = 1


def compare_attrs(a, b):
    """Returns the attribute dicts (and slots) of a and b for comparison."""
    def attrs(o):
        d = dict(getattr(o, '__dict__', {}))
        for cls in type(o).__mro__:
            for s in getattr(cls, '__slots__', ()):
                if s in ('__dict__', '__weakref__'):
                    continue
                if hasattr(o, s):
                    d['slot:' + s] = getattr(o, s)
        return d
    return attrs(a), attrs(b)
