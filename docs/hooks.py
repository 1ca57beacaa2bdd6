"""mkdocs hooks of the toremi site.

- No page loads anything from the network: nbconvert's notebook template (used by mkdocs-jupyter) loads MathJax
  from a CDN; the script tag is dropped, and the one formula of the notebooks (`nbs/21_train.ipynb`) shows as
  its LaTeX source.
- The table of contents of a notebook page points at its headings: mkdocs-jupyter builds the TOC with its own
  slugs (`configuration_1` for a second "Configuration", an empty entry for a heading in backticks) while
  nbconvert gives the headings other ids (`configuration` twice, `build_corpus`). Headings get unique ids, and
  the TOC links (and empty TOC texts) are taken from the headings, in order (the title's h1 left out where the
  TOC leaves it out).
"""
import html, re
from collections import Counter

CDN_SCRIPT = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', re.I)
HEADING = re.compile(r'<h([1-6]) id="([^"]*)"(.*?)</h\1>', re.S)
TOC_LINK = re.compile(r'(<a href="#)([^"]*)(" class="md-nav__link">\s*<span class="md-ellipsis">)(.*?)(</span>)', re.S)


def unique_heading_ids(page_html: str) -> tuple[str, list]:
    "Give repeated heading ids a suffix _1, _2 (mkdocs' convention); returns the page and its headings as (id, text)."
    seen, heads = Counter(), []
    def sub(m):
        hid, n = m.group(2), seen[m.group(2)]
        seen[hid] += 1
        new = hid if n == 0 else f'{hid}_{n}'
        text = html.unescape(re.sub(r'<[^>]+>', '', m.group(3).split('>', 1)[-1])).replace('¶', '').strip()
        heads.append((new, text))
        return f'<h{m.group(1)} id="{new}"{m.group(3)}</h{m.group(1)}>'
    return HEADING.sub(sub, page_html), heads


def fix_toc(page_html: str) -> str:
    "Point the TOC links of a notebook page at its headings, in order (the TOC is written once or twice: sidebar and mobile menu)."
    page_html, heads = unique_heading_ids(page_html)
    links = TOC_LINK.findall(page_html)
    if heads and len(links) % len(heads) and len(links) % max(len(heads) - 1, 1) == 0:
        heads = heads[1:]   # the TOC leaves out the page's title (its first h1)
    if not heads or len(links) % len(heads): return page_html
    it = iter(range(len(links)))
    def sub(m):
        hid, text = heads[next(it) % len(heads)]
        label = m.group(4) if m.group(4).strip() else f'\n        {html.escape(text)}\n      '
        return f'{m.group(1)}{hid}{m.group(3)}{label}{m.group(5)}'
    return TOC_LINK.sub(sub, page_html)


def on_post_page(output: str, page, config) -> str:
    "Drop <script src=\"http(s)://...\"> tags; on notebook pages, make the TOC match the headings."
    output = CDN_SCRIPT.sub('', output)
    if page.file.src_path.endswith('.ipynb'): output = fix_toc(output)
    return output
