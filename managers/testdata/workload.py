# Multi-process workload through a manager server at argv[1] (authkey
# b'secret'): producers and consumers share a Queue, workers count in a
# dict under a manager Lock, meet at a Barrier and wait for an Event.
# The proxies go to the child processes as arguments. Prints OK.
import multiprocessing as mp
import sys
from multiprocessing.managers import SyncManager

N_PROD, N_CONS, ITEMS = 3, 3, 200


def producer(q, i):
    for k in range(ITEMS):
        q.put((i, k))


def consumer(q, out, lock, d):
    got = 0
    while True:
        item = q.get()
        if item is None:
            break
        got += 1
        with lock:
            d['n'] = d['n'] + 1
    out.put(got)


def meet(b, ev, d, lock, i):
    idx = b.wait()
    with lock:
        d['met'] = d['met'] + 1
    ev.wait()
    with lock:
        d['after'] = d['after'] + 1


if __name__ == '__main__':
    mp.set_start_method(sys.argv[2] if len(sys.argv) > 2 else 'fork')
    m = SyncManager(address=sys.argv[1], authkey=b'secret')
    m.connect()
    q, out, lock, d = m.Queue(), m.Queue(), m.Lock(), m.dict(n=0, met=0, after=0)
    cons = [mp.Process(target=consumer, args=(q, out, lock, d)) for _ in range(N_CONS)]
    prods = [mp.Process(target=producer, args=(q, i)) for i in range(N_PROD)]
    for p in cons + prods:
        p.start()
    for p in prods:
        p.join()
    for _ in cons:
        q.put(None)
    for p in cons:
        p.join()
    total = sum(out.get() for _ in cons)
    assert total == N_PROD * ITEMS, total
    assert d['n'] == N_PROD * ITEMS, d['n']
    b, ev = m.Barrier(3), m.Event()
    ps = [mp.Process(target=meet, args=(b, ev, d, lock, i)) for i in range(3)]
    for p in ps:
        p.start()
    while d['met'] < 3:
        pass
    assert d['after'] == 0
    ev.set()
    for p in ps:
        p.join()
        assert p.exitcode == 0
    assert d['after'] == 3
    print('OK')
