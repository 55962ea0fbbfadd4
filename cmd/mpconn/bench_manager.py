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
    warm_end = clock() + warm
    end_at = warm_end + dur
    n = 0
    i = 0
    while True:
        now = clock()
        if now >= end_at:
            break
        k = "k%d" % (i & 63)
        d[k] = i
        d.get(k)
        q.put(i)
        q.get()
        i += 1
        if now >= warm_end:
            n += 4
    counts.put(n)


def driver():
    ctrl = os.fdopen(3, "rb", 0)
    if ctrl.read(5) != b"ready":
        raise SystemExit("the server did not start")
    counts, barrier = mp.Queue(), mp.Barrier(CLIENTS)
    ps = [mp.Process(target=client, args=(barrier, counts)) for _ in range(CLIENTS)]
    for p in ps:
        p.start()
    total = sum(counts.get() for _ in ps)
    for p in ps:
        p.join()
        if p.exitcode != 0:
            raise SystemExit("a client failed")
    sys.stdout.write("result %d %d\n" % (total, int(dur * 1e9)))


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
