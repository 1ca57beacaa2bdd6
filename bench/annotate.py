"""Throughput of the annotation stages (embed with each embedder, cluster, keywords) and BERTopic as the peer.

Usage: python bench/annotate.py [--corpus DIR] [--n 8000] [--work DIR] [--bertopic-path /tmp/toremi_bertopic] [--no-default-bertopic]

Real text: windows of ~600 characters (about 128 GPT-2 tokens, the `tiny` preset's seq_len) cut with
`toremi.corpus.chunk_text` from a built embedded corpus (Dolma shards; --corpus, default: build it with the
`tiny` preset into the work dir), the same number from every source, spread evenly over each source.
They are written as a contract-3 sample (train = N rows, validation/test = 100 rows each) and run through
the real stages `embed_dataset` (minilm, wordllama, tfidf), `cluster_embeddings` and `extract_keywords`.
Library imports are not timed (process_seconds includes them). Each step runs in its own process so that its peak RSS (resource.getrusage ru_maxrss, which includes the
imported libraries) is its own. The peer: BERTopic fitted on the same train texts with the same MiniLM
embeddings, (a) with the equivalent pipeline (no UMAP, KMeans with the same k, c-TF-IDF) and (b) its default
(UMAP + HDBSCAN). BERTopic is imported from --bertopic-path (installed there with
`pip install --no-deps --target DIR bertopic umap-learn pynndescent numba llvmlite hdbscan plotly narwhals`,
not into the project venv); without it the peer is a plain CountVectorizer + KMeans baseline.
Prints a table and writes bench/results/annotate.json.
"""
from __future__ import annotations
import argparse, json, os, platform, resource, shutil, subprocess, sys, time
from pathlib import Path

os.environ.setdefault('TOREMI_PROGRESS', '0')
for _k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(_k, '1')
HERE = Path(__file__).resolve().parent
EMBEDDERS = ('minilm', 'wordllama', 'tfidf')


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cfg_for(run_dir: Path, model: str):
    from toremi.config import load_config
    return load_config(preset='tiny', overrides=[f'run_dir={run_dir}', f'embed.model={model}', 'cluster.k=0',
                                                 'cluster.top_n=100', 'cluster.prompt_n=50'])


