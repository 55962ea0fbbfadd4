# oneway.py write|read: one end of a one-way pipe on descriptor 3.
if sys.argv[1] == "write":
    c = fdconn(3, readable=False)
    for n in SIZES:
        c.send_bytes(pattern(n))
    c.close()
    out("sent")
else:
    c = fdconn(3, writable=False)
    for n in SIZES:
        expect(c, n)
    try:
        c.recv_bytes()
        fail("a message after the last")
    except EOFError:
        out("eof")
