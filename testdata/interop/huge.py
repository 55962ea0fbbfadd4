# huge.py: a Pipe end on descriptor 3. Receive one message (over 2 GiB:
# the -1 escape and an 8-byte length), print its length, send it back
# twice (the Go side compares both with what it sent), then wait for the
# peer to close.
c = fdconn(3)
m = c.recv_bytes()
out("%d" % len(m))
c.send_bytes(m)
c.send_bytes(m)
del m
try:
    c.recv_bytes()
    fail("a message after the huge one")
except EOFError:
    out("eof")
