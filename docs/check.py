"""Check the built site (`_docs/`) in a real browser: serve it on 127.0.0.1 and load every page in headless
Chromium (Debian's `chromium`, driven through Playwright's Python API with `executable_path`).

Fails when a page
- answers with an HTTP error, throws a JavaScript error or logs a console error,
- asks for anything outside the local server (the site must read offline; such requests are blocked and listed),
- links to a page or file of the site that does not exist, or to an anchor that the target page lacks,
- shows an image that did not load (natural width 0),
- shows a Python traceback in a notebook output;
and when the search box does not find a known word on the page that holds it.
Saves screenshots of the front door and of one study notebook into `_proc/check/` and prints one line per page.

    python docs/check.py [--site _docs] [--shots _proc/check] [--chromium /usr/bin/chromium]
"""
import argparse, functools, http.server, shutil, socketserver, sys, threading, time
from pathlib import Path
from urllib.parse import urldefrag, urlparse, unquote

ROOT = Path(__file__).resolve().parent.parent
SEARCH = ('toremi_update', 'api/strategies.html')   # a word, and the page the search must list for it
SHOTS = {'index.html': 'index.png', 'study/02_perplexity.html': 'study-02_perplexity.png'}


def serve(site: Path):
    "A quiet HTTP server for `site` on a free port of 127.0.0.1, in a thread; returns (server, base URL)."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    handler = functools.partial(Quiet, directory=str(site))
    srv = socketserver.ThreadingTCPServer(('127.0.0.1', 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}/'


def find_chromium(given: str | None) -> str:
    "The Chromium executable: --chromium, or Debian's `chromium` on PATH; a clear error when there is none."
    exe = given or shutil.which('chromium') or shutil.which('chromium-browser')
    if not exe:
        raise SystemExit('docs/check.py: no Chromium found: install Debian\'s package (`apt-get install -y chromium`, which '
                         '`make docs-check` does when it can) or pass --chromium PATH')
    return exe


PAGE_JS = """() => ({
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id).concat([...document.querySelectorAll('a[name]')].map(e => e.name)),
  images: [...document.querySelectorAll('img')].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth})),
  tracebacks: [...document.querySelectorAll('.jp-OutputArea-output')].filter(e => e.innerText.includes('Traceback (most recent call last)')).length,
  title: document.title,
})"""


def check(site: Path, shots: Path, chromium: str | None = None, log=print) -> list[str]:
    "Load every page of `site` in headless Chromium; returns the problems found (empty when the site is sound)."
    from playwright.sync_api import sync_playwright
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html'))
    if 'index.html' not in pages: return [f'{site}/index.html does not exist: run `make docs` first']
    srv, base = serve(site)
    problems, info, shots_made = [], {}, []
    shots.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=find_chromium(chromium), headless=True,
                                         args=['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                                               '--disable-component-update', '--disable-dev-shm-usage'])
            ctx = browser.new_context(viewport={'width': 1280, 'height': 900})
            outside = []
            def route(r):
                if r.request.url.startswith(base) or r.request.url.startswith('data:') or r.request.url.startswith('blob:'): return r.continue_()
                outside.append(r.request.url)
                return r.abort()
            ctx.route('**/*', route)
            page = ctx.new_page()
            errors = []
            page.on('pageerror', lambda e: errors.append(f'JavaScript error: {e}'))
            page.on('console', lambda m: errors.append(f'console error: {m.text}') if m.type == 'error' else None)
            page.on('response', lambda r: errors.append(f'HTTP {r.status} for {r.url}') if r.status >= 400 else None)
            for rel in pages:
                errors.clear()
                outside.clear()
                resp = page.goto(base + rel, wait_until='load')
                page.wait_for_load_state('networkidle')
                d = page.evaluate(PAGE_JS)
                info[rel] = d
                bad_imgs = [i['src'][:80] for i in d['images'] if not i['ok']]
                page_problems = list(errors) + [f'request outside the site blocked: {u}' for u in outside]
                if resp is None or resp.status >= 400: page_problems.append(f'HTTP {resp.status if resp else "no response"}')
                page_problems += [f'image did not load: {s}' for s in bad_imgs]
                if d['tracebacks']: page_problems.append(f'{d["tracebacks"]} notebook output(s) with a Python traceback')
                problems += [f'{rel}: {p}' for p in page_problems]
                log(f'{"FAIL" if page_problems else "ok  "} {rel}  ({len(d["images"])} images, {len(d["links"])} links) {d["title"][:60]}')
                if rel in SHOTS:
                    page.screenshot(path=str(shots/SHOTS[rel]))
                    shots_made.append(str(shots/SHOTS[rel]))
                    if rel.startswith('study/') and d['images']:   # and the first figure of the study page
                        page.locator('img').first.scroll_into_view_if_needed()
                        page.screenshot(path=str(shots/SHOTS[rel].replace('.png', '-figure.png')))
                        shots_made.append(str(shots/SHOTS[rel].replace('.png', '-figure.png')))
            # every internal link: the target exists, and so does its anchor on an HTML page
            n_links = 0
            for rel, d in info.items():
                for href in d['links']:
                    if not href.startswith(base): continue
                    url, frag = urldefrag(href)
                    target = unquote(urlparse(url).path)[1:] or 'index.html'
                    if target.endswith('/'): target += 'index.html'
                    n_links += 1
                    if not (site/target).is_file(): problems.append(f'{rel}: broken link to {target}')
                    elif frag and target in info and unquote(frag) not in info[target]['ids']:
                        problems.append(f'{rel}: link to a missing anchor {target}#{frag}')
            # the search box
            word, expect = SEARCH
            page.goto(base + 'index.html', wait_until='load')
            page.keyboard.press('s')   # material's shortcut opens the search
            page.locator('input.md-search__input').fill(word)
            try:
                page.wait_for_selector('.md-search-result__item', timeout=15000)
                hits = page.eval_on_selector_all('.md-search-result__item a', 'as => as.map(a => a.href)')
            except Exception: hits = []
            if not any(expect in h for h in hits): problems.append(f'search: "{word}" does not list {expect} (results: {hits[:5]})')
            else: log(f'ok   search "{word}": {len(hits)} results, {expect} among them')
            browser.close()
    finally: srv.shutdown()
    n_img = sum(len(d['images']) for d in info.values())
    log(f'{len(pages)} pages, {n_img} images, {n_links} internal links checked in {time.time() - t0:.1f} s; screenshots: {", ".join(shots_made)}')
    return problems


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--site', type=Path, default=ROOT/'_docs')
    ap.add_argument('--shots', type=Path, default=ROOT/'_proc'/'check')
    ap.add_argument('--chromium', default=None, help='the Chromium executable (default: `chromium` on PATH)')
    a = ap.parse_args()
    probs = check(a.site, a.shots, a.chromium)
    for p in probs: print('problem:', p, file=sys.stderr)
    print(f'docs check: {"FAILED, " + str(len(probs)) + " problem(s)" if probs else "passed"}')
    sys.exit(1 if probs else 0)
