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


@pytest.fixture(scope='session')
def smoke_run(tmp_path_factory):
    "A complete pipeline + study run at `smoke` size on the embedded corpus (real data, seconds-scale models)."
    run_dir = tmp_path_factory.mktemp('smoke')/'run'
    r = subprocess.run([str(BIN/'toremi'), 'study', '--preset', 'smoke', '--run-dir', str(run_dir), '--no-figures'],
                       cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f'toremi study --preset smoke failed:\n{r.stdout[-4000:]}\n{r.stderr[-6000:]}'
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
    assert any(n.endswith('.png') for n in made) and any(n.endswith('.csv') for n in made), made
