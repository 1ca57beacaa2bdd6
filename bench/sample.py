"""Sampling throughput (tokens/s) of `toremi.sample` with 1 and 2 tokenizer processes.

Usage: python bench/sample.py [--run-dir /tmp/bench_corpus] [--num-proc 1 2] [--tokenizer bpe|gpt2] [--synthetic-mb 0]

Builds the embedded corpus with the `tiny` preset into --run-dir (reused when current), builds the tokenizer,
then for each num_proc times (a) the scan and the tokenize + window pass alone (best of --repeat) (`window_corpus`: passes 1
and 2 of the stage, in num_proc worker processes) and (b) the whole `sample_corpus` stage (once) (scan, tokenize, window,
choose the budget windows, write the splits),
forced to rerun. Prints a table and writes bench/results/sample.json.
With --synthetic-mb N > 0 it uses a synthetic corpus of about N MB of text instead of the embedded one.
"""
from __future__ import annotations
import argparse, gzip, json, os, platform, random, sys, tempfile, time
from pathlib import Path

os.environ.setdefault('TOREMI_PROGRESS', '0')
from toremi.core import read_json, write_json, RunDir
from toremi.config import load_config
from toremi.tokenizer import build_tokenizer
from toremi.split import corpus_path
from toremi.corpus import iter_documents
from toremi.sample import sample_corpus, window_corpus, check_sample_config


def synthetic_corpus(root: Path, mb: float, seed: int = 0) -> Path:
    "About `mb` MB of word-salad documents in five sources, as Dolma shards."
    rng = random.Random(seed)
    words = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(2, 9))) for _ in range(20000)]
    root.mkdir(parents=True, exist_ok=True)
    target, n = int(mb * 1e6), 0
    with gzip.open(root/'synthetic-00000.jsonl.gz', 'wt', encoding='utf-8') as f:
        i = 0
        while n < target:
            text = ' '.join(rng.choices(words, k=rng.randint(300, 1000)))
            f.write(json.dumps(dict(id=f'syn-{i}', text=text, source=f's{i % 5}', metadata={})) + '\n')
            n += len(text)
            i += 1
    return root


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--run-dir', default='/tmp/bench_corpus')
    ap.add_argument('--num-proc', type=int, nargs='+', default=[1, 2])
    ap.add_argument('--tokenizer', default='', help="override sample.tokenizer (tiny preset: bpe, vocab 4096)")
    ap.add_argument('--synthetic-mb', type=float, default=0)
    ap.add_argument('--repeat', type=int, default=2, help='timings of the tokenize step per num_proc; the best is reported (shared cores are noisy)')
    ap.add_argument('--out', default=str(Path(__file__).parent/'results'/'sample.json'))
    a = ap.parse_args(argv)
    load0 = os.getloadavg()
    over = [f'sample.tokenizer={a.tokenizer}'] if a.tokenizer else []
    if a.synthetic_mb:
        syn = synthetic_corpus(Path(a.run_dir)/'synthetic', a.synthetic_mb)
        over += [f'corpus.path={syn}', 'sample.ratios={}']
    cfg = load_config(preset='tiny', run_dir=a.run_dir, overrides=over)
    t = time.time()
    if not a.synthetic_mb:
        from toremi.corpus import build_corpus
        build_corpus(cfg)
    t_corpus = time.time() - t
    t = time.time()
    tok = build_tokenizer(cfg)
    t_tok = time.time() - t
    mt = check_sample_config(cfg.sample)
    n_docs = n_chars = 0
    for d in iter_documents(corpus_path(cfg), cfg.corpus.on_bad_line):
        n_docs, n_chars = n_docs + 1, n_chars + len(d['text'])
    rows = []
    for n in a.num_proc:
        times = []
        c = load_config(preset='tiny', run_dir=a.run_dir, overrides=over + [f'sample.num_proc={n}'])
        for _ in range(max(1, a.repeat)):
            with tempfile.TemporaryDirectory(dir=a.run_dir) as w:
                t = time.time()
                _, _, W = window_corpus(c, tok, w, mt)
                times.append(time.time() - t)
                tokens = sum(W['tokens'].values()) + sum(W['dropped_by_source'].values())
        t_map = min(times)
        t = time.time()
        p = sample_corpus(c, force=True)
        t_stage = time.time() - t
        m = read_json(p/'meta.json')['counts']
        rows.append(dict(num_proc=n, tokenize_seconds=round(t_map, 2), tokenize_all_seconds=[round(x, 2) for x in times], tokenized_tokens=int(tokens), tokenize_tokens_per_s=round(tokens / t_map),
                         stage_seconds=round(t_stage, 2), stage_tokens_per_s=round(tokens / t_stage), train_tokens=m['got'],
                         requested=m['requested'], windows=m['windows'], short_sources=m['short_sources']))
    res = dict(corpus='synthetic' if a.synthetic_mb else 'embedded (tiny preset)', corpus_path=str(corpus_path(cfg)), documents=n_docs,
               characters=n_chars, tokenizer=cfg.sample.tokenizer, vocab_size=cfg.sample.vocab_size if cfg.sample.tokenizer == 'bpe' else 50257,
               seq_len=cfg.sample.seq_len, corpus_seconds=round(t_corpus, 2), tokenizer_seconds=round(t_tok, 2), runs=rows,
               machine=dict(cpus=os.cpu_count(), python=platform.python_version(), platform=platform.platform(),
                            loadavg_start=[round(x, 2) for x in load0], loadavg_end=[round(x, 2) for x in os.getloadavg()]),
               date=time.strftime('%Y-%m-%dT%H:%M:%S'))
    print(f"corpus: {res['corpus']}, {n_docs:,} documents, {n_chars:,} characters; tokenizer {res['tokenizer']} "
          f"(vocab {res['vocab_size']}), seq_len {res['seq_len']}; corpus {t_corpus:.1f}s, tokenizer {t_tok:.1f}s (~0 when reused)")
    print(f"machine: {os.cpu_count()} CPUs, load average {load0[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end (other jobs share the cores)")
    print(f"{'num_proc':>8} {'tokens':>12} {'tokenize s':>10} {'tokenize tok/s':>15} {'stage s':>8} {'stage tok/s':>12} {'train tokens':>13}")
    for r in rows:
        print(f"{r['num_proc']:>8} {r['tokenized_tokens']:>12,} {r['tokenize_seconds']:>10.1f} {r['tokenize_tokens_per_s']:>15,} "
              f"{r['stage_seconds']:>8.1f} {r['stage_tokens_per_s']:>12,} {r['train_tokens']:>13,}")
    write_json(res, a.out)
    print(f"wrote {a.out}")
    return res


if __name__ == '__main__':
    main()
