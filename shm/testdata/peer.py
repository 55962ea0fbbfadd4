# Peer for shm's interop test: run by the Go test as a child with a Pipe
# end in MPCONN_FD. Works on CPython 3.8 to 3.13.
import os, sys, traceback
from multiprocessing.connection import Connection
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory, ShareableList

conn = Connection(int(os.environ["MPCONN_FD"]))

def untrack(name):
    # The Go side owns its names: keep this process's resource tracker
    # from unlinking them when it exits.
    resource_tracker.unregister(name, "shared_memory")

def main():
    # 1. Blocks made by Go arrive attached.
    sm, sl, pattern = conn.recv()
    assert type(sm) is SharedMemory and type(sl) is ShareableList, (type(sm), type(sl))
    conn.send((sm.name, sm.size, bytes(sm.buf) == pattern, list(sl), sl.format))
    sm.buf[:2] = b"py"
    sl[0] = "zz"
    sl[1] = 7
    try:
        sl[2] = "x" * 9  # an 8-byte slot
        err = None
    except ValueError as e:
        err = str(e)
    conn.send(err)
    untrack(sm._name)
    untrack(sl.shm._name)
    sm.close()
    sl.shm.close()
    if sys.version_info >= (3, 13):
        # 3.13 can attach without the tracker.
        again = SharedMemory(sm.name, track=False)
        assert bytes(again.buf[:2]) == b"py"
        again.close()

    # 2. Blocks made by Python, sent to Go.
    values = conn.recv()
    sm2 = SharedMemory(create=True, size=1000)
    sm2.buf[:] = bytes(i % 251 for i in range(1000))
    sl2 = ShareableList(values)
    conn.send(sm2)
    conn.send(sl2)
    conn.send_bytes(bytes(sl2.shm.buf))
    assert conn.recv() == "done"
    seen = (bytes(sm2.buf[:2]), sl2[0], sl2[1])
    sm2.close()
    sm2.unlink()
    sl2.shm.close()
    sl2.shm.unlink()
    conn.send(seen)

    # 3. A hostile Python: it shrinks a block Go has mapped, and unlinks
    # it.
    sm3 = SharedMemory(create=True, size=3 * 4096)
    conn.send(sm3)
    assert conn.recv() == "mapped"
    os.ftruncate(sm3._fd, 4096)
    sm3.close()
    sm3.unlink()
    conn.send("shrunk")
    conn.recv()

try:
    main()
except BaseException:
    conn.send(("error", traceback.format_exc()))
    sys.exit(1)
