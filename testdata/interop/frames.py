# frames.py MODE: write frames by hand on the Pipe end on descriptor 3.
mode = sys.argv[1]
if mode == "escape":
    # The -1 escape with a small length, then an empty message.
    os.write(3, b"\xff\xff\xff\xff" + struct.pack("!Q", 5) + b"hello")
    os.write(3, b"\x00\x00\x00\x00")
    out("wrote")
elif mode == "partial":
    # Half of a 1000-byte message; the rest once Go sends "more".
    c = fdconn(3)
    m = pattern(1000)
    os.write(3, struct.pack("!i", len(m)) + m[:500])
    out("half")
    if c.recv_bytes() != b"more":
        fail("no 'more'")
    os.write(3, m[500:])
    out("rest")
else:
    fail("unknown mode " + mode)
