"""Data and results packs: size and time of `toremi pack` / `toremi unpack` and of each unpack phase, plus the carry of a GPU sitting.

Usage: .venv/bin/python bench/pack.py [RUN_DIR ...]   (prepared run directories; default: runs/gpu, runs/tiny, runs/smoke where present)
Writes bench/results/pack.json. For each run directory: the data pack's size and pack time, `unpack` wall time split into
extract (xz + tar), verify (SHA-256 of every file), build (decode the text from the ids, rebuild and save the DatasetDicts)
and place; the results pack (`toremi pack --results`) size and time when the directory holds finished runs; and, when
gpu/carry/wheels exists, the wheels' size (what `gpu/sitting.sh` installs offline). Times are wall-clock on this machine:
on a shared 2-core machine they are upper bounds (the load at the time is recorded).
"""
from __future__ import annotations
import json, os, platform, sys, tempfile, time
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault('TOREMI_PROGRESS', '0')
from toremi import pack as P


def mib(p: Path) -> float: return round(Path(p).stat().st_size / 2**20, 2)


def phases(archive: Path, dest: Path) -> dict:
    "unpack's phases, timed one by one (what `unpack` does, in the same order)."
    work, t = dest.parent/f'.bench-{dest.name}', {}
    t0 = time.time()
    P._extract(archive, work/'x')
    t['extract_s'] = time.time() - t0
    t0 = time.time()
    man = P._verify(work/'x')
    t['verify_s'] = time.time() - t0
    t0 = time.time()
    P._build(work/'x', man, work/'built', dest)
    t['build_s'] = time.time() - t0
    t0 = time.time()
    P._place(work/'built', dest, work/'aside')
    t['place_s'] = time.time() - t0
    return {k: round(v, 2) for k, v in t.items()}


def bench(run_dir: Path, tmp: Path) -> dict:
    out = dict(run_dir=str(run_dir), preset=(__import__('yaml').safe_load((run_dir/'config.yaml').read_text()) or {}).get('preset'))
    t0 = time.time()
    arc = P.pack(run_dir, tmp/'data.tar.xz')
    out['pack_s'] = round(time.time() - t0, 2)
    out['data_pack_mib'] = mib(arc)
    t0 = time.time()
    P.unpack(arc, tmp/'unpacked')
    out['unpack_s'] = round(time.time() - t0, 2)
    out['unpack_phases'] = phases(arc, tmp/'again')
    if P.finished_runs(run_dir) if (run_dir/'train').is_dir() else []:
        t0 = time.time()
        r = P.pack_results(run_dir, tmp/'results.tar.xz')
        out['results_pack_s'] = round(time.time() - t0, 2)
        out['results_pack_kib'] = round(r.stat().st_size / 2**10, 1)
        out['results_runs'] = len(P.finished_runs(run_dir))
    return out


if __name__ == '__main__':
    dirs = [Path(a) for a in sys.argv[1:]] or [ROOT/'runs'/p for p in ('gpu', 'tiny', 'smoke') if (ROOT/'runs'/p/'annotated'/'dataset_dict.json').is_file()]
    res = dict(machine=f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPU(s)", load_1min=round(os.getloadavg()[0], 2), runs=[])
    wheels = ROOT/'gpu'/'carry'/'wheels'
    if wheels.is_dir(): res['sitting_wheels_mib'] = round(sum(f.stat().st_size for f in wheels.glob('*.whl')) / 2**20, 2)
    for d in dirs:
        with tempfile.TemporaryDirectory(dir=ROOT/'bench') as tmp:
            r = bench(d.resolve(), Path(tmp))
        res['runs'].append(r)
        print(f"{r['preset'] or d}: data pack {r['data_pack_mib']} MiB in {r['pack_s']}s; unpack {r['unpack_s']}s {r['unpack_phases']}; "
              f"results pack {r.get('results_pack_kib', '-')} KiB ({r.get('results_runs', 0)} runs)")
    res['load_1min_after'] = round(os.getloadavg()[0], 2)
    (ROOT/'bench'/'results').mkdir(exist_ok=True)
    (ROOT/'bench'/'results'/'pack.json').write_text(json.dumps(res, indent=1) + '\n')
