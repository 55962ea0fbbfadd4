# CPython side of the pickle corpus test (pickle/corpus_test.go); runs on
# Python 2.7 and 3.6+.
#
#   corpus.py DIR dump    writes records (name, protocol, pickle) to stdout
#   corpus.py DIR check   reads records (name, protocol, pickle, expected
#                         expression or '') from stdin, loads each pickle and
#                         compares it with the expected value, recursively,
#                         with exact types; prints "mismatch ..." lines and
#                         a final "checked N". An expression "check:F" applies
#                         the predicate F instead; a prefix "exact:" also
#                         requires the pickle to equal pickle.dumps(value, p)
#                         (on 3.8+).
#
# Records are: u32 BE name length, name (UTF-8), u8 protocol, u32 BE data
# length, data, u32 BE expression length, expression.
from __future__ import print_function

import sys
sys.path.insert(0, sys.argv[1])

import collections
import datetime
import decimal
import math
import pickle
import struct

from corpusclasses import (Point, Slotted, Both, Reduced, NewArgsEx, MyList,
                           MyDict, Outer, OldStyle, compare_attrs)

PY2 = sys.version_info[0] == 2
if PY2:
    text_type = unicode  # noqa: F821
    int_types = (int, long)  # noqa: F821
else:
    text_type = str
    int_types = (int,)

stdout = getattr(sys.stdout, 'buffer', sys.stdout)
stdin = getattr(sys.stdin, 'buffer', sys.stdin)


