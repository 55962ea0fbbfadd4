import os, socket, sys, binascii
try:
    from multiprocessing.connection import Connection
except ImportError:
    from _multiprocessing import Connection
a, b = socket.socketpair()
fd = os.dup(a.fileno())
a.close()
c = Connection(fd)
session = sys.argv[1]
if session == "bytes":
    for m in [b'', b'zzzzz', b'\x00\xff' * 3, b'x' * 16384, b'y' * 16385]:
        c.send_bytes(m)
    c.send_bytes(b'0123456789', 2, 3)
elif session == "objects":
    c.send([1, 'hello', None])
    c.send({'a': 1.5, 'b': (1, 2), 'c': u'\u00e9t\u00e9'})
    c.send(list(range(300)))
    c.send(b'raw bytes in a pickle')
    c.send((True, False, 2 ** 70, -3))
    c.send_bytes(b'')
c.close()
out = []
while True:
    d = b.recv(65536)
    if not d:
        break
    out.append(d)
sys.stdout.write(binascii.hexlify(b''.join(out)).decode('ascii'))
