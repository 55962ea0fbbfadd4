# The CPython side of "mpconn bench": the same driver and peer as the Go
# processes (RunProcess), with multiprocessing.connection, on CPython 2.7
# and 3.x. Arguments: ROLE CASE DURATION WARMUP [ADDR], durations in
# seconds; the socketpair is descriptor 3. The driver prints
# "result COUNT NANOS".
import sys
import time
from multiprocessing.connection import Client, Listener

try:
    from multiprocessing.connection import Connection
except ImportError:  # CPython 2.7 keeps it in C
    from _multiprocessing import Connection

clock = getattr(time, "perf_counter", time.time)
role, case = sys.argv[1], sys.argv[2]
dur, warm = float(sys.argv[3]), float(sys.argv[4])
addr = sys.argv[5] if len(sys.argv) > 5 else None
KEY = b"mpconn-bench-key"
OBJ = {"id": 1, "name": "hello", "vals": [1.5, 2.5, 3.5]}
END = {"id": -1, "name": "", "vals": []}
BATCH = 64


def time_box(d, batch, step, finish):
    n = 0
    t0 = clock()
    while True:
        step(batch)
        n += batch
        if clock() - t0 >= d:
            break
    if finish is not None:
        finish()
    return n, clock() - t0


def peer(c):
    if case == "rtt_bytes_64":
        while True:
            c.send_bytes(c.recv_bytes())
    elif case == "rtt_object":
        while True:
            c.send(c.recv())
    elif case in ("stream_bytes_64", "bulk_1MiB", "bulk_64MiB"):
        buf = bytearray(64 << 20 if case == "bulk_64MiB" else 1 << 20)
        while True:
            if c.recv_bytes_into(buf) == 0:
                c.send_bytes(b"ack")
    elif case == "stream_object":
        while True:
            if c.recv()["id"] == -1:
                c.send_bytes(b"ack")
    else:
        raise SystemExit("unknown case " + case)


def shm_peer(c):
    # bulk_64MiB's Go→CPython row: a Go driver sends a SharedMemory once,
    # then an 8-byte note for every payload it copied into the block; read
    # one byte of every page in place and answer.
    from multiprocessing import resource_tracker
    sm = c.recv()
    # The Go side owns the name (and unlinks it once attached).
    resource_tracker.unregister(sm._name, "shared_memory")
    c.send_bytes(b"ack")
    pages = sm.buf[::4096]
    try:
        while True:
            c.recv_bytes()
            bytes(pages)
            c.send_bytes(b"ack")
    finally:
        pages.release()
        sm.close()


def listen(ctrl):
    l = Listener(addr, family="AF_UNIX", authkey=KEY)
    ctrl.write(b"ready")
    ctrl.flush()
    while True:
        try:
            l.accept().close()
        except EOFError:
            pass


def driver(c):
    batch, finish = 1, None
    if case == "rtt_bytes_64":
        msg = b"x" * 64

        def step(n):
            c.send_bytes(msg)
            c.recv_bytes()
    elif case == "rtt_object":
        def step(n):
            c.send(OBJ)
            c.recv()
    elif case in ("stream_bytes_64", "bulk_1MiB", "bulk_64MiB"):
        if case == "bulk_1MiB":
            msg = b"x" * (1 << 20)
        elif case == "bulk_64MiB":
            msg = b"x" * (64 << 20)
        else:
            msg, batch = b"x" * 64, BATCH

        def step(n):
            for _ in range(n):
                c.send_bytes(msg)

        def finish():
            c.send_bytes(b"")
            c.recv_bytes()
    elif case == "stream_object":
        batch = BATCH

        def step(n):
            for _ in range(n):
                c.send(OBJ)

        def finish():
            c.send(END)
            c.recv_bytes()
    elif case == "connect_auth":
        got = b""
        while len(got) < 5:
            more = c.read(5 - len(got))
            if not more:
                break
            got += more
        if got != b"ready":
            raise SystemExit("no listener")

        def step(n):
            Client(addr, family="AF_UNIX", authkey=KEY).close()
    else:
        raise SystemExit("unknown case " + case)
    time_box(warm, batch, step, finish)
    n, el = time_box(dur, batch, step, finish)
    sys.stdout.write("result %d %d\n" % (n, int(el * 1e9)))


def main():
    if case == "connect_auth":
        import os
        ctrl = os.fdopen(3, "rb", 0) if role == "driver" else os.fdopen(3, "wb", 0)
        if role == "peer":
            listen(ctrl)
        else:
            driver(ctrl)
        return
    c = Connection(3)
    if role == "shmpeer":
        try:
            shm_peer(c)
        except EOFError:
            pass
        return
    if role == "peer":
        try:
            peer(c)
        except EOFError:
            pass
    else:
        driver(c)
        c.close()


main()
