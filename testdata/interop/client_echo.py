# client_echo.py ADDRESS KEY: connect with Client, send every size and
# check the echoes. Prints "ok", or "error CLASS" if connecting fails.
# (client_echo.py serve: the same for each line "ADDRESS KEY" of its input.)
from multiprocessing.connection import Client


def main(args):
    try:
        c = Client(address(args[0]), authkey=authkey(args[1]))
    except Exception as e:
        out("error " + type(e).__name__)
        return
    for n in SIZES:
        c.send_bytes(pattern(n))
        expect(c, n)
    c.close()
    out("ok")


run(main)
