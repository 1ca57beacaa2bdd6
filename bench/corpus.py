"""Build time of the embedded default corpus (`toremi.corpus`), per source and in total.

Usage: python bench/corpus.py [--sources gov books ...] [--chunk-chars 6000] [--repeat 1] [--out bench/results/corpus.json]

1. Fetches the pinned archives (`source_archives`): timed apart and reported as `fetch_seconds`, with
   `cold` = whether any archive had to be downloaded (the build timings below never include downloads).
2. Builds each source alone (`build_source`: read archive members, clean, chunk, write shards) and prints
   a table source | docs | chars | seconds | MB/s of output text.
3. Times the whole stage (`build_corpus(force=True)`) and rebuilds it into a second run dir to check
   that the shards and the manifest are byte-identical.
Writes the numbers to bench/results/corpus.json.
"""
from __future__ import annotations
import argparse, os, platform, sys, tempfile, time
from pathlib import Path

os.environ.setdefault('TOREMI_PROGRESS', '0')
os.environ.setdefault('TOREMI_LOG', 'WARNING')
from toremi.core import read_json, write_json, cache_dir
from toremi.config import load_config
from toremi.corpus import SOURCES, load_packages, source_archives, build_source, build_corpus


def shard_bytes(d: Path) -> dict:
    return {f.name: f.read_bytes() for f in sorted(d.glob('*.jsonl.gz'))} | {'manifest.json': (d/'manifest.json').read_bytes()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sources', nargs='+', default=list(SOURCES), help='sources to build (default: all, opt-in ones included)')
    ap.add_argument('--chunk-chars', type=int, default=6000)
    ap.add_argument('--out', default=str(Path(__file__).parent/'results'/'corpus.json'))
    a = ap.parse_args(argv)
    load0 = os.getloadavg()
    pk = load_packages()
    cached = {k: (cache_dir()/'packages'/p['file']).exists() for k, p in pk.items()}
    t = time.time()
    arch, skipped = source_archives(a.sources)
    t_fetch = time.time() - t
    cold = not all(cached[k] for k in arch)
    sources = [s for s in a.sources if s not in skipped]
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for s in sources:
            out = Path(d)/s
            out.mkdir()
            t = time.time()
            e = build_source(s, arch, out, chunk_chars=a.chunk_chars)
            sec = time.time() - t
            rows.append(dict(source=s, documents=e['documents'], characters=e['characters'], raw_documents=e['raw_documents'],
                             dropped=e['dropped'], seconds=round(sec, 2), mchars_per_s=round(e['characters'] / sec / 1e6, 2)))
        ov = dict(sources=sources, chunk_chars=a.chunk_chars)
        cfg1 = load_config(preset='tiny', run_dir=str(Path(d)/'run1'), corpus=ov)
        cfg2 = load_config(preset='tiny', run_dir=str(Path(d)/'run2'), corpus=ov)
        t = time.time()
        out1 = build_corpus(cfg1, force=True)
        t_total = time.time() - t
        out2 = build_corpus(cfg2, force=True)
        b1, b2 = shard_bytes(out1), shard_bytes(out2)
        identical = b1 == b2
        man = read_json(out1/'manifest.json')
        size = sum(len(b) for b in b1.values())
    print(f"{'source':10s} {'docs':>7s} {'chars':>12s} {'seconds':>8s} {'Mchar/s':>8s}")
    for r in rows: print(f"{r['source']:10s} {r['documents']:7d} {r['characters']:12,d} {r['seconds']:8.2f} {r['mchars_per_s']:8.2f}")
    print(f"{'total':10s} {man['documents']:7d} {man['characters']:12,d} {t_total:8.2f} {man['characters'] / t_total / 1e6:8.2f}   (build_corpus, shards {size / 1e6:.1f} MB)")
    print(f"fetch/verify archives: {t_fetch:.1f}s ({'cold: downloads included' if cold else 'warm cache: checksums only'}); "
          f"rebuild byte-identical: {identical}; skipped: {skipped or 'none'}")
    res = dict(rows=rows, total=dict(documents=man['documents'], characters=man['characters'], seconds=round(t_total, 2),
                                     shard_mb=round(size / 1e6, 2), content_sha256=man['content_sha256']),
               fetch_seconds=round(t_fetch, 2), cold=cold, byte_identical=identical, skipped=skipped, chunk_chars=a.chunk_chars,
               machine=dict(python=sys.version.split()[0], platform=platform.platform(), cpus=os.cpu_count(), loadavg_start=load0,
                            loadavg_end=os.getloadavg()),
               date=time.strftime('%Y-%m-%d %H:%M'))
    write_json(res, a.out)
    print(f"wrote {a.out}")
    if not identical: sys.exit('the two builds differ')


if __name__ == '__main__':
    main()