def corpus():
    """Returns [(name, value, identity check or None)]."""
    c = []

    def add(name, value, check=None):
        c.append((name, value, check))

    # Ints at every boundary of every int opcode, and big ints.
    for n in [0, 1, 255, 256, 65535, 65536, 2**31 - 1, 2**31, -1, -2**31, -2**31 - 1,
              2**63 - 1, 2**63, -2**63, -2**63 - 1, 2**64, -128, -129, -32768, 127, 128,
              10**30, -10**30, 2**2040, -2**2040, 2**2047 - 1, 2**2048, 3**5000, -3**5000]:
        add('int %d' % n if abs(n) < 10**40 else 'int big %d' % (n % 1000003), n)
    add('bools', [True, False])
    add('None', None)
    for f in [0.0, -0.0, 1.5, -2.25, 1e308, 5e-324, float('inf'), float('-inf'), float('nan'), 0.1]:
        add('float %r' % f, f)
    # Text.
    add('str empty', u'')
    add('str ascii', u'hello')
    add('str latin1', u'caf\xe9')
    add('str bmp', u'\u20ac\u4e2d\u6587')
    add('str astral', u'\U0001F600 smile')
    add('str lone high surrogate', u'a\ud800b')
    add('str lone low surrogate', u'\udfff')
    if not PY2:  # Python 2 joins the pair when it pickles it: it cannot round-trip it itself
        add('str surrogate pair as two', u'\ud83d\ude00')
    add('str control', u'a\nb\rc\x00d\\e\x1a')
    add('str 255', u'x' * 255)
    add('str 256', u'y' * 256)
    add('str 70000', u'z' * 70000)
    # Bytes.
    add('bytes empty', b'')
    add('bytes small', b'abc')
    add('bytes all', bytes(bytearray(range(256))))
    add('bytes 300', b'q' * 300)
    add('bytes 1MiB', (bytes(bytearray(range(251))) * 4178)[:1 << 20])  # byte i is i % 251
    add('bytearray empty', bytearray())
    add('bytearray', bytearray(b'ab\x00\xff'))
    add('bytearray 70000', bytearray(b'w' * 70000))
    # Containers.
    add('list empty', [])
    add('list one', [1])
    add('list mixed', [1, u'two', 3.0, None, True, b'six', (7,), [8], {9: 10}])
    add('list 1000', list(range(1000)))
    add('list 1001', list(range(1001)))
    add('list 40000', [1] * 40000)
    add('tuple empty', ())
    add('tuple 1', (1,))
    add('tuple 2', (1, 2))
    add('tuple 3', (1, 2, 3))
    add('tuple 4', (1, 2, 3, 4))
    add('tuple nested', ((), ((),), (1, (2, (3,)))))
    add('dict empty', {})
    add('dict one', {u'a': 1})
    add('dict str keys', {u'id': 1, u'name': u'hello', u'vals': [1.5, 2.5, 3.5]})
    add('dict mixed keys', {1: u'int', u'1': u'str', b'1': u'bytes', (1, 2): u'tuple', None: 0,
                            2.5: u'float', frozenset([1]): u'fs', (1, (2, u'x')): u'nested'})
    add('dict 1000', dict((i, -i) for i in range(1000)))
    add('dict 2500', dict((u'k%d' % i, i) for i in range(2500)))
    add('set empty', set())
    add('set', set([1, 2, u'three', (4, 5)]))
    add('set 1500', set(range(1500)))
    add('frozenset empty', frozenset())
    add('frozenset', frozenset([1, u'a', b'b']))
    add('nested', {u'a': [{u'b': (set([1]), frozenset([2]))}], u'c': {u'd': [[], [[]]]}})
    big = [list(range(10)) for _ in range(3)]
    add('list of lists', big)
    add('big mixed', [b'z' * 70000, u'q', bytearray(b'r' * 100000), u's' * 100000])
    # Shared and recursive structures.
    l = [1, 2]
    add('shared list', [l, l, (l,)], lambda v: v[0] is v[1] and v[2][0] is v[0])
    d = {u'k': 1}
    add('shared dict', [d, {u'x': d}], lambda v: v[0] is v[1][u'x'])
    e = []
    add('shared empty list', [e, e], lambda v: v[0] is v[1])
    t = (1, [2])
    add('shared tuple', [t, t], lambda v: v[0][1] is v[1][1])
    r = []
    r.append(r)
    add('recursive list', r, lambda v: v[0] is v)
    rd = {}
    rd[u'self'] = rd
    add('recursive dict', rd, lambda v: v[u'self'] is v)
    rl = [1]
    rt = (rl, 2)
    rl.append(rt)
    add('recursive tuple via list', rt, lambda v: v[0][1] is v)
    p = Point(1, None)
    p.y = p
    add('recursive object', p, lambda v: v.y is v)
    s = set([1])
    add('shared set', [s, s], lambda v: v[0] is v[1])
    # Objects.
    add('datetime', datetime.datetime(2024, 2, 29, 13, 14, 15, 123456))
    add('date', datetime.date(1999, 12, 31))
    add('time', datetime.time(1, 2, 3))
    add('timedelta', datetime.timedelta(days=-1, seconds=5))
    add('decimal', decimal.Decimal('3.14159'))
    add('decimal neg exp', decimal.Decimal('-1E-10'))
    add('complex', complex(3, 4))
    add('OrderedDict', collections.OrderedDict([(u'b', 1), (u'a', 2)]))
    add('OrderedDict one', collections.OrderedDict([(u'b', 1)]))
    add('OrderedDict empty', collections.OrderedDict())
    add('namedtuple-like deque', collections.deque([1, 2, 3]))
    add('ValueError', ValueError(u'boom'))
    add('KeyError', KeyError(u'k', 2))
    exc = RuntimeError(u'x')
    exc.note = u'attr'
    add('exception with attrs', exc)
    add('Point', Point(1, u'two'))
    add('Slotted', Slotted(1, [2]))
    add('Both', Both())
    add('Reduced', Reduced(1, (2, 3)))
    add('NewArgsEx', NewArgsEx(1, 2, k=u'v'))
    ml = MyList([1, 2, 3])
    ml.tag = u't'
    add('MyList', ml)
    add('MyList one', MyList([1]))
    add('MyDict', MyDict(a=1, b=2))
    add('nested class', Outer.Inner)
    add('class Point', Point)
    add('builtin function', len)
    add('OldStyle', OldStyle())
    add('two instances', [Point(1, 2), Point(3, 4)])
    return c


