# A Python manager server for the Go client tests: SyncManager's typeids
# plus custom ones, at a fresh Unix socket (authkey b'secret'). Prints its
# address, then serves until killed. argv[1] is 'multiprocessing' or
# 'billiard'.
import sys

if sys.argv[1] == 'billiard':
    from billiard.managers import SyncManager
else:
    from multiprocessing.managers import SyncManager


class Counter(object):
    def __init__(self, start=0):
        self.n = start

    def incr(self, k=1):
        self.n += k
        return self.n

    def get(self):
        return self.n

    def fail(self):
        raise ValueError('counter failed', self.n)

    def sub(self):
        return Counter(self.n)


shared = Counter(100)


class Mgr(SyncManager):
    pass


Mgr.register('Counter', Counter, exposed=('incr', 'get', 'fail', 'sub'),
             method_to_typeid={'sub': 'CounterRef'})
Mgr.register('CounterRef', exposed=('incr', 'get'), create_method=False)
Mgr.register('get_shared', callable=lambda: shared, exposed=('incr', 'get'))

if __name__ == '__main__':
    m = Mgr(address=sys.argv[2], authkey=b'secret')
    s = m.get_server()
    sys.stdout.write(s.address + '\n')
    sys.stdout.flush()
    s.serve_forever()
