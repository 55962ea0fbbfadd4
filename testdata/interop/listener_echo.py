# listener_echo.py FAMILY DIR KEY: listen (tcp on 127.0.0.1, or a Unix
# socket in DIR), print the address, accept one client and echo until it
# closes. Prints "done", or "error CLASS" if accept fails.
from multiprocessing.connection import Listener

key = authkey(sys.argv[3])
if sys.argv[1] == "tcp":
    l = Listener(("127.0.0.1", 0), "AF_INET", authkey=key)
    out("%s:%d" % l.address[:2])
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
l.close()
out("done")
