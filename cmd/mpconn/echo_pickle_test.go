package main

import (
	"strings"
	"syscall"
	"testing"

	"github.com/mpconn/mpconn/internal/cpython"
)

// pyPickleClient sends objects of many kinds with conn.send to mpconn echo
// (value mode) and checks that conn.recv gives back equal objects of the
// same types (but for Python 2's int and long, which Python 2 itself
// mixes; see package pickle); then it sends bytes that are no pickle and expects the
// connection to be ended. It prints "ok N" or the mismatches. CPython 2.7
// and 3.
const pyPickleClient = `
import sys, datetime, decimal, collections
from multiprocessing.connection import Client
a = sys.argv[1]
values = [
    None, True, 0, -1, 2**31, -2**70, 1.25, float('-inf'), u'', u'caf\xe9 \U0001f600',
    b'', b'\x00\xfe' * 5000, bytearray(b'xy'), (), (1, (u'a', 2.0)), [1, [2, []]],
    {u'k': 1, 3: u'v', (1, 2): [3]}, set([1, 2]), frozenset([u'z']),
    datetime.datetime(2001, 2, 3, 4, 5, 6, 7), decimal.Decimal('-1.5e-7'), complex(0.5, 2),
    collections.OrderedDict([(u'b', 1), (u'a', 2)]),
]
try:
    ints = (int, long)  # Python 2: an int past 32 bits comes back as long
except NameError:
    ints = (int,)
c = Client(a)
bad = []
for v in values:
    c.send(v)
    back = c.recv()
    same_type = type(back) is type(v) or (type(v) in ints and type(back) in ints)
    if back != v or not same_type:
        bad.append('%r -> %r' % (v, back))
c.send(ValueError(u'boom'))
e = c.recv()
if type(e) is not ValueError or e.args != (u'boom',):
    bad.append('exception -> %r' % (e,))
c.send_bytes(b'this is not a pickle')
try:
    c.recv_bytes()
    bad.append('not-a-pickle was answered')
except EOFError:
    pass
c.close()
if bad:
    sys.stdout.write('bad ' + '; '.join(bad) + '\n')
else:
    sys.stdout.write('ok %d\n' % (len(values) + 1))
`

// TestEchoPicklePythonClients: without --bytes, echo decodes every
// pickle and encodes it again; CPython clients of every version get back
// equal objects of the same types, and a client sending something that is
// not a pickle loses only its own connection.
func TestEchoPicklePythonClients(t *testing.T) {
	p := start(t, nil, "echo")
	addr := p.listening(t)
	cpython.Each(t, func(t *testing.T, py cpython.Python) {
		out, err := py.Output(testTimeout, pyPickleClient, addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != "ok 24" {
			t.Fatalf("%s: %s", py, got)
		}
	})
	p.stop(t, syscall.SIGTERM)
}
