"""Tests of the documentation: the front door (`nbs/index.ipynb`) runs, the README, the index notebook and the
Makefile agree on the two commands, and every recipe of `docs/recipes/` runs as written on the smoke preset.

A recipe's ```bash blocks run in order in one bash process (`set -euo pipefail`), in a fresh folder that holds a
link to the checkout's `.venv` (so `source .venv/bin/activate` works as written); a block right after a line
`<!-- not run: REASON -->` is skipped (GPUs, servers). The site itself is built and checked in a browser by
`make docs-check` (docs/check.py), which needs Chromium."""
import json, os, re, subprocess, sys
from pathlib import Path
import pytest

NBS = Path(__file__).resolve().parent
ROOT = NBS.parent
RECIPES = sorted((ROOT/'docs'/'recipes').glob('*.md'))
for k in ('HF_HUB_OFFLINE', 'HF_DATASETS_OFFLINE', 'TRANSFORMERS_OFFLINE'): os.environ.setdefault(k, '1')
os.environ.setdefault('TOREMI_PROGRESS', '0')


def bash_blocks(md: str) -> tuple[list, list]:
    "The ```bash blocks of a markdown page: (blocks to run, (reason, block) of those marked `<!-- not run: REASON -->`)."
    run, skipped, lines, i = [], [], md.splitlines(), 0
    while i < len(lines):
        if lines[i].strip() == '```bash':
            j = i + 1
            while lines[j].strip() != '```': j += 1
            prev = next((l.strip() for l in reversed(lines[:i]) if l.strip()), '')
            m = re.fullmatch(r'<!-- not run: (.+) -->', prev)
            (skipped.append((m.group(1), lines[i + 1:j])) if m else run.append('\n'.join(lines[i + 1:j])))
            i = j
        i += 1
    return run, skipped


def test_bash_blocks():
    "The recipe parser: blocks in order, `not run` blocks set apart with their reason."
    md = 'x\n```bash\necho 1\n```\n<!-- not run: needs a GPU -->\n```bash\nnvidia-smi\n```\n```python\nno\n```\n```bash\necho 2\n```\n'
    run, skipped = bash_blocks(md)
    assert run == ['echo 1', 'echo 2'] and skipped == [('needs a GPU', ['nvidia-smi'])], (run, skipped)


def commands(text: str) -> list[str]:
    "The `make ...` lines of the first ```bash block after a '## Two commands' heading."
    sec = text.split('## Two commands', 1)[1]
    block = sec.split('```bash', 1)[1].split('```', 1)[0]
    return [l.strip() for l in block.strip().splitlines()]


def test_two_commands_agree():
    "The README and the index notebook show the same two commands, which are Makefile targets, and CI runs the test one."
    readme = (ROOT/'README.md').read_text(encoding='utf-8')
    index = '\n'.join(''.join(c['source']) for c in json.loads((NBS/'index.ipynb').read_text(encoding='utf-8'))['cells'])
    r, ix = commands(readme), commands(index)
    assert r == ix, f'README and nbs/index.ipynb differ on the two commands:\n{r}\n{ix}'
    cmds = [l.split('#')[0].strip() for l in r]
    assert cmds == ['make study', 'make test'], cmds
    make = (ROOT/'Makefile').read_text(encoding='utf-8')
    for c in cmds:
        target = c.split()[1]
        assert re.search(rf'^{target}:', make, re.M), f'{target}: not a Makefile target'
        assert re.search(rf'^#\s+{c}\s', make, re.M), f'the Makefile header does not list `{c}`'
    assert re.search(r'^make test$', (ROOT/'.ci'/'run').read_text(), re.M), '.ci/run does not call `make test`'
    assert len(readme.encode()) <= 10_500, f'README.md is {len(readme.encode()):,} bytes: the front door stays short (≤ ~10 KB)'


def test_index_notebook():
    "The front door's live example runs (flagged cells skipped, as in the library notebooks)."
    from nbdev.test import test_nb
    from execnb.shell import CaptureShell
    if not hasattr(CaptureShell, '_cell_idx'): CaptureShell._cell_idx = None
    ok, _ = test_nb(NBS/'index.ipynb', skip_flags=['notest', 'slow', 'gpu'], showerr=True)
    assert ok, 'index.ipynb failed (traceback above)'


def described(md: str, heading: str) -> set:
    "The entries named in the first column of the table under `heading` (`name/`, `a`, `b` -> {name, a, b})."
    sec = md.split(heading, 1)[1].split('\n## ', 1)[0]
    names = set()
    for line in sec.splitlines():
        if line.startswith('| `'):
            names |= {n.rstrip('/') for n in re.findall(r'`([^`]+)`', line.split('|')[1])}
    return names


def check_run_directory(md: str, run: Path):
    "Every entry of the smoke run directory, of a run folder and of results/ is described on the page."
    top = {p.name for p in run.iterdir()}
    assert top <= described(md, '## The top level'), f'not described: {sorted(top - described(md, "## The top level"))}'
    runf = {p.name for p in (run/'train'/'toremi-s0').iterdir()}
    assert runf <= described(md, '## A training run'), f'not described: {sorted(runf - described(md, "## A training run"))}'
    res = {p.name for p in (run/'results').iterdir()}
    assert res <= described(md, '## `results/`'), f'not described: {sorted(res - described(md, "## `results/`"))}'


@pytest.mark.parametrize('page', RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe(page, tmp_path):
    "Every command of the recipe, as written, on the smoke preset; the skipped ones say why."
    md = page.read_text(encoding='utf-8')
    run, skipped = bash_blocks(md)
    assert run, f'{page.name}: no ```bash block to run'
    assert all(reason.strip() for reason, _ in skipped)
    (tmp_path/'.venv').symlink_to(ROOT/'.venv')
    script = 'set -euo pipefail\n' + '\n'.join(run) + '\n'
    r = subprocess.run(['bash', '-c', script], cwd=tmp_path, capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, f'{page.name} failed (exit {r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-6000:]}'
    if page.stem == 'run-directory': check_run_directory(md, tmp_path/'runs'/'smoke')
