# huge.py: a Pipe end on descriptor 3. Receive one message, print its
# length and SHA-256, send it back, then wait for the peer to close.
c = fdconn(3)
m = c.recv_bytes()
out("%d %s" % (len(m), hashlib.sha256(m).hexdigest()))
c.send_bytes(m)
del m
try:
    c.recv_bytes()
    fail("a message after the huge one")
except EOFError:
    out("eof")
