"""Build the documentation site offline: stage every page into `_proc/docs`, then `mkdocs build` into `_docs/`.

Staged pages:
- `index.ipynb` (the front door), executed while staging so that its live example shows its output;
- every library notebook of `nbs/` (as committed: code and prose, no outputs) under `notebooks/`;
- every study notebook of `nbs/study/` under `study/`: as committed, followed by the committed figures it draws
  (`figures/*.png`), or with `--executed RUN_DIR` the executed copies of a run directory (`RUN_DIR/results/notebooks/`);
- `RESULTS.md` and `figures/*.png` of the checkout (RESULTS.md is written by the study; linked, never copied into a page);
- `docs/*.md` and `docs/recipes/*.md`;
- `api/<module>.md`: the API of every exported module, from its `__all__`, docstrings and docments.
Links between these sources (`../docs/recipes/gpus.md`, `21_train.ipynb`, `../RESULTS.md`) are rewritten to the
staged pages, so one link works both on GitHub and on the site.

    python docs/build.py [--executed runs/tiny] [--no-build]
"""
import argparse, html, importlib, inspect, json, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS, DOCS = ROOT/'nbs', ROOT/'docs'
STAGE, SITE = ROOT/'_proc'/'docs', ROOT/'_docs'
# library notebooks are grouped by the first digit of their number (the pipeline order)
GROUPS = {'0': 'Data and foundations', '1': 'Topics: embed, cluster, label', '2': 'Training and strategies',
          '3': 'Evaluation and noise', '4': 'Statistics and results', '5': 'Study and packing', '9': 'Command line'}
RECIPES = ['own-corpus', 'run-directory', 'gpus', 'add-strategy']  # the reading order of docs/recipes/
LINK = re.compile(r'(\]\()([^)\s#]+)(#[^)\s]*)?(\))')


def title_of(nb: dict, default: str) -> str:
    "The first `# Title` of a notebook's markdown cells."
    for c in nb['cells']:
        if c['cell_type'] != 'markdown': continue
        for line in ''.join(c['source']).splitlines():
            if line.startswith('# '): return line[2:].strip()
    return default


def clean_notebook(nb: dict) -> dict:
    "A notebook as a reader sees it: nbdev directives (`#| export`, `#| default_exp`) removed, `#| hide` cells and empty cells dropped."
    cells = []
    for c in nb['cells']:
        if c['cell_type'] == 'code':
            lines = ''.join(c['source']).splitlines()
            flags = [l[2:].split() for l in lines if l.startswith('#|')]
            if any(f[:1] == ['hide'] for f in flags): continue
            body = '\n'.join(l for l in lines if not l.startswith('#|')).strip('\n')
            if not body.strip(): continue
            c = dict(c, source=body)
        cells.append(c)
    return dict(nb, cells=cells)


def rewrite_links(text: str, src: Path, dst_rel: str, pages: dict, html_links: bool) -> str:
    "Rewrite relative links of `text` (written in source file `src`) to the staged pages; `html_links` for notebooks (nbconvert keeps hrefs as written)."
    def sub(m):
        target = m.group(2)
        if re.match(r'^[a-z]+:', target) or target.startswith('/'): return m.group(0)
        to = pages.get((src.parent/target).resolve())
        if to is None: return m.group(0)
        rel = Path(*(['..'] * dst_rel.count('/')), to).as_posix()
        if html_links: rel = re.sub(r'\.(ipynb|md)$', '.html', rel)
        return f'{m.group(1)}{rel}{m.group(3) or ""}{m.group(4)}'
    return LINK.sub(sub, text)


