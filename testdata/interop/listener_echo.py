# listener_echo.py FAMILY WHERE KEY: listen (tcp on 127.0.0.1, unix: a
# socket in the directory WHERE, abstract: the abstract name WHERE), print
# the address, accept one client and echo until it
# closes. Prints "done", or "error CLASS" if accept fails.
# (listener_echo.py serve: the same for each line "FAMILY WHERE KEY" of its
# input.)
from multiprocessing.connection import Listener


def close(l):
    try:
        l.close()
    except (TypeError, ValueError):
        # CPython 2.7 to 3.7 try to unlink an abstract name ("embedded null byte").
        pass


def main(args):
    family, where, key = args[0], args[1], authkey(args[2])
    if family == "tcp":
        l = Listener(("127.0.0.1", 0), "AF_INET", authkey=key)
        out("%s:%d" % l.address[:2])
    elif family == "abstract":
        l = Listener("\0" + where, "AF_UNIX", authkey=key)
        out("@" + where)
    else:
        l = Listener(os.path.join(where, "py.sock"), "AF_UNIX", authkey=key)
        out(l.address)
    try:
        c = l.accept()
    except Exception as e:
        close(l)  # before the line: the test then removes WHERE
        out("error " + type(e).__name__)
        return
    while True:
        try:
            m = c.recv_bytes()
        except EOFError:
            break
        c.send_bytes(m)
    c.close()
    close(l)
    out("done")


run(main)