def prepare(work: Path, corpus: Path | None, n: int, window_chars: int = 600, seed: int = 0) -> Path:
    "A contract-3 sample of `n` real windows (equal share per source) in work/sample; returns that path."
    import datasets, numpy as np
    from toremi.corpus import iter_documents, chunk_text, build_corpus
    if corpus is None:
        cfg = cfg_for(work/'corpus_run', 'minilm')
        corpus = build_corpus(cfg)
    by_src = {}
    for doc in iter_documents(corpus):
        gold = (doc.get('metadata') or {}).get('gold', '') or ''
        for j, w in enumerate(chunk_text(doc['text'], window_chars)):
            by_src.setdefault(doc['source'], []).append((f"{doc['id']}#{j}", doc['id'], doc['source'], str(gold), w))
    per = -(-(n + 200) // len(by_src))
    rows = []
    for s, ws in sorted(by_src.items()):
        idx = np.linspace(0, len(ws) - 1, min(per, len(ws))).astype(int)
        rows += [ws[i] for i in idx]
    rows = [rows[i] for i in np.random.default_rng(seed).permutation(len(rows))]
    parts = {'validation': rows[:100], 'test': rows[100:200], 'train': rows[200:200 + n]}
    dd = datasets.DatasetDict({k: datasets.Dataset.from_dict({
        'id': [r[0] for r in v], 'doc_id': [r[1] for r in v], 'source': [r[2] for r in v], 'gold': [r[3] for r in v],
        'text': [r[4] for r in v], 'n_tokens': [len(r[4]) // 4 for r in v], 'input_ids': [[] for _ in v]}) for k, v in parts.items()})
    out = work/'sample'
    if out.exists(): shutil.rmtree(out)
    dd.save_to_disk(str(out))
    return out


def step(args) -> dict:
    "One measured step in this process; prints its result as JSON."
    from toremi.core import RunDir, read_json
    run = Path(args.work)/args.model
    cfg = cfg_for(run, args.model)
    import datasets, scipy.sparse, sklearn.cluster, sklearn.metrics, sklearn.feature_extraction.text  # imports are not timed
    if args.step == 'embed':
        import torch, sentence_transformers  # imports are not timed; loading the model is
        from toremi.embed import embed_dataset
        base = peak_mb()
        t = time.perf_counter()
        out = embed_dataset(cfg, force=True)
        sec = time.perf_counter() - t
        c = read_json(out/'meta.json')['counts']
        rows = c['train'] + c['validation'] + c['test']
        return dict(step=f'embed {args.model}', rows=rows, seconds=sec, docs_per_s=rows / sec, dim=c['dim'], rss_before_mb=base, peak_mb=peak_mb())
    if args.step == 'cluster':
        from toremi.cluster import cluster_embeddings
        base = peak_mb()
        t = time.perf_counter()
        out = cluster_embeddings(cfg, force=True)
        sec = time.perf_counter() - t
        r = read_json(out/'report.json')
        return dict(step=f'cluster ({args.model} emb.)', rows=r['rows'], seconds=sec, docs_per_s=r['rows'] / sec, k=r['k'],
                    silhouette=r['silhouette'], purity_source=r['purity_source'], purity_gold=r['purity_gold'], rss_before_mb=base, peak_mb=peak_mb())
    if args.step == 'keywords':
        from toremi.cluster import extract_keywords
        import numpy as np
        base = peak_mb()
        t = time.perf_counter()
        out = extract_keywords(cfg, force=True)
        sec = time.perf_counter() - t
        kw = read_json(out/'keywords.json')
        rows = len(np.load(RunDir(run).cluster/'assignments'/'train.npy'))
        return dict(step=f'keywords ({args.model} clusters)', rows=rows, seconds=sec, docs_per_s=rows / sec, k=len(kw),
                    kw_shared_top10=shared_top(kw.values()), rss_before_mb=base, peak_mb=peak_mb(), example=first_keywords(kw))
    if args.step in ('bertopic-kmeans', 'bertopic-default', 'baseline'):
        return peer(args, cfg)
    raise SystemExit(f'unknown step {args.step}')


def shared_top(lists, n: int = 10) -> float:
    "Share of the top-n keywords of each cluster that also appear in another cluster's top-n (lower = better separated)."
    tops = [list(l)[:n] for l in lists if l]
    from collections import Counter
    cnt = Counter(w for t in tops for w in set(t))
    tot = sum(len(t) for t in tops)
    return sum(1 for t in tops for w in t if cnt[w] > 1) / tot if tot else None


def first_keywords(kw: dict, n: int = 3, m: int = 8) -> dict:
    return {k: v[:m] for k, v in list(kw.items())[:n]}


def peer(args, cfg) -> dict:
    import numpy as np, datasets
    from toremi.core import RunDir, read_json
    from toremi.embed import load_embeddings
    from toremi.cluster import purity
    rd = RunDir(cfg.run_dir)
    ds = datasets.load_from_disk(str(rd.sample))['train']
    texts, src, gold = list(ds['text']), list(ds['source']), list(ds['gold'])
    X = load_embeddings(rd.embed, 'train')
    k = read_json(rd.cluster/'report.json')['k']
    ours = np.load(rd.cluster/'assignments'/'train.npy')
    from sklearn.metrics import adjusted_rand_score
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.cluster import KMeans
    if args.step != 'baseline':
        from bertopic import BERTopic
        from bertopic.dimensionality import BaseDimensionalityReduction
        from umap import UMAP
    base = peak_mb()
    t = time.perf_counter()
    if args.step == 'baseline':  # no BERTopic: bag of words -> KMeans, keywords = most frequent words per cluster
        V = CountVectorizer(stop_words='english')
        D = V.fit_transform(texts)
        labels = KMeans(k, n_init=3, random_state=0).fit_predict(X)
        terms = V.get_feature_names_out()
        kw = {}
        for c in range(k):
            s = np.asarray(D[labels == c].sum(axis=0)).ravel()
            kw[c] = [terms[i] for i in np.argsort(-s)[:100]]
    else:
        if args.step == 'bertopic-kmeans':
            m = BERTopic(umap_model=BaseDimensionalityReduction(), hdbscan_model=KMeans(k, n_init=3, random_state=0),
                         vectorizer_model=CountVectorizer(stop_words='english'), top_n_words=100, calculate_probabilities=False)
        else:
            m = BERTopic(umap_model=UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric='cosine', random_state=0),
                         vectorizer_model=CountVectorizer(stop_words='english'), top_n_words=100, calculate_probabilities=False)
        labels, _ = m.fit_transform(texts, X)
        labels = np.asarray(labels)
        kw = {t: [w for w, _ in (m.get_topic(t) or [])] for t in sorted(set(labels.tolist()))}
    sec = time.perf_counter() - t
    return dict(step=f'peer: {args.step}', rows=len(texts), seconds=sec, docs_per_s=len(texts) / sec, k=len(set(labels.tolist())),
                outliers=int((labels == -1).sum()), purity_source=purity(labels, src), purity_gold=purity(labels, gold),
                ari_vs_toremi=float(adjusted_rand_score(ours, labels)), kw_shared_top10=shared_top(kw.values()),
                rss_before_mb=base, peak_mb=peak_mb(), example=first_keywords({str(a): b for a, b in kw.items()}))


def run_step(work: Path, name: str, model: str, extra_path: str | None = None, timeout: int = 1800) -> dict:
    env = dict(os.environ)
    if extra_path: env['PYTHONPATH'] = extra_path + os.pathsep + env.get('PYTHONPATH', '')
    cmd = [sys.executable, __file__, '--step', name, '--model', model, '--work', str(work)]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if r.returncode != 0:
        print(f'step {name} {model} failed:\n{r.stderr[-3000:]}', file=sys.stderr)
        return dict(step=f'{name} {model}', error=r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f'exit {r.returncode}')
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res['process_seconds'] = time.perf_counter() - t  # with imports and model loading
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--corpus', default='/tmp/bench_corpus/corpus' if Path('/tmp/bench_corpus/corpus/manifest.json').exists() else None)
    ap.add_argument('--n', type=int, default=8000)
    ap.add_argument('--work', default='/tmp/toremi_bench_annotate')
    ap.add_argument('--bertopic-path', default='/tmp/toremi_bertopic')
    ap.add_argument('--no-default-bertopic', action='store_true')
    ap.add_argument('--reuse-embed', nargs='*', default=None, metavar='MODEL',
                    help='keep the embeddings and embed rows of these embedders (all when none named) from a previous run (same --work and --n)')
    ap.add_argument('--step')
    ap.add_argument('--model', default='minilm')  # internal: run one measured step
    args = ap.parse_args()
    if args.step:
        print(json.dumps(step(args)))
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    prev = json.loads((HERE/'results'/'annotate.json').read_text()) if args.reuse_embed is not None else None
    reuse = (args.reuse_embed or list(EMBEDDERS)) if prev else []
    if prev and (prev['n_train'] != args.n or not (work/'sample').exists()): raise SystemExit('--reuse-embed: the previous run used another --n or its work dir is gone')
    sample = work/'sample' if prev else prepare(work, Path(args.corpus) if args.corpus else None, args.n)
    print(f'prepared {args.n} train windows (+200 validation/test) from {args.corpus or "a freshly built corpus"} in {time.perf_counter() - t:.1f}s')
    for m in EMBEDDERS:
        (work/m).mkdir(exist_ok=True)
        if not (work/m/'sample').exists(): os.symlink(sample, work/m/'sample')
    results = []
    for m in EMBEDDERS:
        if m in reuse:
            results.append({**next(r for r in prev['results'] if r['step'] == f'embed {m}'), 'reused': True})
            continue
        results.append(run_step(work, 'embed', m))
        print(results[-1])
    for m in ('minilm', 'wordllama'):
        for s in ('cluster', 'keywords'):
            results.append(run_step(work, s, m))
            print(results[-1])
    bt = args.bertopic_path if args.bertopic_path and Path(args.bertopic_path, 'bertopic').exists() else None
    peers = (['bertopic-kmeans'] + ([] if args.no_default_bertopic else ['bertopic-default'])) if bt else ['baseline']
    for p in peers:
        results.append(run_step(work, p, 'minilm', bt))
        print(results[-1])
    ours = {r['step']: r for r in results}
    tot = sum(ours[s]['seconds'] for s in ('cluster (minilm emb.)', 'keywords (minilm clusters)') if s in ours)
    ratio = {}
    for p in peers:
        pr = ours.get(f'peer: {p}')
        if pr and 'seconds' in pr: ratio[p] = pr['seconds'] / tot
    print()
    print(f"{'step':34s} {'rows':>6s} {'sec':>8s} {'docs/s':>9s} {'peak MB':>8s}  quality")
    for r in results:
        if 'error' in r:
            print(f"{r['step']:34s} ERROR {r['error']}")
            continue
        q = ', '.join(f'{k}={r[k]:.3f}' if isinstance(r[k], float) else f'{k}={r[k]}' for k in
                      ('k', 'silhouette', 'purity_source', 'purity_gold', 'ari_vs_toremi', 'kw_shared_top10', 'outliers') if k in r and r[k] is not None)
        print(f"{r['step']:34s} {r['rows']:6d} {r['seconds']:8.2f} {r['docs_per_s']:9.1f} {r['peak_mb']:8.0f}  {q}")
    for p, v in ratio.items(): print(f'{p} seconds / (toremi cluster + keywords seconds) = {v:.2f}')
    out = dict(n_train=args.n, corpus=args.corpus, cpu_count=os.cpu_count(), loadavg_end=os.getloadavg(), platform=platform.platform(),
               python=platform.python_version(), results=results, peer_over_toremi_seconds=ratio,
               note='docs/s over every row of the step; peak_mb = the step process peak RSS including imported libraries; '
                    'machine shared with other jobs, so timings are noisy')
    (HERE/'results').mkdir(exist_ok=True)
    (HERE/'results'/'annotate.json').write_text(json.dumps(out, indent=2) + '\n')
    print(f"wrote {HERE/'results'/'annotate.json'}")


if __name__ == '__main__':
    main()