def same(a, b, memo):
    """Compares a and b with exact types, recursively."""
    ta, tb = type(a), type(b)
    if ta is not tb and not (PY2 and isinstance(a, int_types) and isinstance(b, int_types)
                             and not isinstance(a, bool) and not isinstance(b, bool)):
        return 'type %s != %s' % (ta.__name__, tb.__name__)
    key = (id(a), id(b))
    if key in memo:
        return None
    memo[key] = True
    if isinstance(a, float):
        if a != a and b != b:
            return None
        if a != b or math.copysign(1, a) != math.copysign(1, b):
            return '%r != %r' % (a, b)
        return None
    if isinstance(a, (list, tuple, collections.deque)):
        if len(a) != len(b):
            return 'len %d != %d' % (len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            r = same(x, y, memo)
            if r:
                return '[%d] %s' % (i, r)
        if isinstance(a, list) and ta is not list:
            return same_attrs(a, b, memo)
        return None
    if isinstance(a, dict):
        if len(a) != len(b):
            return 'len %d != %d' % (len(a), len(b))
        bkeys = dict((k, k) for k in b)
        for k in a:
            if k not in bkeys:
                return 'missing key %r' % (k,)
            r = same(k, bkeys[k], memo) or same(a[k], b[k], memo)
            if r:
                return '[%r] %s' % (k, r)
        if isinstance(a, collections.OrderedDict) and list(a) != list(b):
            return 'order differs'
        if ta is not dict and ta is not collections.OrderedDict:
            return same_attrs(a, b, memo)
        return None
    if isinstance(a, (set, frozenset)):
        if a != b:
            return '%r != %r' % (a, b)
        bm = dict((k, k) for k in b)
        for k in a:
            r = same(k, bm[k], memo)
            if r:
                return 'member %r: %s' % (k, r)
        return None
    if isinstance(a, BaseException):
        r = same(a.args, b.args, memo)
        if r:
            return 'args ' + r
        return same(a.__dict__, b.__dict__, memo)
    if isinstance(a, (Point, Slotted, Both, NewArgsEx, OldStyle)):
        return same_attrs(a, b, memo)
    if isinstance(a, Reduced):
        return same((a.a, a.b), (b.a, b.b), memo)
    if a != b:
        return '%r != %r' % (a, b)
    return None


def same_attrs(a, b, memo):
    x, y = compare_attrs(a, b)
    r = same(x, y, memo)
    return r and 'attrs ' + r


def protocols():
    return range(pickle.HIGHEST_PROTOCOL + 1)


def read_exact(f, n):
    b = f.read(n)
    if len(b) != n:
        raise EOFError
    return b


def dump():
    out = []
    for name, value, _ in corpus():
        for p in protocols():
            try:
                data = pickle.dumps(value, p)
            except Exception:
                continue  # not picklable at this protocol (e.g. __slots__ below 2)
            nb = name.encode('utf-8')
            out.append(struct.pack('>I', len(nb)) + nb + struct.pack('>BI', p, len(data)) + data +
                       struct.pack('>I', 0))
    stdout.write(b''.join(out))
    stdout.flush()


def check():
    entries = dict((name, (value, chk)) for name, value, chk in corpus())
    ns = {'Point': Point, 'Slotted': Slotted, 'Reduced': Reduced, 'MyList': MyList,
          'MyDict': MyDict, 'OrderedDict': collections.OrderedDict, 'Decimal': decimal.Decimal,
          'datetime': datetime, 'bytearray': bytearray, 'frozenset': frozenset}
    n = 0
    while True:
        try:
            ln = struct.unpack('>I', read_exact(stdin, 4))[0]
        except EOFError:
            break
        name = read_exact(stdin, ln).decode('utf-8')
        p, dl = struct.unpack('>BI', read_exact(stdin, 5))
        data = read_exact(stdin, dl)
        el = struct.unpack('>I', read_exact(stdin, 4))[0]
        expr = read_exact(stdin, el).decode('utf-8')
        where = '%s (protocol %d)' % (name, p)
        exact = expr.startswith('exact:')
        if exact:
            expr = expr[len('exact:'):]
        if expr.startswith('check:'):
            want, chk = None, eval(expr[len('check:'):], ns)
        elif expr:
            want, chk = eval(expr, ns), None
        elif name in entries:
            want, chk = entries[name]
        else:
            print('mismatch %s: unknown entry' % where)
            continue
        try:
            got = pickle.loads(data)
        except Exception as e:
            print('mismatch %s: load failed: %r' % (where, e))
            continue
        n += 1
        r = None if expr.startswith('check:') else same(want, got, {})
        if r:
            print('mismatch %s: %s' % (where, r[:300]))
        elif chk is not None and not chk(got):
            print('mismatch %s: identity (shared/recursive structure) lost' % where)
        elif exact and sys.version_info >= (3, 8) and pickle.dumps(want, p) != data:
            print('mismatch %s: bytes differ from pickle.dumps: %r' % (where, pickle.dumps(want, p)[:200]))
    print('checked %d' % n)


if sys.argv[2] == 'dump':
    dump()
else:
    check()
