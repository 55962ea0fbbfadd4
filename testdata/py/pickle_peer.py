# Python side of TestPickleOverConn: a Pipe end on descriptor 3.
# Runs on Python 2.7 and 3.6+.
import sys, datetime, decimal, collections
if sys.version_info[0] == 2:
    from _multiprocessing import Connection
    text = unicode  # noqa: F821
else:
    from multiprocessing.connection import Connection
    text = str

class Point(object):
    def __init__(self, x, y):
        self.x, self.y = x, y
    def __eq__(self, other):
        return type(other) is Point and (self.x, self.y) == (other.x, other.y)
    def __ne__(self, other):
        return not self == other

conn = Connection(3)

# 0. Python speaks first, so that Go learns which protocol it can read.
conn.send(u'hello from python')

# 1. A Go struct arrives as a dict.
obj = conn.recv()
want = {'id': 1, 'name': u'hello', 'vals': [1.5, 2.5, 3.5]}
ok = obj == want and all(type(k) is text for k in obj) and type(obj['name']) is text
conn.send_bytes(('struct %s %r' % ('ok' if ok else 'BAD', obj)).encode('utf-8'))

# 2. A dict for Go to decode into its struct.
conn.send({'id': 7, 'name': u'from python', 'vals': [0.5, -2.0]})

# 3. Values Go receives as interface values and sends back unchanged.
values = [
    None, True, False, 0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -2**31, 2**63 - 1,
    -2**63, 2**64, -2**100, 1.5, -0.0, float('inf'), u'', u'caf\xe9', u'\U0001f600',
    b'', b'\x00\xff' * 1000, bytearray(b'ba'), (), (1,), (1, u'two', (3.0,)), [], [1, [2, [3]]],
    {}, {u'a': 1, 2: u'b', (3, 4): [5]}, set([1, 2, 3]), frozenset([u'x']),
    datetime.datetime(2024, 2, 29, 12, 30, 45, 123456), datetime.date(1999, 12, 31),
    decimal.Decimal('3.14159'), complex(1, -2), collections.OrderedDict([(u'z', 1), (u'a', 2)]),
    Point(1, 2), {u'nested': [Point(3, 4), {u'deep': (None, 1.25)}]},
]
shared = [1]
values.append([shared, shared])
bad = 0
for i, v in enumerate(values):
    conn.send(v)
    back = conn.recv()
    same = back == v and type(back) is type(v)
    if same and type(v) is list and v and type(v[0]) is list and len(v) == 2:
        same = back[0] is back[1]  # shared reference kept
    if not same:
        bad += 1
        sys.stderr.write('value %d: sent %r got %r (%s)\n' % (i, v, back, type(back).__name__))
exc = ValueError(u'boom')
conn.send(exc)
back = conn.recv()
if type(back) is not ValueError or back.args != exc.args:
    bad += 1
    sys.stderr.write('exception: got %r\n' % (back,))
conn.send_bytes(('values %d bad %d' % (len(values) + 1, bad)).encode('utf-8'))
conn.close()
