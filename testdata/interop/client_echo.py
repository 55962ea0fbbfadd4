# client_echo.py ADDRESS KEY: connect with Client, send every size and
# check the echoes. Prints "ok", or "error CLASS" if connecting fails.
from multiprocessing.connection import Client

try:
    c = Client(address(sys.argv[1]), authkey=authkey(sys.argv[2]))
except Exception as e:
    out("error " + type(e).__name__)
    sys.exit(0)
for n in SIZES:
    c.send_bytes(pattern(n))
    expect(c, n)
c.close()
out("ok")
