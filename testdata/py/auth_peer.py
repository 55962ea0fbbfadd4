# Peer for mpconn's handshake interoperability tests (auth_test.go).
#
# Usage: python auth_peer.py MODE KEYHEX DIGEST
#   MODE   deliver | answer | server (deliver, then answer) | client (answer, then deliver)
#   KEYHEX the authkey in hex ('' for the empty key)
#   DIGEST 'default', or a digest name passed to deliver_challenge (3.12+ only)
#
# The connection is file descriptor 3. On success the script sends the
# message b'authenticated' and prints 'OK'; on an exception it prints
# 'ERR <class name> <message>'. It stays Python 2.7-compatible.
import binascii
import fcntl
import os
import sys

import multiprocessing.connection as mpc

try:
    Connection = mpc.Connection
except AttributeError:  # Python 2.7
    from _multiprocessing import Connection

mode, keyhex, digest = sys.argv[1], sys.argv[2], sys.argv[3]
key = binascii.unhexlify(keyhex.encode('ascii'))

# The descriptor may arrive in non-blocking mode; Connection needs blocking.
flags = fcntl.fcntl(3, fcntl.F_GETFL)
fcntl.fcntl(3, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
conn = Connection(3)


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
except Exception as e:
    sys.stdout.write('ERR %s %s\n' % (type(e).__name__, e))
    conn.close()
    sys.exit(0)
conn.send_bytes(b'authenticated')
sys.stdout.write('OK\n')
conn.close()
