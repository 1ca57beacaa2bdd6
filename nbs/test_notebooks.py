"""The test command's runner: every library notebook in `nbs/` is one pytest test (executed with nbdev's
`test_nb`, so the `tst_flags` of settings.ini — notest, slow, gpu — are skipped unless TOREMI_TEST_FLAGS
names them), plus the check that `nbdev_export` and `nbdev_clean` leave the tree unchanged, plus the
study notebooks run by papermill at `smoke` size on a real smoke run of the pipeline.
pytest prints the closing `N passed, N failed` line that CI reads."""
import hashlib, os, shutil, subprocess, sys
from pathlib import Path
import pytest

NBS = Path(__file__).resolve().parent
ROOT = NBS.parent
BIN = Path(sys.executable).parent
LIB_NBS = sorted(NBS.glob('[0-9]*.ipynb'))
STUDY_NBS = sorted((NBS/'study').glob('[0-9]*.ipynb'))
SKIP = {'notest', 'slow', 'gpu'} - set(os.environ.get('TOREMI_TEST_FLAGS', '').split())
os.environ.setdefault('TOREMI_PROGRESS', '0')
for k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'TOREMI_THREADS'): os.environ.setdefault(k, '1')  # as `make test`: the same kernels on every machine
for k in ('HF_HUB_OFFLINE', 'HF_DATASETS_OFFLINE', 'TRANSFORMERS_OFFLINE'): os.environ.setdefault(k, '1')


def _tree_hash():
    h = hashlib.sha256()
    for f in sorted([*ROOT.joinpath('toremi').glob('*.py'), *NBS.rglob('*.ipynb')]):
        if '.ipynb_checkpoints' in f.parts: continue
        h.update(str(f.relative_to(ROOT)).encode()); h.update(f.read_bytes())
    return h.hexdigest()


