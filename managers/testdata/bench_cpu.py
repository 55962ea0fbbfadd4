# Server CPU per operation and operations per second of manager servers
# under 4 Python client processes doing dict and Queue operations, in
# interleaved rounds: CPython's own SyncManager (started here), then each
# given mpconn binary, started as "BIN manager serve" on a Unix socket
# (BIN@NAME=VALUE sets an environment variable for it). Prints the
# median and range of ops/s and of the server's CPU per operation (from
# /proc/PID/stat), the server's context switches per operation and the
# clients' CPU per operation (RUSAGE_CHILDREN), then the ratios to CPython.
# Linux only.
#
#   python bench_cpu.py ROUNDS OPS_PER_CLIENT BIN [BIN...]
import multiprocessing as mp, os, sys, time, subprocess, statistics, resource, tempfile
from multiprocessing.managers import SyncManager
CLIENTS = 4
def client(address, ops, start, done):
    m = SyncManager(address=address, authkey=b'secret'); m.connect()
    d, q = m.dict(), m.Queue()
    start.wait()
    for i in range(ops // 4):
        d['k%d' % (i % 64)] = i; d.get('k%d' % (i % 64)); q.put(i); q.get()
    done.put(None)
def cpu(pid):
    with open('/proc/%d/stat' % pid) as f:
        x = f.read().rsplit(')', 1)[1].split()
    return (int(x[11]) + int(x[12])) / os.sysconf('SC_CLK_TCK')
def ctxsw(pid):
    t = 0
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            for line in open('/proc/%d/task/%s/status' % (pid, tid)):
                if 'ctxt_switches' in line: t += int(line.split()[1])
        except OSError: pass
    return t
def measure(address, ops, pid):
    start, done = mp.Event(), mp.Queue()
    ps = [mp.Process(target=client, args=(address, ops, start, done)) for _ in range(CLIENTS)]
    for p in ps: p.start()
    time.sleep(0.5)
    c0, s0 = cpu(pid), ctxsw(pid)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter(); start.set()
    for _ in ps: done.get()
    el = time.perf_counter() - t0
    c1, s1 = cpu(pid), ctxsw(pid)
    for p in ps: p.join()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = CLIENTS * (ops // 4) * 4
    ccpu = (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / total * 1e6
    return total / el, (c1 - c0) / total * 1e6, (s1 - s0) / total, ccpu
if __name__ == '__main__':
    mp.set_start_method('fork')
    rounds, ops, bins = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    res = {}
    tmp = tempfile.mkdtemp()
    for r in range(rounds):
        cm = SyncManager(authkey=b'secret'); cm.start()
        try:
            res.setdefault('cpython', []).append(measure(cm.address, ops, cm._process.pid))
        finally:
            cm.shutdown()
        for i, b in enumerate(bins):
            addr = os.path.join(tmp, 'm%d.sock' % i)
            try: os.unlink(addr)
            except OSError: pass
            env = dict(os.environ)
            parts = b.split('@')
            if len(parts) > 1:
                for kv in parts[1:]:
                    k, v = kv.split('='); env[k] = v
            p = subprocess.Popen([parts[0], 'manager', 'serve', '--authkey', 'secret', addr], stdout=subprocess.PIPE, env=env)
            p.stdout.readline()
            try:
                res.setdefault(b, []).append(measure(addr, ops, p.pid))
            finally:
                p.terminate(); p.wait()
        print('round', r, os.getloadavg(), flush=True)
    for k, v in res.items():
        ops_ = [x[0] for x in v]; c = [x[1] for x in v]; s = [x[2] for x in v]; cc = [x[3] for x in v]
        print('%-36s ops/s med %6.0f (%6.0f-%6.0f)  server cpu us/op med %5.1f (%5.1f-%5.1f)  ctxsw/op %.2f  clients cpu us/op %5.1f' % (k, statistics.median(ops_), min(ops_), max(ops_), statistics.median(c), min(c), max(c), statistics.median(s), statistics.median(cc)))
    py = res['cpython']
    for k, v in res.items():
        if k == 'cpython': continue
        rat = [v[i][0] / py[i][0] for i in range(len(v))]
        print('ratio %s: med %.2f (%.2f-%.2f)' % (k, statistics.median(rat), min(rat), max(rat)))
