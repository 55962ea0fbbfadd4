# eof.py MODE: end the Pipe end on descriptor 3 in one of several ways.
mode = sys.argv[1]
if mode == "close":
    c = fdconn(3)
    c.send_bytes(b"last")
    c.close()
    out("closed")
elif mode == "half-header":
    os.write(3, b"\x00\x00")
    out("wrote")
elif mode == "half-payload":
    os.write(3, struct.pack("!i", 100) + b"0123456789")
    out("wrote")
elif mode == "read-to-eof":
    c = fdconn(3)
    if c.recv_bytes() != b"last":
        fail("no last message")
    try:
        c.recv_bytes()
        fail("a message after the last")
    except EOFError as e:
        out(type(e).__name__)
else:
    fail("unknown mode " + mode)