@pytest.mark.xdist_group('sync')
def test_export_and_clean_leave_no_diff():
    "The package is what the notebooks export, and the notebooks are clean (no outputs, no stray metadata)."
    before = _tree_hash()
    for cmd in ('nbdev_export', 'nbdev_clean'):
        r = subprocess.run([str(BIN/cmd)], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, f'{cmd} failed:\n{r.stdout}\n{r.stderr}'
    assert _tree_hash() == before, ('nbdev_export/nbdev_clean changed toremi/ or nbs/: run both and commit '
                                    '(see `git status`)')


@pytest.mark.parametrize('nb', LIB_NBS, ids=[p.stem for p in LIB_NBS])
def test_notebook(nb):
    "Run one library notebook top to bottom (flagged cells skipped)."
    from nbdev.test import test_nb
    from execnb.shell import CaptureShell
    if not hasattr(CaptureShell, '_cell_idx'): CaptureShell._cell_idx = None  # execnb 0.1.18's traceback printer needs it
    ok, secs = test_nb(nb, skip_flags=sorted(SKIP), showerr=True)
    assert ok, f'{nb.name} failed (traceback above)'


def _toremi(*args, timeout=1800):
    "Run the `toremi` command line; fail with the tail of its output."
    r = subprocess.run([str(BIN/'toremi'), *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f'toremi {" ".join(map(str, args))} failed:\n{r.stdout[-4000:]}\n{r.stderr[-6000:]}'
    return r


@pytest.fixture(scope='session')
def smoke_run(tmp_path_factory):
    "A complete pipeline + core and extra study at `smoke` size on the embedded corpus (real data, seconds-scale models, two runs side by side)."
    run_dir = tmp_path_factory.mktemp('smoke')/'run'
    _toremi('study', '--preset', 'smoke', '--run-dir', run_dir, '--no-figures')
    _toremi('study-extra', '--preset', 'smoke', '--run-dir', run_dir, '--no-figures')
    return run_dir


@pytest.mark.xdist_group('study')
@pytest.mark.parametrize('nb', STUDY_NBS, ids=[p.stem for p in STUDY_NBS])
def test_study_notebook(nb, smoke_run, tmp_path):
    "Each study notebook runs under papermill on the smoke results and writes its figures and CSVs."
    import papermill as pm
    figs = tmp_path/'figures'
    pm.execute_notebook(str(nb), str(tmp_path/nb.name), parameters=dict(run_dir=str(smoke_run), figures_dir=str(figs)),
                        cwd=str(nb.parent), progress_bar=False, kernel_name='python3')
    made = sorted(p.name for p in figs.glob('*'))
    if nb.stem == '10_results':   # the results page, beside the figures folder, from the tables the others wrote
        assert (tmp_path/'RESULTS.md').is_file() and '# Results' in (tmp_path/'RESULTS.md').read_text(), made
    else: assert any(n.endswith('.png') for n in made) and any(n.endswith('.csv') for n in made), made


@pytest.mark.xdist_group('study')
def test_figures_command(smoke_run, tmp_path):
    "`toremi figures` draws into <run_dir>/figures by default and reads only the study's runs; with no finished run it fails loudly."
    import pandas as pd
    stray = smoke_run/'train'/'uniform-s7'
    shutil.copytree(smoke_run/'train'/'uniform-s0', stray)   # a seed the study does not name
    try:
        _toremi('figures', '--run-dir', smoke_run, '--part', 'extra')
        made = {p.name for p in (smoke_run/'figures').glob('*')}
        assert {'ablations.csv', 'ablations.md', 'baselines.csv', 'topic_vs_source.csv', 'effective_mixture_extra.png', 'controls.md'} <= made, made
        runs = pd.read_csv(smoke_run/'results'/'runs.csv')
        assert runs.set_index('name').status['uniform-s7'] == 'not in the study'
        assert 7 not in set(pd.read_csv(smoke_run/'figures'/'baselines_panel.csv').seed)
    finally: shutil.rmtree(stray)
    empty = tmp_path/'empty'
    r = subprocess.run([str(BIN/'toremi'), 'figures', '--preset', 'smoke', '--run-dir', str(empty)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and 'not a study run directory' in r.stderr and not (empty/'figures').exists(), r.stderr


@pytest.mark.xdist_group('study')
def test_rerun_keeps_the_study_time(smoke_run):
    "A `toremi study` that finds every run done trains nothing and keeps the time of the call that trained them (RESULTS.md's time line)."
    import json
    tf = smoke_run/'results'/'timing_core.json'
    before = tf.read_bytes()
    took = json.loads(before)
    assert took['trained'] == took['runs'] > 0 and took['runs_min'] > 0, took
    r = _toremi('study', '--preset', 'smoke', '--run-dir', smoke_run, '--no-figures')
    assert tf.read_bytes() == before, (json.loads(tf.read_bytes()), took)
    assert 'nothing trained: timing_core.json keeps the time of the call that trained them' in r.stdout, r.stdout[-3000:]


def _copy_data(src, dst):
    "A study run directory's data (stage folders, datasets, task files) without its runs, results, figures, sittings or locks."
    dst.mkdir(parents=True)
    for p in src.iterdir():
        if p.name in ('train', 'results', 'figures', 'sittings.jsonl', 'config.yaml') or p.name.startswith('.'): continue
        (shutil.copytree if p.is_dir() else shutil.copy2)(p, dst/p.name)


WALL_CLOCK_COLUMNS = ('tokens_per_s', 'elapsed_s', 'strategy_eval_s')  # train_curves.csv: how fast, not what was learned


def _tables(root):
    "Every CSV of <root>/results and <root>/figures, wall-clock columns dropped, the run directory's own path replaced by a placeholder."
    import pandas as pd
    out = {}
    for f in sorted([*(root/'results').glob('*.csv'), *(root/'figures').glob('*.csv')]):
        df = pd.read_csv(f).drop(columns=list(WALL_CLOCK_COLUMNS), errors='ignore')
        out[str(f.relative_to(root))] = df.replace(str(root), '<run_dir>', regex=True) if 'path' in df else df
    return out


@pytest.mark.xdist_group('study')
@pytest.mark.skipif('slow' in SKIP, reason='slow (about 3.5 min on 2 cores): TOREMI_TEST_FLAGS=slow runs it')
def test_sittings_equal_one_study(smoke_run, tmp_path):
    "The core smoke study run in sittings of a short `--time-budget` (each exits 0 with one line) ends with the same tables and figure CSVs as one uninterrupted study."
    import json, math, pandas as pd
    one, sat = tmp_path/'one', tmp_path/'sittings'
    for d in (one, sat): _copy_data(smoke_run, d)   # the same prepared data: the comparison is about the runs
    smoke = ('--preset', 'smoke', '--set', 'study.jobs=1',   # runs in the study's process: the trainer's deadline, not the workers' stop, ends each sitting
             '--set', 'train.max_steps=480', '--set', 'train.eval_every=240', '--set', 'train.save_every=120')   # runs long enough that sittings stop them mid-way (240 steps took ~3 s on an idle machine: too short)
    _toremi('study', *smoke, '--run-dir', one, '--figures-dir', one/'figures')
    took = json.loads((one/'results'/'timing_core.json').read_text())   # a budget that fits this machine: the data checks, then about a quarter of the runs
    budget = math.ceil(1.5 * 60 * took['data_min'] + max(3.0, 60 * took['runs_min'] / 4))
    lines = []
    for i in range(30):   # the first sitting ends a second after the data checks: its first run stops mid-way
        r = _toremi('study', *smoke, '--run-dir', sat, '--figures-dir', sat/'figures', '--time-budget', budget if i else math.ceil(1.5 * 60 * took['data_min']) + 1)
        lines.append(r.stdout.strip())
        if 'wall time' in r.stdout: break
    assert 'wall time' in lines[-1], lines
    for line in lines[:-1]: assert len(line.splitlines()) == 1 and 'sitting over after' in line and 'Run the same command again to continue' in line, line
    sittings = [json.loads(l) for l in (sat/'sittings.jsonl').read_text().splitlines()]
    assert len(sittings) >= 3, lines
    a, b = _tables(one), _tables(sat)
    assert sorted(a) == sorted(b) and len(a) > 30, (sorted(a), sorted(b))
    for name in a:
        if name.endswith('figures/reproduction_core.csv'): continue   # the verdict of the last sitting against the figures folder: none in either
        pd.testing.assert_frame_equal(b[name], a[name], check_exact=True, obj=name)
    paused = [(n, r['step']) for s in sittings for n, r in s['runs'].items() if not r['done'] and r['stage'] == 'train' and r['step']]
    assert paused, sittings   # at least one run was stopped by a deadline mid-way and resumed
    print(f"{len(sittings)} sittings of {budget}s; stopped mid-way: {paused}")


@pytest.mark.xdist_group('gpu')
def test_gpu_preset_paths_and_pack_round_trip(tmp_path):
    "The `gpu` preset's code paths at smoke size (nbs/gpu_smoke.yaml: GPT-2 BPE, bf16, accumulation, in-process runs), with the data moved by pack/unpack."
    import pandas as pd
    cfg = NBS/'gpu_smoke.yaml'
    prepared, moved, archive = tmp_path/'prepared', tmp_path/'moved', tmp_path/'data.tar.xz'
    _toremi('study', '--config', cfg, '--run-dir', prepared, '--prepare-only')
    _toremi('pack', prepared, archive)
    _toremi('unpack', archive, moved)
    out = _toremi('study', '--config', cfg, '--run-dir', moved, '--no-figures').stdout
    assert not list((moved/'corpus').glob('*.jsonl.gz')) and not (moved/'sample'/'dataset_dict.json').exists(), 'the data stages ran on the unpacked directory'
    assert 'wall time' in out, out[-2000:]
    from toremi.plan import study_runs
    runs = study_runs(moved, 'core')
    assert (runs.status == 'ok').all() and runs[runs.group != 'proxy'].evaluated.all(), runs[['name', 'status', 'note']].to_string()   # a DoReMi proxy is not evaluated
    assert archive.stat().st_size < 2**20, archive.stat().st_size


@pytest.mark.xdist_group('study')
def test_smoke_split_by_group(smoke_run):
    "On the embedded corpus (smoke preset) no original file sits in two splits, and the sample stage says so."
    import datasets
    from toremi.core import read_json
    dd = datasets.load_from_disk(str(smoke_run/'annotated'))
    where = {}
    for sp in dd:
        for g in set(dd[sp]['group']): where.setdefault(g, set()).add(sp)
    both = sorted(g for g, s in where.items() if len(s) > 1)
    assert not both, f'groups in two splits: {both[:5]}'
    counts = read_json(smoke_run/'sample'/'meta.json')['counts']
    assert counts['groups']['leaked_groups'] == 0 and counts['groups']['own_group'] == 0, counts['groups']
    assert any('/' in g for g in where), 'the embedded corpus names each chunk\'s original file'
    assert set(counts['health']['source']) == set(dd['train']['source'])


# --- data preparation: one corpus, one result (any format, any number of workers, either engine) ---

def _prep_corpus(root):
    "A small corpus with groups (chunks of one file) written three ways: Dolma JSONL shards, one Parquet file in another order, a saved `datasets` folder."
    import pyarrow as pa, pyarrow.parquet as pq, datasets
    from toremi.testing import write_shards, synth_docs
    docs = synth_docs((36, 24, 18))
    for i, d in enumerate(docs): d['metadata'] = dict(d.get('metadata') or {}, group=f"{d['source']}-file{i // 3}")
    write_shards(root/'jsonl', docs, per_shard=20)
    rev = docs[::-1]
    (root/'pq').mkdir()
    pq.write_table(pa.Table.from_pylist(rev), root/'pq'/'corpus.parquet')
    datasets.Dataset.from_list(docs).save_to_disk(str(root/'hf'))
    return {'jsonl': root/'jsonl', 'parquet': root/'pq', 'datasets': root/'hf'}


def _prep(corpus, run, engine='local', workers=1, **over):
    "sample and annotate (offline labeler, TF-IDF embeddings) of `corpus` into `run`; the annotated DatasetDict as lists, and the stage counts."
    import datasets
    from toremi.config import load_config
    from toremi.sample import sample_corpus
    from toremi.annotate import annotate
    from toremi.core import read_json
    sets = [f'corpus.path={corpus}', f'engine={engine}', f'sample.num_proc={workers}', 'sample.vocab_size=300', 'sample.seq_len=32', 'sample.budget=6000',
            'embed.model=tfidf', 'embed.dim=16', 'embed.shard_rows=64', 'cluster.k=4', 'cluster.top_n=10', 'cluster.prompt_n=5'] + [f'{k}={v}' for k, v in over.items()]
    cfg = load_config(preset='smoke', run_dir=str(run), overrides=sets)
    sample_corpus(cfg)
    annotate(cfg)
    dd = datasets.load_from_disk(str(run/'annotated'))
    counts = {s: read_json(run/f/'meta.json')['counts'] for s, f in (('sample', 'sample'), ('cluster', 'cluster'), ('keywords', 'keywords'), ('attach', 'annotated'))}
    return cfg, {sp: dd[sp].to_list() for sp in dd}, counts


@pytest.mark.xdist_group('prep')
def test_one_corpus_one_result(tmp_path):
    "The same documents as Dolma JSONL, Parquet (in another order) and a `datasets` folder, with 1 or 2 workers: identical windows, splits, topics and training losses."
    from toremi.train import train
    from toremi.core import read_jsonl
    corpora = _prep_corpus(tmp_path)
    ref_cfg, ref, ref_counts = _prep(corpora['jsonl'], tmp_path/'r-jsonl')
    assert ref['train'] and ref['validation'] and ref['test']
    for name, workers in (('jsonl', 2), ('parquet', 1), ('datasets', 2)):
        _, got, counts = _prep(corpora[name], tmp_path/f'r-{name}-{workers}', workers=workers)
        for sp in ref: assert got[sp] == ref[sp], f'{name} ({workers} workers): split {sp} differs'
        for stage in ('sample', 'cluster', 'keywords', 'attach'):
            a, b = dict(ref_counts[stage]), dict(counts[stage])
            for k in ('corpus', 'reader', 'seconds'): a.pop(k, None), b.pop(k, None)
            assert a == b, f'{name}: {stage} counts differ'
    losses = []
    for name in ('r-jsonl', 'r-parquet-1'):
        cfg = ref_cfg.__class__(**{**ref_cfg.__dict__, 'run_dir': str(tmp_path/name)})
        cfg.train.max_steps, cfg.train.eval_every, cfg.train.save_every = 4, 2, 4
        run = train(cfg, run_dir=tmp_path/name/'train'/'uniform-s0')
        losses.append([(r['step'], r.get('loss'), r.get('val_loss')) for r in read_jsonl(run/'metrics.jsonl')])
    assert losses[0] == losses[1] and any(l for _, l, _ in losses[0]), losses


@pytest.fixture(scope='session')
def ray_cluster():
    "One local Ray cluster (2 CPUs) for the session; the tests that use it are skipped when Ray is not installed."
    pytest.importorskip('ray.data', reason="Ray Data is not installed: pip install 'toremi[ray]'")
    import ray
    from toremi.core import StageError
    from toremi.engine import ray_init
    try: ray_init(2)
    except StageError as e: pytest.skip(f'a local Ray cluster did not start here: {e}')
    yield ray
    ray.shutdown()


@pytest.mark.xdist_group('prep')
def test_engines_give_the_same_data(ray_cluster, tmp_path):
    "sample → embed → cluster → keywords → label → attach on Ray Data (tasks, actor pools) gives exactly what the local engine gives."
    corpora = _prep_corpus(tmp_path)
    _, ref, ref_counts = _prep(corpora['jsonl'], tmp_path/'local', workers=2)
    _, got, counts = _prep(corpora['parquet'], tmp_path/'ray', engine='ray', workers=2)
    for sp in ref: assert got[sp] == ref[sp], f'ray: split {sp} differs'
    for stage in ('sample', 'cluster', 'keywords', 'attach'):
        a, b = dict(ref_counts[stage]), dict(counts[stage])
        for k in ('corpus', 'reader', 'seconds'): a.pop(k, None), b.pop(k, None)
        assert a == b, f'ray: {stage} counts differ'
