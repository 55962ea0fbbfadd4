# Proxies stored inside shared objects of a manager server at argv[1]
# (authkey b'secret'): they outlive the client's own proxies, as with
# CPython 3.9+'s server, and come back usable. Prints OK.
import gc
import multiprocessing
import sys
from multiprocessing.managers import SyncManager

# Proxies rebuilt from a pickle use the process's authkey (as with a
# manager this process started).
multiprocessing.current_process().authkey = b'secret'
m = SyncManager(address=sys.argv[1], authkey=b'secret')
m.connect()
d = m.dict()
d['q'] = m.Queue()          # the Queue's only proxy is dropped at once
outer = m.list([m.dict(a=1), m.dict(b=2)])
gc.collect()
q = d['q']
q.put('x')
assert q.get() == 'x'
assert outer[0]['a'] == 1 and outer[1]['b'] == 2
del q
gc.collect()
q2 = d['q']
q2.put('y')
assert q2.get() == 'y'
print('OK')
