"""Memory of the tokenizer and sample stages with one very long document (issue 27, item 4).

Usage: python bench/longdoc.py [--mb 50] [--work /tmp/toremi_longdoc] [--main-src DIR] [--out bench/results/longdoc.json]

Three corpora of the smoke preset's embedded corpus (200 documents): as it is, and with one more document of
`--mb` MB of text on one line, either words (the corpus's own texts, newlines replaced by spaces, repeated) or
one word of `--mb` million letters (`abc...z` repeated): the pre-tokenizer then sees one 50-million-character word
(run with the GPT-2 tokenizer: a BPE trained on such a word would take hours on either version). For each, runs
`toremi tokenizer` and then `toremi sample` (smoke preset, `--corpus.path`) in fresh run directories and measures
each command's peak memory (PSS of its process tree) and CPU-seconds with `bench/_measure.py`. With `--main-src`
(a checkout of another version, e.g. `git archive <commit> | tar -x -C DIR`), the same commands run on that
version too (PYTHONPATH=DIR), so before and after come from one run. Reports the growth of each stage's peak
per character of the long document; the target is at most ~10 bytes per character.
"""
from __future__ import annotations
import argparse, json, os, platform, shutil, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault('TOREMI_PROGRESS', '0')
from _measure import measure
from toremi.config import load_config
from toremi.core import write_json, read_json
from toremi.corpus import build_corpus, iter_documents

ENV = dict(HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1', TRANSFORMERS_OFFLINE='1', TOREMI_PROGRESS='0', TOREMI_LOG='WARNING')


def corpora(work: Path, mb: float) -> dict:
    "The smoke corpus as one JSONL file, and the same plus one document of `mb` MB on one line."
    cfg = load_config(preset='smoke', run_dir=str(work/'embedded'))
    docs = list(iter_documents(build_corpus(cfg)))
    base = work/'base.jsonl'
    if not base.exists():
        with open(base, 'w', encoding='utf-8') as f:
            for d in docs: f.write(json.dumps(d, ensure_ascii=False) + '\n')
    out = {'base': (base, 0)}
    flat = ' '.join(' '.join(d['text'].split()) for d in docs)
    for kind, t in (('words', flat + ' '), ('letters', 'abcdefghijklmnopqrstuvwxyz')):
        long = work/f'long{mb:g}-{kind}.jsonl'
        if not long.exists():
            text = (t * (int(mb * 1e6) // len(t) + 1))[:int(mb * 1e6)]
            shutil.copy(base, long)
            with open(long, 'a', encoding='utf-8') as f:
                f.write(json.dumps(dict(id='long/one-line', text=text, source='books', metadata={}), ensure_ascii=False) + '\n')
        out[kind] = (long, int(mb * 1e6))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--mb', type=float, default=50)
    ap.add_argument('--work', default='/tmp/toremi_longdoc')
    ap.add_argument('--main-src', default='', help='a source tree of the version to compare with (its toremi/ and data/)')
    ap.add_argument('--timeout', type=float, default=1800, help='seconds a command may run (then it is killed and recorded as timed out)')
    ap.add_argument('--only', choices=('this', 'main'), default='', help="run one version; the other version's rows are kept from --out")
    ap.add_argument('--out', default=str(Path(__file__).parent/'results'/'longdoc.json'))
    a = ap.parse_args(argv)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    cs = corpora(work, a.mb)
    versions = {'this': ''} | ({'main': str(Path(a.main_src).absolute())} if a.main_src else {})
    kept = [r for r in read_json(a.out)['runs'] if r['version'] != a.only] if a.only and Path(a.out).exists() else []
    if a.only: versions = {k: v for k, v in versions.items() if k == a.only}
    rows, load0 = [], os.getloadavg()
    toremi = [sys.executable, '-c', 'import sys; from toremi.cli import main; sys.exit(main())']
    jobs = [('base', 'bpe'), ('words', 'bpe'), ('base', 'gpt2'), ('letters', 'gpt2')]
    for v, src in versions.items():
        env = dict(ENV, **({'PYTHONPATH': src} if src else {}))
        for name, tok in jobs:
            path, long_chars = cs[name]
            run = work/f'run-{v}-{name}-{tok}'
            shutil.rmtree(run, ignore_errors=True)
            for stage in ('tokenizer', 'sample'):
                r = measure(toremi + [stage, '--preset', 'smoke', '--run-dir', str(run), '--corpus.path', str(path), '--sample.tokenizer', tok],
                            env=env, log=work/f'{v}-{name}-{tok}-{stage}.log', timeout=a.timeout)
                rows.append(dict(version=v, corpus=name, tokenizer=tok, long_chars=long_chars, stage=stage, **r))
                print(json.dumps(rows[-1]), flush=True)
                if r['rc'] != 0: break
    rows = kept + rows
    res = dict(mb=a.mb, runs=rows, growth_bytes_per_char={})
    for v in sorted({r['version'] for r in rows}):
        for stage in ('tokenizer', 'sample'):
            for kind, tok in (('words', 'bpe'), ('letters', 'gpt2')):
                b = [r for r in rows if (r['version'], r['stage'], r['corpus'], r.get('tokenizer')) == (v, stage, 'base', tok) and r['rc'] == 0]
                l = [r for r in rows if (r['version'], r['stage'], r['corpus'], r.get('tokenizer')) == (v, stage, kind, tok) and r['rc'] == 0]
                for m in ('peak_pss_mb', 'peak_anon_mb'):
                    if b and l: res['growth_bytes_per_char'][f'{v}/{kind}/{stage}/{m[5:-3]}'] = round((l[0][m] - b[0][m]) * 2**20 / l[0]['long_chars'], 2)
    res['machine'] = dict(cpus=os.cpu_count(), python=platform.python_version(), loadavg_start=[round(x, 2) for x in load0],
                          loadavg_end=[round(x, 2) for x in os.getloadavg()], note='2 shared cores: CPU-seconds and wall times are upper bounds')
    res['date'] = time.strftime('%Y-%m-%dT%H:%M:%S')
    print(f"{'version':8} {'corpus':7} {'tok':5} {'stage':10} {'rc':>4} {'PSS MB':>8} {'anon MB':>8} {'CPU s':>8} {'wall s':>8}")
    for r in rows: print(f"{r['version']:8} {r['corpus']:7} {r.get('tokenizer', ''):5} {r['stage']:10} {r['rc']:>4} {r['peak_pss_mb']:>8.0f} {r.get('peak_anon_mb', 0):>8.0f} {r['cpu_s']:>8.1f} {r['wall_s']:>8.1f}")
    print('peak growth per character of the long document (bytes):', res['growth_bytes_per_char'])
    write_json(res, a.out)
    print(f"wrote {a.out}")


if __name__ == '__main__':
    main()
