# Operations per second of 4 Python client processes doing dict and Queue
# operations against a manager server: CPython's own SyncManager (started
# here) and, side by side in the same run, the server at argv[1] (for
# instance mpconn manager serve --authkey secret ADDRESS). Prints one line
# per server and the ratio.
#
#   python bench_clients.py ADDRESS [OPS_PER_CLIENT]
import multiprocessing as mp
import os
import sys
import time
from multiprocessing.managers import SyncManager

CLIENTS = 4


def client(address, ops, start, done):
    m = SyncManager(address=address, authkey=b'secret')
    m.connect()
    d, q = m.dict(), m.Queue()
    start.wait()
    for i in range(ops // 4):
        d['k%d' % (i % 64)] = i
        d.get('k%d' % (i % 64))
        q.put(i)
        q.get()
    done.put(None)


def cpu_seconds(pid):
    # utime + stime of a process, from /proc (Linux).
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def measure(address, ops):
    start, done = mp.Event(), mp.Queue()
    ps = [mp.Process(target=client, args=(address, ops, start, done)) for _ in range(CLIENTS)]
    for p in ps:
        p.start()
    time.sleep(0.5)  # let the clients connect and create their objects
    t0 = time.perf_counter()
    start.set()
    for _ in ps:
        done.get()
    elapsed = time.perf_counter() - t0
    for p in ps:
        p.join()
    return CLIENTS * (ops // 4) * 4 / elapsed


if __name__ == '__main__':
    ops = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    # CPython's default address: a Unix socket, as the other server's should be.
    cm = SyncManager(authkey=b'secret')
    cm.start()
    try:
        before = cpu_seconds(cm._process.pid)
        py = measure(cm.address, ops)
        py_cpu = cpu_seconds(cm._process.pid) - before
    finally:
        cm.shutdown()
    address = sys.argv[1]
    host, sep, port = address.rpartition(':')
    if sep and port.isdigit():
        address = (host, int(port))
    go = measure(address, ops)
    total = CLIENTS * (ops // 4) * 4
    print('cpython SyncManager %s: %.0f ops/s, server CPU %.1f us/op' % (sys.version.split()[0], py, py_cpu / total * 1e6))
    print('server at %s: %.0f ops/s' % (sys.argv[1], go))
    print('ratio: %.2fx' % (go / py))
