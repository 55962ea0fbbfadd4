# Peer for mpconn's handshake interoperability tests (auth_test.go).
#
# Usage: python auth_peer.py MODE KEYHEX DIGEST
#   MODE   deliver | answer | server (deliver, then answer) | client (answer, then deliver)
#   KEYHEX the authkey in hex ('' for the empty key)
#   DIGEST 'default', or a digest name passed to deliver_challenge (3.12+ only)
#        python auth_peer.py serve   (Pyodide)
#        python auth_peer.py connect
#
# The connection is file descriptor 3. On success the script sends the
# message b'authenticated' and prints 'OK'; on an exception it prints
# 'ERR <class name> <message>'. It stays Python 2.7-compatible.
#
# "connect" prints READY once started, then runs one handshake per line of
# standard input, "MODE KEYHEX DIGEST PATH" (KEYHEX '-' for the empty key),
# on a new connection to the Unix socket PATH, and prints each result
# line: one interpreter serves a whole row of tests.
#
# Under Pyodide, which has no sockets and starts slowly, "serve" prints
# READY once started, then runs one handshake per line of standard input, "MODE KEYHEX DIGEST READFIFO
# WRITEFIFO" (KEYHEX '-' for the empty key), over the two FIFOs, and
# prints each result line. The FIFOs are read and written through Node's
# synchronous file calls by a Connection subclass that keeps the
# interpreter's own framing (_send, _recv and all above them).
import binascii
import os
import sys

import multiprocessing.connection as mpc

try:
    Connection = mpc.Connection
except AttributeError:  # Python 2.7
    from _multiprocessing import Connection


def handshake(conn, mode, key, digest):
    """Runs the steps of mode and returns the result line."""
    def deliver():
        if digest == 'default':
            mpc.deliver_challenge(conn, key)
        else:
            mpc.deliver_challenge(conn, key, digest)

    def answer():
        mpc.answer_challenge(conn, key)

    steps = {
        'deliver': [deliver],
        'answer': [answer],
        'server': [deliver, answer],
        'client': [answer, deliver],
    }[mode]
    try:
        for step in steps:
            step()
        conn.send_bytes(b'authenticated')
    except Exception as e:
        return 'ERR %s %s' % (type(e).__name__, e)
    finally:
        conn.close()
    return 'OK'


if sys.argv[1] == 'serve':
    import js
    from pyodide.ffi import JsException, to_js

    class FifoConnection(Connection):
        """A Connection over two FIFOs: Connection's own _send and _recv
        loops (and so its framing), with Node's reads and writes."""

        def __init__(self, rpath, wpath):
            self._rfd = js.nodeFs.openSync(rpath, 'r')
            self._wfd = js.nodeFs.openSync(wpath, 'w')
            Connection.__init__(self, self._rfd)

        def _write_fifo(self, handle, buf):
            return js.nodeFs.writeSync(self._wfd, to_js(bytes(buf)))

        def _read_fifo(self, handle, n):
            arr = js.Uint8Array.new(n)
            while True:
                try:
                    k = js.nodeFs.readSync(self._rfd, arr, 0, n, None)
                    return arr.subarray(0, k).to_bytes()
                except JsException as e:
                    if getattr(e.js_error, 'code', None) != 'EAGAIN':
                        raise

        def _send(self, buf, write=None):
            Connection._send(self, buf, self._write_fifo)

        def _recv(self, size, read=None):
            return Connection._recv(self, size, self._read_fifo)

        def _close(self, _close=None):
            js.nodeFs.closeSync(self._rfd)
            js.nodeFs.closeSync(self._wfd)

    sys.stdout.write('READY\n')
    sys.stdout.flush()
    for line in sys.stdin:
        mode, keyhex, digest, rpath, wpath = line.split()
        if keyhex == '-':
            keyhex = ''
        key = binascii.unhexlify(keyhex.encode('ascii'))
        try:
            conn = FifoConnection(rpath, wpath)
        except Exception as e:
            sys.stdout.write('ERR %s %s\n' % (type(e).__name__, e))
        else:
            sys.stdout.write(handshake(conn, mode, key, digest) + '\n')
        sys.stdout.flush()
    sys.exit(0)

if sys.argv[1] == 'connect':
    import socket
    sys.stdout.write('READY\n')
    sys.stdout.flush()
    while True:
        line = sys.stdin.readline()  # (Python 2's file iterator reads ahead)
        if not line:
            break
        mode, keyhex, digest, path = line.split()
        if keyhex == '-':
            keyhex = ''
        key = binascii.unhexlify(keyhex.encode('ascii'))
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            conn = Connection(os.dup(s.fileno()))
            s.close()
        except Exception as e:
            sys.stdout.write('ERR %s %s\n' % (type(e).__name__, e))
        else:
            sys.stdout.write(handshake(conn, mode, key, digest) + '\n')
        sys.stdout.flush()
    sys.exit(0)

import fcntl
mode, keyhex, digest = sys.argv[1], sys.argv[2], sys.argv[3]
key = binascii.unhexlify(keyhex.encode('ascii'))
# The descriptor may arrive in non-blocking mode; Connection needs blocking.
flags = fcntl.fcntl(3, fcntl.F_GETFL)
fcntl.fcntl(3, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
sys.stdout.write(handshake(Connection(3), mode, key, digest) + '\n')
