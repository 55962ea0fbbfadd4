# The manager case of "mpconn bench" (manager_ops): 4 Python client
# processes doing dict and Queue operations on a manager server, which is
# the implementation measured (mpconn's Go server, or CPython's own
# SyncManager server, run by this script as the peer). Arguments: ROLE
# DURATION WARMUP ADDR, durations in seconds; descriptor 3 is a socketpair
# on which the peer writes "ready" once it listens. The driver prints
# "result COUNT NANOS".
import multiprocessing as mp
import os
import sys
import time
from multiprocessing.managers import SyncManager

clock = time.perf_counter
role = sys.argv[1]
dur, warm = float(sys.argv[2]), float(sys.argv[3])
addr = sys.argv[4]
KEY = b"mpconn-bench-key"
CLIENTS = 4


def client(barrier, counts):
    m = SyncManager(address=addr, authkey=KEY)
    m.connect()
    d, q = m.dict(), m.Queue()
    # Every client has connected and made its objects before the clock
    # starts.
    barrier.wait()
    i = 0
    warm_end = clock() + warm
    while clock() < warm_end:
        step(d, q, i)
        i += 1
    # At least one measured step, however slow the machine.
    n, t0 = 0, clock()
    while True:
        step(d, q, i)
        i += 1
        n += 4
        elapsed = clock() - t0
        if elapsed >= dur:
            break
    counts.put((n, elapsed))


def step(d, q, i):
    k = "k%d" % (i & 63)
    d[k] = i
    d.get(k)
    q.put(i)
    q.get()


def driver():
    ctrl = os.fdopen(3, "rb", 0)
    if ctrl.read(5) != b"ready":
        raise SystemExit("the server did not start")
    counts, barrier = mp.Queue(), mp.Barrier(CLIENTS)
    ps = [mp.Process(target=client, args=(barrier, counts)) for _ in range(CLIENTS)]
    for p in ps:
        p.start()
    results = [counts.get() for _ in ps]
    total = sum(n for n, _ in results)
    elapsed = max(e for _, e in results)
    for p in ps:
        p.join()
        if p.exitcode != 0:
            raise SystemExit("a client failed")
    sys.stdout.write("result %d %d\n" % (total, int(elapsed * 1e9)))


def server():
    ctrl = os.fdopen(3, "wb", 0)
    s = SyncManager(address=addr, authkey=KEY).get_server()
    ctrl.write(b"ready")
    s.serve_forever()


if __name__ == "__main__":
    if role == "driver":
        mp.set_start_method("fork")
        driver()
    else:
        server()
