# Exercises every SyncManager typeid of a manager server at argv[1]
# (authkey b'secret') and prints OK. Used by the Go tests against the
# Go server; runs on CPython 2.7 and 3.6 to 3.13 (2.7 has no Barrier, no
# wait_for and no acquire timeouts).
import sys
try:
    import queue
except ImportError:
    import Queue as queue
PY3 = sys.version_info >= (3,)
import threading
from multiprocessing.managers import SyncManager

m = SyncManager(address=sys.argv[1], authkey=b'secret')
m.connect()

q = m.Queue()
q.put([1, 'a', {'k': (1, 2.5)}])
assert q.get() == [1, 'a', {'k': (1, 2.5)}]
assert q.qsize() == 0 and q.empty()
try:
    q.get(timeout=0.01)
    raise SystemExit('no queue.Empty')
except queue.Empty:
    pass
try:
    q.get_nowait()
    raise SystemExit('no queue.Empty')
except queue.Empty:
    pass
bq = m.Queue(1)
bq.put(1)
try:
    bq.put_nowait(2)
    raise SystemExit('no queue.Full')
except queue.Full:
    pass
jq = m.JoinableQueue()
jq.put(1)
jq.get()
jq.task_done()
jq.join()

d = m.dict(a=1)
d['b'] = 2.5
d[(1, 2)] = None
d[1] = 'one'
d[1.0] = 'uno'
assert d.copy() == {'a': 1, 'b': 2.5, (1, 2): None, 1: 'uno'}, d.copy()
assert len(d) == 4 and list(d) == ['a', 'b', (1, 2), 1]
assert d.keys() == ['a', 'b', (1, 2), 1] or list(d.keys()) == ['a', 'b', (1, 2), 1]
assert d.get('zz', 5) == 5 and d.pop('a') == 1 and 'a' not in d
assert str(d) == "{'b': 2.5, (1, 2): None, 1: 'uno'}", str(d)
try:
    d['zz']
    raise SystemExit('no KeyError')
except KeyError as e:
    assert e.args == ('zz',)
d.update({'x': 1}, y=2)
assert d.setdefault('x', 9) == 1 and d.popitem() == ('y', 2)
d.clear()
assert len(d) == 0

lst = m.list([3, 1, 2])
lst.sort()
lst.append(9)
lst.extend([10])
lst += [11]
assert lst[0:2] == [1, 2] and lst[-1] == 11 and len(lst) == 6 and 9 in lst
assert lst.index(9) == 3 and lst.pop() == 11 and lst.count(1) == 1
lst.insert(0, 0)
lst.remove(0)
lst[0] = 'x'
del lst[0]
assert list(lst) == [2, 3, 9, 10], list(lst)
assert str(lst) == '[2, 3, 9, 10]'
try:
    lst[99]
    raise SystemExit('no IndexError')
except IndexError:
    pass

ns = m.Namespace(x=1)
ns.y = 'z'
assert ns.x == 1 and ns.y == 'z' and str(ns) == "Namespace(x=1, y='z')", str(ns)
del ns.x
try:
    ns.x
    raise SystemExit('no AttributeError')
except AttributeError:
    pass

v = m.Value('i', 5)
v.value += 1
assert v.value == 6
a = m.Array('i', [1, 2, 3])
a[0] = 7
assert a[0] == 7 and len(a) == 3 and list(a[:]) == [7, 2, 3]

lk = m.Lock()
with lk:
    assert not lk.acquire(False)
if PY3:
    assert lk.acquire(timeout=0.01)
    lk.release()
rl = m.RLock()
rl.acquire(); rl.acquire(); rl.release(); rl.release()
try:
    rl.release()
    raise SystemExit('no RuntimeError')
except RuntimeError:
    pass
sem = m.Semaphore(2)
assert sem.acquire() and sem.acquire()
assert not (sem.acquire(timeout=0.01) if PY3 else sem.acquire(False))
bs = m.BoundedSemaphore(1)
bs.acquire(); bs.release()
try:
    bs.release()
    raise SystemExit('no ValueError')
except ValueError:
    pass

ev = m.Event()
assert not ev.wait(0.01)
ev.set()
assert ev.is_set() and ev.wait(1)
ev.clear()
assert not ev.is_set()

c = m.Condition()
with c:
    assert c.wait(0.01) is False
if PY3:
    got = []
    def waiter():
        with c:
            got.append(c.wait_for(lambda: len(got) > 0 or True, 5))
    t = threading.Thread(target=waiter)
    t.start()
    t.join()
cl = m.Condition(m.Lock())
with cl:
    cl.notify_all()

if PY3:
    b = m.Barrier(2)
    res = []
    t = threading.Thread(target=lambda: res.append(b.wait()))
    t.start()
    res.append(b.wait())
    t.join()
    assert sorted(res) == [0, 1] and b.parties == 2 and not b.broken
    b.abort()
    assert b.broken

try:
    m.Pool()
    raise SystemExit('Pool created')
except Exception as e:
    assert 'Pool is not supported' in str(e), e
print('OK')
