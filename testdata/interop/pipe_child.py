# pipe_child.py: a Pipe end on descriptor 3; the steps match
# TestInteropPipeChild.
from multiprocessing import BufferTooShort

c = fdconn(3)
# Go -> Python, echoed back.
for n in SIZES:
    c.send_bytes(expect(c, n))
# Python -> Go.
for n in SIZES:
    c.send_bytes(pattern(n))
# recv_bytes_into: too small a buffer, then a message that fits at an offset.
buf = bytearray(10)
try:
    c.recv_bytes_into(buf)
    fail("recv_bytes_into a 10-byte buffer: no BufferTooShort")
except BufferTooShort as e:
    if e.args[0] != pattern(100):
        fail("BufferTooShort does not hold the message")
buf = bytearray(64)
k = c.recv_bytes_into(buf, 8)
if k != 50 or bytes(buf[8:58]) != pattern(50):
    fail("recv_bytes_into at offset 8: %d bytes, wrong content" % k)
c.send_bytes(b"into ok")
# For Go's RecvBytesInto.
c.send_bytes(pattern(100))
c.send_bytes(pattern(50))
# Go says bye and closes.
if c.recv_bytes() != b"bye":
    fail("no bye")
try:
    c.recv_bytes()
    fail("a message after bye")
except EOFError:
    out("eof")
