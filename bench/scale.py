"""Data preparation as the corpus grows: peak memory (PSS of the process tree) and CPU-seconds of every data stage, per engine.

Usage: python bench/scale.py [--sizes 50 200 800 2000] [--engines local ray] [--stages tokenizer sample embed cluster keywords label attach]
                             [--work /tmp/toremi_scale] [--main-src DIR --main-sizes 50 200] [--out bench/results/scale.json]

Corpora of about N MB of text are made from the embedded corpus (the tiny preset's, built once into --work), its documents in
a seeded order (every source in its share at every size): copy c of every document gets the id `<id>~c`, its own group `<group>~c`, its lines in a seeded order and 5% of its words replaced, so that
copies are neither duplicates nor groups of each other. They are written as Dolma `*.jsonl.gz` shards of ~64 MB of text.
Each stage then runs as its own command (`toremi tokenizer`, `toremi sample`, `toremi annotate --stage embed`, ...) with the
tiny preset's settings (`--corpus.path`, `--engine`, `sample.num_proc=2`) in a fresh run directory per size and engine, and
`bench/_measure.py` records its wall time, CPU-seconds and the peak PSS of its process tree (Ray's processes included).
With --main-src (a tree of another version, e.g. `git archive b431b30 | tar -x -C DIR`) the tokenizer and sample stages of
that version run too, at --main-sizes. The growth of each stage's peak with the corpus is fitted (least squares, MB of
peak per MB of text) over the sizes from 200 MB up. Results go to --out (updated after every command, so a long run that is
stopped keeps what it measured). The machine's other jobs share its cores: times and CPU-seconds are upper bounds.
"""
from __future__ import annotations
import argparse, gzip, json, os, platform, random, shutil, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault('TOREMI_PROGRESS', '0')
from _measure import measure
from toremi.config import load_config
from toremi.core import write_json, read_json
from toremi.corpus import build_corpus, iter_documents

