# Shared by the interop peer scripts (interop_test.go prepends it to each).
# Runs on CPython 2.7 and 3.6 and later: no f-strings, no print function.
import binascii
import hashlib
import os
import struct
import sys

PY2 = sys.version_info[0] == 2
SIZES = [0, 1, 16384, 16385, 1 << 20]


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(msg):
    sys.stderr.write("python %s: %s\n" % (sys.version.split()[0], msg))
    sys.exit(1)


def pattern(n):
    # byte i is (i*7 + n) % 251, as in interop_test.go; period 251.
    base = bytearray((i * 7 + n) % 251 for i in range(251))
    return bytes((base * (n // 251 + 1))[:n])


def fdconn(fd, readable=True, writable=True):
    if PY2:
        from _multiprocessing import Connection
    else:
        from multiprocessing.connection import Connection
    return Connection(fd, readable=readable, writable=writable)


def address(s):
    # "@name" is a Linux abstract socket, anything with a slash a path,
    # "host:port" TCP (a tuple for CPython).
    if s.startswith("@"):
        return "\0" + s[1:]
    if "/" in s:
        return s
    host, port = s.rsplit(":", 1)
    return (host, int(port))


def authkey(s):
    # "-" means no key; otherwise the key in hex.
    if s == "-":
        return None
    return binascii.unhexlify(s)


def expect(conn, n):
    m = conn.recv_bytes()
    if m != pattern(n):
        fail("message of %d bytes differs from pattern(%d)" % (len(m), n))
    return m


def run(main):
    # Runs main(args) once with the command line's arguments; with the
    # single argument "serve", once per line of standard input (the line's
    # words as args) until its end: one interpreter serves many tests.
    if sys.argv[1:] == ["serve"]:
        while True:
            line = sys.stdin.readline()  # (Python 2's file iterator reads ahead)
            if not line:
                break
            main(line.split())
    else:
        main(sys.argv[1:])
