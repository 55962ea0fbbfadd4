# The CPython side of "mpconn tour", for CPython 2.7 and 3.x.
#
#   child               the Pipe child: the Pipe end is descriptor 3
#   client ADDRESS KEY  a Listener client authenticating with KEY
#
# Each prints what it sees, one line per event, before it answers.
import sys
from multiprocessing.connection import Client

try:
    from multiprocessing.connection import Connection
except ImportError:  # CPython 2.7 keeps it in C
    from _multiprocessing import Connection

version = "%d.%d.%d" % sys.version_info[:3]


def say(fmt, *args):
    sys.stdout.write((fmt % args) + "\n")
    sys.stdout.flush()


def child():
    c = Connection(3)
    msg = c.recv_bytes()
    say("received %d bytes: %r", len(msg), msg)
    c.send_bytes(b"hello from CPython " + version.encode("ascii"))
    obj = c.recv()
    say("received a %s: %r", type(obj).__name__, obj)
    c.send({"from": "CPython " + version, "sum": sum(obj["vals"]),
            "pair": (obj["id"], obj["name"].upper()), "none": None})
    many = [c.recv() for _ in range(3)]
    say("received %d messages, one recv() each: %r", len(many), many)
    try:
        c.recv_bytes()
    except EOFError:
        say("saw EOF: the Go end closed the Pipe")


def client(address, key):
    from multiprocessing import AuthenticationError
    try:
        c = Client(address, family="AF_UNIX", authkey=key.encode("ascii"))
    except AuthenticationError as e:
        say("Client(authkey=%r) raised AuthenticationError: %s", key, e)
        return
    say("Client(authkey=%r) connected and authenticated", key)
    c.send_bytes(b"hi from an authenticated CPython " + version.encode("ascii"))
    say("the Listener answered %r", c.recv_bytes())
    c.close()


if sys.argv[1] == "child":
    child()
else:
    client(sys.argv[2], sys.argv[3])
