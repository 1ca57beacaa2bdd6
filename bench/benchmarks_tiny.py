"""What the seven real benchmarks cost the CPU study, per item, and what a 128-position model loses of them.

Usage: python bench/benchmarks_tiny.py [--run-dir runs/tiny] [--items 200] [--threads 1] [--batch-size 32]

With the `tiny` preset's tokenizer (of `--run-dir`; its corpus and tokenizer stages are made if missing), one thread (the
CPU study evaluates two runs side by side, one thread each):
  1. per task, over all of its docs: the items lm-eval scores whole, on a left-truncated context, or would crash on
     (a continuation longer than the 128 positions: left out), with the tiny preset's 2,048-token BPE;
  2. per task, the wall time of lm-eval scoring a seeded subset of `--items` items with a randomly initialised
     model of the tiny preset's shape (the cost does not depend on the weights), task by task and all seven in one
     call (as `toremi evaluate` runs them), so seconds per item and the per-call overhead;
  3. the item counts the tiny study can afford: the added minutes of the core study (12 evaluated strategy runs,
     2 side by side) for a few values of `eval.benchmark_items`, and the binomial half-width of a 95% interval
     at chance for each.
Writes bench/results/benchmarks_tiny.json. Timings on the project's shared 2-core machine are upper bounds.
"""
from __future__ import annotations
import argparse, json, math, os, platform, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--run-dir', default='runs/tiny')
    ap.add_argument('--items', type=int, default=200)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--batch-size', type=int, default=32)  # the tiny preset's eval.batch_size
    ap.add_argument('--out', default=str(HERE/'results'/'benchmarks_tiny.json'))
    a = ap.parse_args(argv)
    for k in ('HF_HUB_OFFLINE', 'HF_DATASETS_OFFLINE', 'TRANSFORMERS_OFFLINE'): os.environ[k] = '1'
    import torch
    torch.set_num_threads(a.threads)
    from transformers import AutoTokenizer
    from toremi.config import load_config
    from toremi.core import RunDir
    from toremi.model import build_model
    from toremi.benchmarks import BENCHMARKS, benchmark_data, write_benchmark_tasks, binary_stderr
    from toremi.evaluate import run_lm_eval
    rd = RunDir(a.run_dir)
    cfg = load_config(preset='tiny', overrides=[f'run_dir={a.run_dir}'])
    if not (rd.tokenizer/'tokenizer.json').is_file():   # the tiny preset's tokenizer: the corpus and tokenizer stages (~1 min)
        from toremi.corpus import build_corpus
        from toremi.tokenizer import build_tokenizer
        build_corpus(cfg)
        build_tokenizer(cfg)
    tok = AutoTokenizer.from_pretrained(str(rd.tokenizer))
    T = cfg.sample.seq_len
    load0 = os.getloadavg()
    bench = benchmark_data(rd.root)
    names = list(BENCHMARKS)
    out = dict(setup=f"tiny preset model (random init, {cfg.train.n_layer} layers, d={cfg.train.n_embd}, {T} positions, vocabulary {len(tok)}), "
                     f"fp32, {a.threads} thread(s), lm-eval batch {a.batch_size}, {a.items} seeded items per task",
               machine=platform.machine(), tasks={})
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        ckpt = d/'final'
        model = build_model(cfg, len(tok), T, tok.eos_token_id)
        model.save_pretrained(ckpt)
        tok.save_pretrained(ckpt)
        full = write_benchmark_tasks(names, bench, d/'all', tokenizer=tok, max_tokens=T)  # every doc: what 128 positions lose
        t0 = time.perf_counter()
        sub = write_benchmark_tasks(names, bench, d/'sub', tokenizer=tok, max_tokens=T, items=a.items, seed=0)
        prep_s = time.perf_counter() - t0
        for n in names:
            t0 = time.perf_counter()
            r = run_lm_eval(ckpt, [n], d/'sub', batch_size=a.batch_size, device='cpu')[n]
            dt = time.perf_counter() - t0
            m = BENCHMARKS[n].metric
            out['tasks'][n] = dict(docs=full[n]['docs'], excluded_all=full[n]['excluded'], truncated_all=full[n]['truncated'],
                                   excluded_share=round(full[n]['excluded'] / full[n]['docs'], 4), truncated_share=round(full[n]['truncated'] / full[n]['docs'], 4),
                                   items=r['n'], seconds=round(dt, 2), seconds_per_item=round(dt / r['n'], 4), metric=m, score=round(r[m], 4),
                                   stderr=round(binary_stderr(r[m], r['n']), 4), chance=sub[n]['chance'], majority=sub[n]['majority'])
            print(f"{n:11s} {r['n']:4d} items {dt:6.1f} s  {1000 * dt / r['n']:6.1f} ms/item  {m} {r[m]:.3f}  "
                  f"(all docs: {full[n]['excluded']} excluded, {full[n]['truncated']} truncated of {full[n]['docs']})", flush=True)
        t0 = time.perf_counter()
        together = run_lm_eval(ckpt, names, d/'sub', batch_size=a.batch_size, device='cpu')
        all_s = time.perf_counter() - t0
    n_items = sum(together[n]['n'] for n in names)
    per_item = sum(v['seconds'] for v in out['tasks'].values()) / n_items
    fixed = max(all_s - per_item * n_items, 0.0)
    out['all_seven_one_call'] = dict(seconds=round(all_s, 1), items=n_items, seconds_per_item=round(all_s / n_items, 4))
    out['task_files_seconds'] = round(prep_s, 1)
    # the core study: 12 strategy runs evaluated, 2 side by side (one thread each)
    runs, jobs = len(cfg.study.strategies) * len(cfg.study.seeds), cfg.study.jobs
    cost = {n: v['seconds_per_item'] for n, v in out['tasks'].items()}
    out['proposal'] = {str(k): dict(added_minutes_core_study=round((fixed + k * sum(cost.values())) * runs / jobs / 60, 2),
                                     ci95_halfwidth_at_chance={n: round(1.96 * math.sqrt(c * (1 - c) / k), 3) for n, c in
                                                               ((n, out['tasks'][n]['chance']) for n in names) if c})
                       for k in (50, 100, 150, 200, 500)}
    out['load_average'] = dict(before=[round(x, 2) for x in load0], after=[round(x, 2) for x in os.getloadavg()])
    print(f"all seven in one call: {all_s:.1f} s for {n_items} items; task files {prep_s:.1f} s; load {out['load_average']}")
    for k, v in out['proposal'].items(): print(f"benchmark_items={k}: +{v['added_minutes_core_study']} min on the core study")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + '\n')
    print('->', a.out)


if __name__ == '__main__':
    main()
