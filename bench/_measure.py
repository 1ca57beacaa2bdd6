"""Peak memory (PSS of the whole process tree) and CPU-seconds of a command, for the data-preparation benchmarks.

`measure(cmd)` starts `cmd`, polls /proc every `interval` seconds and sums the proportional set size (PSS, from
`/proc/<pid>/smaps_rollup`) of the process and all its descendants (worker processes, Ray's raylet and workers):
shared pages count once in total, split among the processes that map them (also unrelated processes that map the
same library files: PSS drops a little when other jobs use the same virtual environment). It also records the peak
private memory (USS: pages no other process maps), the peak summed RSS (shared pages counted in every process) and the
peak anonymous memory (heap: what a program allocates, without the files it maps, which the kernel may drop).
With `timeout`, the whole tree is killed after that many seconds (`timed_out` true). CPU-seconds are the larger of the
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


def _mem_kb(pid: int) -> tuple:
    "(PSS, private = USS, RSS, anonymous) of a process in kB, from /proc/<pid>/smaps_rollup."
    pss = uss = rss = anon = 0
    try:
        for line in Path(f'/proc/{pid}/smaps_rollup').read_text().splitlines():
            k, v = line.split(':', 1) if ':' in line else ('', '')
            if k == 'Pss': pss = int(v.split()[0])
            elif k in ('Private_Clean', 'Private_Dirty'): uss += int(v.split()[0])
            elif k == 'Rss': rss = int(v.split()[0])
            elif k == 'Anonymous': anon = int(v.split()[0])
    except (OSError, ValueError): pass
    return pss, uss, rss, anon


def _cpu_s(pid: int) -> float:
    try: f = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError: return -1.0
    return (int(f[11]) + int(f[12])) / TICK   # utime, stime


def measure(cmd: list, env: dict | None = None, interval: float = 0.25, cwd=None, log=None, timeout: float = 0) -> dict:
    "Run `cmd`; return rc, wall seconds, CPU-seconds and the peak PSS/RSS-free memory of its process tree (MB)."
    t0 = time.time()
    out = open(log, 'wb') if log else subprocess.DEVNULL
    p = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    peak, peak_uss, peak_rss, peak_anon, cpu_seen, procs = 0, 0, 0, 0, {}, 0
    while True:
        tree = _tree(p.pid)
        mem = [_mem_kb(x) for x in tree]
        peak, peak_uss = max(peak, sum(m[0] for m in mem)), max(peak_uss, sum(m[1] for m in mem))
        peak_rss, peak_anon = max(peak_rss, sum(m[2] for m in mem)), max(peak_anon, sum(m[3] for m in mem))
        if timeout and time.time() - t0 > timeout:
            for x in reversed(tree):
                try: os.kill(x, 9)
                except OSError: pass
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
    return dict(rc=p.returncode, wall_s=round(time.time() - t0, 2), cpu_s=round(cpu, 2), peak_pss_mb=round(peak / 1024, 1),
                peak_uss_mb=round(peak_uss / 1024, 1), peak_rss_mb=round(peak_rss / 1024, 1), peak_anon_mb=round(peak_anon / 1024, 1),
                max_processes=procs, timed_out=bool(timeout and time.time() - t0 > timeout))


if __name__ == '__main__':
    import sys, json
    print(json.dumps(measure(sys.argv[1:])))