ENV = dict(HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1', TRANSFORMERS_OFFLINE='1', TOREMI_PROGRESS='0', TOREMI_LOG='WARNING')
STAGES = ('tokenizer', 'sample', 'embed', 'cluster', 'keywords', 'label', 'attach')


def make_corpus(docs: list, out: Path, mb: float, shard_mb: float = 64, seed: int = 0) -> dict:
    "About `mb` MB of text: perturbed copies of `docs` as Dolma shards in `out` (reused when its manifest says so)."
    man = out/'scale-manifest.json'
    if man.exists() and read_json(man).get('mb') == mb and read_json(man).get('order') == 'shuffled': return read_json(man)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    target, n, chars, shard, f, copy = int(mb * 1e6), 0, 0, 0, None, 0
    docs = list(docs)
    random.Random(seed).shuffle(docs)   # sources interleaved: a corpus smaller than one copy still has every source in its share
    words = sorted({w for d in docs[:2000] for w in d['text'].split()[:200]})
    while chars < target:
        rng = random.Random(seed * 1_000_003 + copy)
        for d in docs:
            if chars >= target: break
            if f is None or f.tell_chars >= shard_mb * 1e6:
                if f is not None: f.close()
                f = gzip.open(out/f'scale-{shard:05d}.jsonl.gz', 'wt', encoding='utf-8', compresslevel=1)
                f.tell_chars, shard = 0, shard + 1
            lines = d['text'].split('\n')
            if copy: rng.shuffle(lines)
            text = '\n'.join(' '.join(w if rng.random() > .05 or not copy else rng.choice(words) for w in l.split(' ')) for l in lines)
            md = dict(d['metadata'], group=f"{d['metadata'].get('group', d['id'])}~{copy}")
            f.write(json.dumps(dict(id=f"{d['id']}~{copy}", text=text, source=d['source'], metadata=md), ensure_ascii=False) + '\n')
            f.tell_chars += len(text)
            chars, n = chars + len(text), n + 1
        copy += 1
    f.close()
    res = dict(mb=mb, documents=n, characters=chars, shards=shard, copies=copy, order='shuffled')
    write_json(res, man)
    return res


def tokenizer_ceiling(tok_dir: Path, corpus: Path, mb: float = 20) -> dict:
    "MB of text per CPU-second of the Rust tokenizer alone (`encode_batch_fast`, batches of 2 MB) on the first `mb` MB of a corpus."
    import resource
    from tokenizers import Tokenizer
    tk = Tokenizer.from_file(str(tok_dir/'tokenizer.json'))
    texts = []
    for d in iter_documents(corpus):
        texts.append(d['text'])
        if sum(map(len, texts)) >= mb * 1e6: break
    ru0, n = resource.getrusage(resource.RUSAGE_SELF), sum(map(len, texts))
    batch, size = [], 0
    for t in texts + [None]:
        if t is None or size >= 2e6:
            tk.encode_batch_fast(batch, add_special_tokens=False)
            batch, size = [], 0
        if t is not None: batch, size = batch + [t], size + len(t)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
    return dict(text_mb=round(n / 1e6, 1), cpu_s=round(cpu, 2), text_mb_per_cpu_s=round(n / 1e6 / cpu, 2))


def fit(points: list) -> dict:
    "Least-squares line (MB of peak per MB of text) through (text MB, peak MB) points."
    if len(points) < 2: return {}
    n, sx, sy = len(points), sum(x for x, _ in points), sum(y for _, y in points)
    sxx, sxy = sum(x * x for x, _ in points), sum(x * y for x, y in points)
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx) if n * sxx != sx * sx else 0.0
    return dict(slope_mb_per_mb=round(slope, 4), intercept_mb=round((sy - slope * sx) / n, 1), points=len(points))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', type=float, nargs='+', default=[50, 200, 800, 2000])
    ap.add_argument('--engines', nargs='+', default=['local', 'ray'])
    ap.add_argument('--stages', nargs='+', default=list(STAGES))
    ap.add_argument('--work', default='/tmp/toremi_scale')
    ap.add_argument('--main-src', default='')
    ap.add_argument('--main-sizes', type=float, nargs='+', default=[50, 200])
    ap.add_argument('--keep-runs', action='store_true', help='keep the run directories (disk: several GB at 2 GB of text)')
    ap.add_argument('--out', default=str(Path(__file__).parent/'results'/'scale.json'))
    a = ap.parse_args(argv)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    docs = list(iter_documents(build_corpus(load_config(preset='tiny', run_dir=str(work/'embedded')))))
    res = dict(settings='tiny preset, --corpus.path <synthetic>, sample.num_proc=2', runs=[], corpora={}, load_start=[round(x, 2) for x in os.getloadavg()],
               machine=dict(cpus=os.cpu_count(), python=platform.python_version(), platform=platform.platform(),
                            note='2 cores shared with other jobs: wall times and CPU-seconds are upper bounds'), date=time.strftime('%Y-%m-%dT%H:%M:%S'))
    if Path(a.out).exists():
        old = read_json(a.out)
        res['runs'] = [r for r in old.get('runs', []) if (r['mb'], r['engine'], r['version']) not in {(m, e, 'this') for m in a.sizes for e in a.engines}]
        res['corpora'] = old.get('corpora', {})
        if 'tokenizer_alone' in old: res['tokenizer_alone'] = old['tokenizer_alone']
    toremi = [sys.executable, '-c', 'import sys; from toremi.cli import main; sys.exit(main())']
    for mb in sorted(a.sizes):
        corpus = work/f'corpus-{mb:g}'
        t = time.time()
        res['corpora'][f'{mb:g}'] = dict(make_corpus(docs, corpus, mb), seconds_to_make=round(time.time() - t, 1))
        jobs = [('this', e, '') for e in a.engines] + ([('main', 'local', str(Path(a.main_src).absolute()))] if a.main_src and mb in a.main_sizes else [])
        for version, engine, src in jobs:
            run = work/f'run-{version}-{engine}-{mb:g}'
            shutil.rmtree(run, ignore_errors=True)
            env = dict(ENV, **({'PYTHONPATH': src} if src else {}))
            common = ['--preset', 'tiny', '--run-dir', str(run), '--set', f'corpus.path={corpus}', '--set', 'sample.num_proc=2'] + (['--engine', engine] if not src else [])
            for stage in a.stages if not src else [s for s in a.stages if s in ('tokenizer', 'sample')]:
                cmd = toremi + ([stage] if stage in ('tokenizer', 'sample') else ['annotate', '--stage', stage]) + common
                r = measure(cmd, env=env, log=work/f'{version}-{engine}-{mb:g}-{stage}.log')
                row = dict(version=version, engine=engine, mb=mb, stage=stage, **r)
                if stage == 'sample' and r['rc'] == 0:
                    row['text_mb_per_cpu_s'] = round(res['corpora'][f'{mb:g}']['characters'] / 1e6 / max(r['cpu_s'], 1e-9), 2)
                    m = read_json(run/'sample'/'meta.json')['counts']
                    row.update(windows=m['windows'], got=m['got'], requested=m['requested'])
                res['runs'].append(row)
                print(json.dumps(row), flush=True)
                write_json(res, a.out)
                if r['rc'] != 0: break
                if stage == 'tokenizer' and version == 'this' and 'tokenizer_alone' not in res:
                    res['tokenizer_alone'] = tokenizer_ceiling(run/'tokenizer', corpus)
                    print('tokenizer alone:', json.dumps(res['tokenizer_alone']), flush=True)
            done = [r for r in res['runs'] if r['mb'] == mb and r['engine'] == engine and r['version'] == version and r['rc'] == 0]
            if len(done) == len(a.stages): res['runs'].append(dict(version=version, engine=engine, mb=mb, stage='end to end', rc=0,
                                                                  wall_s=round(sum(r['wall_s'] for r in done), 1), cpu_s=round(sum(r['cpu_s'] for r in done), 1),
                                                                  peak_pss_mb=max(r['peak_pss_mb'] for r in done)))
            if not a.keep_runs: shutil.rmtree(run, ignore_errors=True)
    res['growth'] = {}
    for version in ('this', 'main'):
        for engine in a.engines:
            for stage in a.stages:
                pts = [(r['mb'], r['peak_pss_mb']) for r in res['runs'] if r['version'] == version and r['engine'] == engine and r['stage'] == stage and r['rc'] == 0 and r['mb'] >= 200]
                if len(pts) >= 2: res['growth'][f'{version}/{engine}/{stage}'] = fit(pts)
    res['load_end'] = [round(x, 2) for x in os.getloadavg()]
    write_json(res, a.out)
    print(f"{'version':7} {'engine':6} {'MB':>6} {'stage':10} {'rc':>3} {'peak MB':>8} {'CPU s':>8} {'wall s':>8} {'MB/CPU-s':>8}")
    for r in res['runs']:
        print(f"{r['version']:7} {r['engine']:6} {r['mb']:>6g} {r['stage']:10} {r['rc']:>3} {r['peak_pss_mb']:>8.0f} {r['cpu_s']:>8.1f} {r['wall_s']:>8.1f} {r.get('text_mb_per_cpu_s', ''):>8}")
    print('growth of the peak from 200 MB up (MB per MB of text):', json.dumps(res['growth']))
    print(f"wrote {a.out}")


if __name__ == '__main__':
    main()
