"""Peak memory (PSS of the whole process tree) and CPU-seconds of a command, for the data-preparation benchmarks.

`measure(cmd)` starts `cmd`, polls /proc every `interval` seconds and sums the proportional set size (PSS, from
`/proc/<pid>/smaps_rollup`) of the process and all its descendants (worker processes, Ray's raylet and workers):
shared pages count once in total, split among the processes that map them. CPU-seconds are the larger of the
command's rusage (itself and every descendant it waited for) and the sum of the last polled utime+stime of every
process seen in the tree (descendants that are not waited for, such as Ray workers). A process that lives less
than one interval is missed by the polling; its CPU time still counts through rusage when it was waited for.
Linux only.
"""
from __future__ import annotations
import os, subprocess, time
from pathlib import Path

TICK = os.sysconf('SC_CLK_TCK')


def _children(pid: int) -> list:
    out = []
    for t in Path(f'/proc/{pid}/task').glob('*'):
        try: out += [int(x) for x in (t/'children').read_text().split()]
        except OSError: pass
    return out


def _tree(pid: int) -> list:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f'/proc/{pid}/smaps_rollup').read_text().splitlines():
            if line.startswith('Pss:'): return int(line.split()[1])
    except OSError: pass
    return 0


def _cpu_s(pid: int) -> float:
    try: f = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError: return -1.0
    return (int(f[11]) + int(f[12])) / TICK   # utime, stime


def measure(cmd: list, env: dict | None = None, interval: float = 0.25, cwd=None, log=None) -> dict:
    "Run `cmd`; return rc, wall seconds, CPU-seconds and the peak PSS/RSS-free memory of its process tree (MB)."
    t0 = time.time()
    out = open(log, 'wb') if log else subprocess.DEVNULL
    p = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    peak, cpu_seen, procs = 0, {}, 0
    while True:
        tree = _tree(p.pid)
        peak = max(peak, sum(_pss_kb(x) for x in tree))
        procs = max(procs, len(tree))
        for x in tree:
            c = _cpu_s(x)
            if c >= 0: cpu_seen[x] = c
        try:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        except ChildProcessError: break
        if pid: break
        time.sleep(interval)
    p.returncode = os.waitstatus_to_exitcode(status)
    if log: out.close()
    cpu = max(ru.ru_utime + ru.ru_stime, sum(cpu_seen.values()))
    return dict(rc=p.returncode, wall_s=round(time.time() - t0, 2), cpu_s=round(cpu, 2), peak_pss_mb=round(peak / 1024, 1), max_processes=procs)


if __name__ == '__main__':
    import sys, json
    print(json.dumps(measure(sys.argv[1:])))
