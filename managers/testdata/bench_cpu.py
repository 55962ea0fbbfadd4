# Server CPU per operation and operations per second of manager servers
# under 4 Python client processes doing dict and Queue operations, in
# interleaved rounds: CPython's own SyncManager (started here), then each
# given mpconn binary, started as "BIN manager serve" on a Unix socket
# (BIN@NAME=VALUE sets an environment variable for it; BIN%nice=N renices
# its threads, BIN%fifo makes them SCHED_FIFO, for experiments). Prints the
# medians of: ops/s, the server's CPU per operation (/proc/PID/stat), its
# voluntary and involuntary context switches per operation, the clients'
# CPU per operation (RUSAGE_CHILDREN: all, user), their voluntary and
# involuntary context switches per operation, the load average, and the
# server's and clients' CPU together (tot); then tot and ops/s per round.
# With PERFSTAT=EVENTS (perf stat -e syntax, e.g.
# raw_syscalls:sys_enter,context-switches) it also prints, per round, those
# events of the server per operation. Linux only.
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
    v = nv = 0
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            for line in open('/proc/%d/task/%s/status' % (pid, tid)):
                if line.startswith('voluntary_ctxt_switches'): v += int(line.split()[1])
                if line.startswith('nonvoluntary_ctxt_switches'): nv += int(line.split()[1])
        except OSError: pass
    return v, nv
def measure(address, ops, pid):
    start, done = mp.Event(), mp.Queue()
    ps = [mp.Process(target=client, args=(address, ops, start, done)) for _ in range(CLIENTS)]
    for p in ps: p.start()
    time.sleep(0.5)
    c0, (v0, n0) = cpu(pid), ctxsw(pid)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    la0 = os.getloadavg()[0]
    perf = None
    if os.environ.get('PERFSTAT'):
        perf = subprocess.Popen(['perf', 'stat', '-x', ',', '-e', os.environ['PERFSTAT'], '-p', str(pid)], stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)
    t0 = time.perf_counter(); start.set()
    for _ in ps: done.get()
    el = time.perf_counter() - t0
    pstat = {}
    if perf:
        import signal
        perf.send_signal(signal.SIGINT); _, err = perf.communicate()
        for line in err.splitlines():
            f = line.split(',')
            if len(f) > 3 and f[0].replace('.', '').isdigit(): pstat[f[2]] = float(f[0])
    c1, (v1, n1) = cpu(pid), ctxsw(pid)
    for p in ps: p.join()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    T = CLIENTS * (ops // 4) * 4
    ccpu = (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / T * 1e6
    cusr = (ru1.ru_utime - ru0.ru_utime) / T * 1e6
    if pstat: print('   perf per op:', ' '.join('%s=%.3f' % (k, v / T) for k, v in pstat.items()), flush=True)
    return dict(ops=T / el, scpu=(c1 - c0) / T * 1e6, sv=(v1 - v0) / T, snv=(n1 - n0) / T, ccpu=ccpu, cusr=cusr,
                cv=(ru1.ru_nvcsw - ru0.ru_nvcsw) / T, cnv=(ru1.ru_nivcsw - ru0.ru_nivcsw) / T, load=la0)
def tune(pid, how):
    if not how: return
    for tid in os.listdir('/proc/%d/task' % pid):
        if how.startswith('nice='): subprocess.call(['renice', '-n', how[5:], '-p', tid], stdout=subprocess.DEVNULL)
        elif how == 'fifo': subprocess.call(['chrt', '-f', '-p', '1', tid])
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
            spec, _, how = b.partition('%')
            parts = spec.split('@')
            for kv in parts[1:]:
                k, v = kv.split('='); env[k] = v
            p = subprocess.Popen([parts[0], 'manager', 'serve', '--authkey', 'secret', addr], stdout=subprocess.PIPE, env=env)
            p.stdout.readline()
            tune(p.pid, how)
            try:
                res.setdefault(b, []).append(measure(addr, ops, p.pid))
            finally:
                p.terminate(); p.wait()
        print('round', r, os.getloadavg(), flush=True)
    keys = ['ops', 'scpu', 'sv', 'snv', 'ccpu', 'cusr', 'cv', 'cnv', 'load']
    print('%-40s ' % 'variant (medians)' + ' '.join('%8s' % k for k in keys) + '     tot')
    for k, v in res.items():
        med = {x: statistics.median([d[x] for d in v]) for x in keys}
        print('%-40s ' % k[-40:] + ' '.join('%8.2f' % med[x] if x not in ('ops',) else '%8.0f' % med[x] for x in keys) + '  %6.1f' % statistics.median([d['scpu'] + d['ccpu'] for d in v]))
    for k, v in res.items():
        print('%-40s tot/op per round: %s ; ops: %s' % (k[-40:], ' '.join('%.1f' % (d['scpu'] + d['ccpu']) for d in v), ' '.join('%.0f' % d['ops'] for d in v)))
