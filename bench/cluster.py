"""Clustering at the paper's size: sklearn MiniBatchKMeans vs faiss k-means, cosine geometry (unit rows).

Synthetic data: `--rows` x `--dim` float32 unit vectors drawn around `2*k` random unit centres (Zipf-sized
groups, noise so that a row's cosine to its centre is about 0.6, like sentence embeddings). Each method runs
in its own process on the same memory-mapped matrix (so its peak RSS is its own) and is timed from the start
of the fit to the assignment of every row; inertia = sum of ||x - c||^2 over all rows with unit centroids
(= sum 2(1 - cos)) of the labels each method gave, computed the same way for both. Time = fit + assigning
every row (what the cluster stage does). sklearn runs under a time cap (`--cap-s`) on its fit: when it does not
finish, the row says so and reports what it did within the cap (mini-batch steps, passes over the data), then
assigns every row to the centroids it has. Its default k-means++ initialisation cannot finish at k = 10,000 on
2 cores, so the sklearn run starts from random rows; the k-means++ time is measured at k = 1,000 and scaled.

    python bench/cluster.py                          # 1M x 384, k = 10,000 (about 30 minutes on 2 cores)
    python bench/cluster.py --rows 200000 --k 1000   # a smaller check
    python bench/cluster.py --embedded runs/tiny     # the embedded corpus's train embeddings at its own k

Writes bench/results/cluster.json (with `uptime` load averages before and after each method).
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def load_avg() -> str:
    return ', '.join(f'{x:.2f}' for x in os.getloadavg())


def synth(rows: int, dim: int, k: int, path: Path, seed: int = 0):
    "Write a (rows, dim) float32 matrix of unit rows around 2k Zipf-sized groups to `path` (.npy)."
    rng = np.random.default_rng(seed)
    n_groups = 2 * k
    centres = rng.standard_normal((n_groups, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    p = 1 / np.arange(1, n_groups + 1) ** 0.7
    p /= p.sum()
    X = np.lib.format.open_memmap(path, mode='w+', dtype=np.float32, shape=(rows, dim))
    sigma = np.float32(np.sqrt(1.78 / dim))  # cos(row, centre) ~ 1/sqrt(1 + dim*sigma^2) ~ 0.6
    for a in range(0, rows, 100_000):
        b = min(a + 100_000, rows)
        g = rng.choice(n_groups, b - a, p=p)
        Z = centres[g] + sigma * rng.standard_normal((b - a, dim), dtype=np.float32)
        X[a:b] = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    X.flush()
    del X


def label_inertia(X, C, labels, batch: int = 100_000) -> float:
    "Sum over rows of ||x - c_label||^2 = 2(1 - x.c_label) with unit centroids: the inertia of the labels a method gave."
    C = C / np.linalg.norm(C, axis=1, keepdims=True)
    return float(sum(np.sum(2 * (1 - np.einsum('ij,ij->i', X[a:a + batch], C[labels[a:a + batch]]))) for a in range(0, len(X), batch)))


def kmeanspp_probe(X, k: int = 1000, seed: int = 0) -> float:
    "Seconds of sklearn's k-means++ initialisation at k (init_size = 3k rows), to extrapolate the cost at the real k."
    from sklearn.cluster import MiniBatchKMeans
    t0 = time.time()
    MiniBatchKMeans(n_clusters=k, batch_size=2048, random_state=seed, n_init=1, init_size=3 * k).partial_fit(X[:3 * k])
    return time.time() - t0


def worker(method: str, data: str, k: int, cap_s: float, out: str, seed: int, stage: bool = False):
    "Run one method in this process (fit + assign every row) and write its result JSON to `out`."
    sys.path.insert(0, str(ROOT))
    from toremi.cluster import fit_clusters, assign
    X = np.ascontiguousarray(np.load(data, mmap_mode='r'))  # both methods work on an in-memory matrix
    info = {}
    t0 = time.time()
    if stage:  # the embedded corpus: both backends exactly as the cluster stage runs them (n_init 3)
        labels, C = fit_clusters(X, k, seed=seed, backend=method, n_init=3)
        info.update(note=f'toremi.cluster.fit_clusters(backend={method}, n_init=3) as in the cluster stage' +
                    (' (scikit-learn: exact Lloyd k-means below 20,000 rows)' if method == 'sklearn' else ''))
        done = True
    elif method == 'faiss':
        labels, C = fit_clusters(X, k, seed=seed, backend='faiss', n_init=1, niter=20, max_points_per_centroid=256, nprobe=16)
        info.update(note='toremi.cluster.fit_clusters(backend=faiss): spherical, two-level for k >= 1024 (sqrt(k) coarse clusters, '
                         '20 coarse / 25 fine iterations), then 5 Lloyd iterations on the training rows, trained on min(n, 256k) rows; '
                         'every row assigned through an IVF over the centroids (sqrt(k) cells, nprobe 16)')
        done = True
    else:
        from sklearn.cluster import MiniBatchKMeans
        # The stage's MiniBatchKMeans (batch 2048) stepped with partial_fit so that a time cap can stop it between steps.
        # init='random': sklearn's default k-means++ initialisation alone does not finish at this k (see kmeanspp_* fields).
        km = MiniBatchKMeans(n_clusters=k, batch_size=2048, random_state=seed, n_init=1, init='random')
        rng = np.random.default_rng(seed)
        km.partial_fit(X[rng.integers(0, len(X), 3 * k)])  # the first call initialises from >= k rows
        steps, done = 1, False
        while time.time() - t0 < cap_s:
            km.partial_fit(X[rng.integers(0, len(X), 2048)])
            steps += 1
            if steps * 2048 >= 100 * len(X):
                done = True
                break
        C = km.cluster_centers_.astype(np.float32)
        C /= np.linalg.norm(C, axis=1, keepdims=True)
        fit_s = time.time() - t0
        labels = assign(X, C)  # exact, as the stage assigns sklearn's centroids
        info.update(steps=steps, passes=round(steps * 2048 / len(X), 3), fit_only_seconds=round(fit_s, 1),
                    note=(f"MiniBatchKMeans(batch_size=2048, init='random') via partial_fit, stopped by the {cap_s:.0f} s cap "
                          f"(100 passes = max_iter not reached), then every row assigned exactly" if not done else 'MiniBatchKMeans 100 passes'))
    seconds = time.time() - t0
    if method == 'sklearn' and k > 1000 and not stage:
        p = kmeanspp_probe(X, 1000, seed)
        info.update(kmeanspp_seconds_k1000=round(p, 1), kmeanspp_seconds_estimate=round(p * (k / 1000) ** 2 * np.log(k) / np.log(1000)),
                    kmeanspp_note='measured at k=1000 (init_size 3000), scaled by k x init_size x log k to this k: an estimate')
    res = dict(method=method, finished=done, seconds=round(seconds, 1), inertia=round(label_inertia(X, C, labels), 1),
               clusters_used=int(len(np.unique(labels))), peak_rss_gb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2), **info)
    Path(out).write_text(json.dumps(res))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--rows', type=int, default=1_000_000)
    ap.add_argument('--dim', type=int, default=384)
    ap.add_argument('--k', type=int, default=10_000)
    ap.add_argument('--methods', default='faiss,sklearn')
    ap.add_argument('--cap-s', type=float, default=900, help='time cap of the sklearn fit (seconds)')
    ap.add_argument('--embedded', help='a run dir: cluster its train embeddings (RunDir.embed) at its own cluster.k instead')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=str(ROOT/'bench'/'results'/'cluster.json'))
    ap.add_argument('--worker', help=argparse.SUPPRESS)
    ap.add_argument('--data', help=argparse.SUPPRESS)
    ap.add_argument('--result', help=argparse.SUPPRESS)
    ap.add_argument('--stage', action='store_true', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker: return worker(a.worker, a.data, a.k, a.cap_s, a.result, a.seed, a.stage)
    with tempfile.TemporaryDirectory() as d:
        data = Path(d)/'x.npy'
        t0 = time.time()
        if a.embedded:
            sys.path.insert(0, str(ROOT))
            from toremi.embed import load_embeddings
            from toremi.core import RunDir, read_json
            X = load_embeddings(RunDir(a.embedded).embed, 'train')
            X /= np.linalg.norm(X, axis=1, keepdims=True)
            np.save(data, X)
            k = read_json(RunDir(a.embedded).cluster/'meta.json')['counts']['k'] if (RunDir(a.embedded).cluster/'meta.json').exists() else a.k
            shape, what = X.shape, f'embedded corpus {a.embedded} (train)'
            del X
        else:
            synth(a.rows, a.dim, a.k, data, a.seed)
            k, shape, what = a.k, (a.rows, a.dim), 'synthetic, 2k Zipf-sized groups'
        print(f'data {shape} ({what}) made in {time.time() - t0:.0f}s; k={k}')
        rows = []
        for m in a.methods.split(','):
            before = load_avg()
            res = Path(d)/f'{m}.json'
            r = subprocess.run([sys.executable, __file__, '--worker', m, '--data', str(data), '--k', str(k), '--cap-s', str(a.cap_s),
                                '--result', str(res), '--seed', str(a.seed)] + (['--stage'] if a.embedded else []), env=dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '2')))
            if r.returncode != 0: raise SystemExit(f'{m} failed with exit code {r.returncode}')
            row = json.loads(res.read_text())
            row.update(load_before=before, load_after=load_avg())
            rows.append(row)
            print(json.dumps(row))
    by = {r['method']: r for r in rows}
    summary = {}
    if 'faiss' in by and 'sklearn' in by:
        f, s = by['faiss'], by['sklearn']
        summary = dict(speedup=round(s['seconds'] / f['seconds'], 1), sklearn_finished=s['finished'],
                       inertia_ratio_faiss_over_sklearn=round(f['inertia'] / s['inertia'], 4))
    out = dict(data=dict(rows=shape[0], dim=shape[1], k=k, what=what), cores=os.cpu_count(), results=rows, summary=summary,
               command=' '.join(sys.argv), date=time.strftime('%Y-%m-%d %H:%M'))
    p = Path(a.out)
    old = json.loads(p.read_text()) if p.exists() else {}
    key = 'embedded' if a.embedded else f'synthetic_{shape[0]}x{shape[1]}_k{k}'
    old[key] = out
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(old, indent=2) + '\n')
    print(f"{'method':8s} {'finished':>8s} {'seconds':>8s} {'peak GB':>8s} {'inertia':>12s} {'passes':>7s}")
    for r in rows: print(f"{r['method']:8s} {str(r['finished']):>8s} {r['seconds']:8.1f} {r['peak_rss_gb']:8.2f} {r['inertia']:12.1f} {r.get('passes', ''):>7}")
    if summary: print(summary)


if __name__ == '__main__':
    main()