def figure_names(nb: dict) -> list[str]:
    "The figure names a study notebook draws (`save_figure(fig, figures_dir, 'name')`), `{part}`-style names as glob patterns."
    src = '\n'.join(''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code')
    return [re.sub(r'\{[^}]*\}', '*', n) for n in re.findall(r"save_figure\(\s*fig\s*,\s*figures_dir\s*,\s*f?'([^']+)'", src)]


def figures_cell(nb: dict, dst_rel: str) -> dict | None:
    "A markdown cell showing the committed `figures/*.png` that this study notebook draws."
    up = '../' * dst_rel.count('/')
    pngs = sorted({p for n in figure_names(nb) for p in (ROOT/'figures').glob(f'{n}.png')})
    if not pngs: return None
    md = ['## Figures as committed', '',
          'The notebook above is shown as committed (without outputs). These are the figures it drew for the '
          'committed `figures/` folder (`make study`, `make study-extra`); the numbers are in [RESULTS.md]'
          f'({up}RESULTS.html) and in the CSV beside each figure.', '']
    for p in pngs: md += [f'**{p.stem}** (`figures/{p.name}`, data `figures/{p.stem}.csv`)', '', f'![{p.stem}]({up}figures/{p.name})', '']
    return dict(cell_type='markdown', metadata={}, source='\n'.join(md))


def execute(nb_path: Path) -> dict:
    "Run a notebook top to bottom in `nbs/` (its own folder) and return it with its outputs."
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(nb_path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': str(nb_path.parent)}}).execute()
    return nb


# ---- API pages -------------------------------------------------------------------------------------------
def _md(text: str) -> str:
    "Docstring text for markdown: `<` and `>` outside code spans escaped, so `<run_dir>` shows."
    parts = (text or '').split('`')
    return '`'.join(html.escape(p, quote=False) if i % 2 == 0 else p for i, p in enumerate(parts))


def _cell(text) -> str:
    return _md(str(text)).replace('|', '\\|').replace('\n', ' ')


def _anno(a) -> str:
    if a is inspect.Parameter.empty: return ''
    return a if isinstance(a, str) else getattr(a, '__name__', str(a)).replace('typing.', '')


def _params_table(obj) -> list[str]:
    "The parameters of a callable with type, default and docment (the comment beside each parameter); none when no parameter has a docment."
    from fastcore.docments import docments
    try: d = docments(obj, full=True)
    except Exception: return []
    rows = []
    if not any(v['docment'] for k, v in d.items() if k not in ('self', 'return')): return []   # the signature says it all
    for name, v in d.items():
        if name in ('self', 'return') or (v['anno'] in ('VAR_POSITIONAL', 'VAR_KEYWORD') and not v['docment']): continue
        default = '' if v['default'] is inspect.Parameter.empty else f'`{v["default"]!r}`'
        rows.append(f'| `{name}` | {_cell(_anno(v["anno"]))} | {_cell(default) if default else ""} | {_cell(v["docment"] or "")} |')
    if not rows: return []
    return ['| parameter | type | default | description |', '|---|---|---|---|', *rows, '']


def _signature(name, obj) -> str:
    try: sig = str(inspect.signature(obj))
    except (TypeError, ValueError): sig = '(...)'
    return sig if len(name) + len(sig) < 100 else sig.replace(', ', ',\n    ').replace('(', '(\n    ', 1)


def api_entry(mod, name: str) -> list[str]:
    "The markdown of one exported name: signature, docstring, parameters (and public methods of a class)."
    obj = getattr(mod, name)
    out = [f'### {name}', '']
    if inspect.isclass(obj):
        bases = [b.__name__ for b in obj.__bases__ if b is not object]
        out += ['```python', f'class {name}{"(" + ", ".join(bases) + ")" if bases else ""}{_signature(name, obj)}', '```', '',
                _md(inspect.getdoc(obj) or ''), '', *_params_table(obj)]
        for m, f in vars(obj).items():
            if m.startswith('_') or not callable(f) or not inspect.getdoc(f): continue
            out += [f'**`{name}.{m}`**`{_signature(m, f).replace("(self, ", "(").replace("(self)", "()")}`: {_md(inspect.getdoc(f).splitlines()[0])}', '']
    elif callable(obj) and (inspect.isfunction(obj) or inspect.isbuiltin(obj) or hasattr(obj, '__wrapped__')):
        out += ['```python', f'{name}{_signature(name, obj)}', '```', '', _md(inspect.getdoc(obj) or ''), '', *_params_table(obj)]
    else:
        r = repr(obj)
        out += [f'`{type(obj).__name__}`: `{r if len(r) <= 300 else r[:300] + " …"}`'.replace('\n', ' '), '']
    return out


def module_notebooks() -> dict:
    "Module name -> the notebook that exports it (`#| default_exp name`)."
    out = {}
    for nb in sorted(NBS.glob('*.ipynb')):
        m = re.search(r'#\|\s*default_exp\s+(\S+)', nb.read_text(encoding='utf-8'))
        if m: out[m.group(1).strip('"\\')] = nb
    return out


def api_page(modname: str, nb: Path | None) -> str:
    "The API page of `toremi.<modname>`: every name of its `__all__`, in order."
    mod = importlib.import_module(f'toremi.{modname}')
    doc = (mod.__doc__ or '').strip()
    where = f'Defined and shown working in [{nb.name}](../notebooks/{nb.name}).' if nb else ''
    lines = [f'# toremi.{modname}', '', *([_md(doc), ''] if doc else []), where, '']
    for name in getattr(mod, '__all__', []): lines += api_entry(mod, name)
    return '\n'.join(lines).rstrip() + '\n'


# ---- staging ---------------------------------------------------------------------------------------------
def stage(executed: Path | None = None, log=print) -> list:
    "Write every page into `_proc/docs` and return the navigation."
    if STAGE.exists(): shutil.rmtree(STAGE)
    STAGE.mkdir(parents=True)
    lib = sorted(NBS.glob('[0-9]*.ipynb'))
    study = sorted((NBS/'study').glob('[0-9]*.ipynb'))
    md_pages = sorted(p for p in DOCS.rglob('*.md'))
    pages = {(NBS/'index.ipynb').resolve(): 'index.ipynb', (ROOT/'RESULTS.md').resolve(): 'RESULTS.md'}
    pages.update({p.resolve(): f'notebooks/{p.name}' for p in lib})
    pages.update({p.resolve(): f'study/{p.name}' for p in study})
    pages.update({p.resolve(): p.relative_to(DOCS).as_posix() for p in md_pages})
    pages.update({(ROOT/'toremi'/f'{m}.py').resolve(): f'api/{m}.md' for m in module_notebooks()})

    def write_nb(nb, src, dst_rel):
        for c in nb['cells']:
            if c['cell_type'] == 'markdown':
                c['source'] = rewrite_links(''.join(c['source']), src, dst_rel, pages, html_links=True)
        (STAGE/dst_rel).parent.mkdir(parents=True, exist_ok=True)
        (STAGE/dst_rel).write_text(json.dumps(nb, indent=1), encoding='utf-8')

    t = time.time()
    write_nb(clean_notebook(execute(NBS/'index.ipynb')), NBS/'index.ipynb', 'index.ipynb')
    log(f'index.ipynb executed in {time.time() - t:.1f} s')
    nav_lib = {}
    for p in lib:
        nb = json.loads(p.read_text(encoding='utf-8'))
        write_nb(clean_notebook(nb), p, f'notebooks/{p.name}')
        nav_lib.setdefault(GROUPS.get(p.name[0], 'Other notebooks'), []).append({f'{p.stem[:2]} · {title_of(nb, p.stem)}': f'notebooks/{p.name}'})
    nav_study, n_exec = [], 0
    for p in study:
        nb = json.loads(p.read_text(encoding='utf-8'))
        ran = sorted((executed/'results'/'notebooks').glob(f'{p.stem}-*.ipynb')) if executed else []
        if ran:   # the last part's copy (extra after core): outputs and figures of that run
            nb, n_exec = json.loads(ran[-1].read_text(encoding='utf-8')), n_exec + 1
            nb['cells'].insert(0, dict(cell_type='markdown', metadata={}, source=f'*Executed on the run directory `{executed}` ({ran[-1].name}).*'))
        elif cell := figures_cell(nb, f'study/{p.name}'): nb['cells'].append(cell)
        write_nb(clean_notebook(nb), p, f'study/{p.name}')
        nav_study.append({f'{p.stem[:2]} · {title_of(nb, p.stem)}': f'study/{p.name}'})
    if executed: log(f'study notebooks: {n_exec} of {len(study)} from the executed copies in {executed}/results/notebooks')
    (STAGE/'figures').mkdir()
    for f in sorted((ROOT/'figures').glob('*.png')): shutil.copy2(f, STAGE/'figures'/f.name)
    results = ROOT/'RESULTS.md'
    if results.is_file(): shutil.copy2(results, STAGE/'RESULTS.md')
    else:
        log('warning: no RESULTS.md in the checkout (it is written by `make study`): the Results page says so')
        (STAGE/'RESULTS.md').write_text('# Results\n\n`RESULTS.md` is written by the study (`make study`, notebook '
                                        '[10_results](study/10_results.ipynb)) and is not in this checkout.\n', encoding='utf-8')
    for p in md_pages:
        rel = p.relative_to(DOCS).as_posix()
        (STAGE/rel).parent.mkdir(parents=True, exist_ok=True)
        (STAGE/rel).write_text(rewrite_links(p.read_text(encoding='utf-8'), p, rel, pages, html_links=False), encoding='utf-8')
    nav_api = []
    (STAGE/'api').mkdir()
    for m, nb in sorted(module_notebooks().items()):
        (STAGE/'api'/f'{m}.md').write_text(api_page(m, nb), encoding='utf-8')
        nav_api.append({f'toremi.{m}': f'api/{m}.md'})
    recipes = [r for r in RECIPES if (DOCS/'recipes'/f'{r}.md').is_file()]
    recipes += sorted(p.stem for p in (DOCS/'recipes').glob('*.md') if p.stem not in recipes)
    nav = [{'Home': 'index.ipynb'}, {'Results': 'RESULTS.md'}]
    nav += [{p.stem.replace('-', ' ').capitalize(): p.name} for p in sorted(DOCS.glob('*.md'))]
    nav += [{'Recipes': [f'recipes/{r}.md' for r in recipes]},
            {'Library notebooks': [{g: v} for g, v in nav_lib.items()]},
            {'Study notebooks': nav_study}, {'API': nav_api}]
    return nav


def build(executed: Path | None = None, run_mkdocs: bool = True, log=print) -> float:
    "Stage the pages and build the site into `_docs/`; returns the seconds it took."
    import yaml
    t = time.time()
    nav = stage(executed, log)
    cfg = yaml.safe_load((ROOT/'mkdocs.yml').read_text(encoding='utf-8'))
    cfg.update(nav=nav, docs_dir=str(STAGE), site_dir=str(SITE), hooks=[str(ROOT/h) for h in cfg.get('hooks', [])])
    (STAGE.parent/'mkdocs.yml').write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding='utf-8')
    if run_mkdocs:
        r = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--clean', '-q', '-f', str(STAGE.parent/'mkdocs.yml')], cwd=ROOT)
        if r.returncode: raise SystemExit(f'mkdocs build failed (exit {r.returncode}): see the messages above')
    secs = time.time() - t
    n = len(list(SITE.rglob('*.html'))) if run_mkdocs else 0
    log(f'site: {n} pages in {SITE.relative_to(ROOT)}/ in {secs:.1f} s (open {SITE.relative_to(ROOT)}/index.html, or `make docs-serve`)')
    return secs


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--executed', type=Path, default=None, help='a run directory whose results/notebooks/ hold executed study notebooks')
    ap.add_argument('--no-build', action='store_true', help='stage the pages only (no mkdocs build)')
    a = ap.parse_args()
    if a.executed and not (a.executed/'results'/'notebooks').is_dir():
        print(f'docs/build.py: {a.executed}/results/notebooks does not exist: run the study there first, or leave --executed out', file=sys.stderr)
        raise SystemExit(2)
    build(a.executed, not a.no_build)
