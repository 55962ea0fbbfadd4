# listener_echo.py FAMILY WHERE KEY: listen (tcp on 127.0.0.1, unix: a
# socket in the directory WHERE, abstract: the abstract name WHERE), print
# the address, accept one client and echo until it
# closes. Prints "done", or "error CLASS" if accept fails.
from multiprocessing.connection import Listener

key = authkey(sys.argv[3])
if sys.argv[1] == "tcp":
    l = Listener(("127.0.0.1", 0), "AF_INET", authkey=key)
    out("%s:%d" % l.address[:2])
elif sys.argv[1] == "abstract":
    l = Listener("\0" + sys.argv[2], "AF_UNIX", authkey=key)
    out("@" + sys.argv[2])
else:
    l = Listener(os.path.join(sys.argv[2], "py.sock"), "AF_UNIX", authkey=key)
    out(l.address)
try:
    c = l.accept()
except Exception as e:
    out("error " + type(e).__name__)
    l.close()
    sys.exit(0)
while True:
    try:
        m = c.recv_bytes()
    except EOFError:
        break
    c.send_bytes(m)
c.close()
try:
    l.close()
except (TypeError, ValueError):
    # CPython 2.7 to 3.7 try to unlink an abstract name ("embedded null byte").
    pass
out("done")
