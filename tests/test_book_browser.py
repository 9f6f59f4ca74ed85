"""The built book in a real browser, offline.

This module builds nothing: it needs ``_build/html`` from ``tools/build_book.sh``
(``make book``) and fails with that hint when it is missing. It serves the folder on
127.0.0.1 (a thread, a free port), drives Debian's Chromium through Playwright, blocks
every request that leaves 127.0.0.1 and counts it as a failure, and checks each page
of ``_toc.yml``: no failed or blocked request, no console error, every ``<img>``
loaded, formulas typeset by the local MathJax, saved widgets rendered. On the widget
page it moves the slider and checks that the picture changes.

Reusing the helpers in another test module (pytest puts ``tests/`` on ``sys.path``)::

    from test_book_browser import book_server, browser, open_page, toc_pages  # noqa: F401

    def test_results_page(open_page):
        bp = open_page("notebooks/runs/quick/results.html")
        bp.check_all()            # requests, console, images, math, widgets
        bp.assert_clean()
        bp.page.get_by_text("Table 1")   # bp.page is a playwright Page

Environment: ``LRN_CHROMIUM`` (default ``/usr/bin/chromium``; ``tools/setup_browser.sh``
installs it), ``LRN_BOOK_HTML`` (default ``_build/html``), ``LRN_SCREENSHOTS`` (folder
for the widget screenshots; default a pytest temporary folder, printed).
"""
from __future__ import annotations

import functools
import glob
import hashlib
import http.server
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("LRN_BOOK_HTML", REPO / "_build" / "html"))
CHROMIUM = os.environ.get("LRN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
LOCAL_HOSTS = {"127.0.0.1"}
# Chromium asks the server root for /favicon.ico by itself when a page names no icon;
# the book has none, so that one 404 is not a fault of the page.
IGNORED_PATHS = {"/favicon.ico"}
TIMEOUT_MS = 30_000
WIDGET_PAGE = f"notebooks/runs/{os.environ.get('PROFILE', 'cpu')}/coarse_to_fine.html"


# --------------------------------------------------------------------------- toc


STAGED_TOC = REPO / "_build" / "src" / "_toc.yml"  # the toc the book was built from (lrnbook.booksource.copy_sources)


def toc_pages(toc_path: Path = STAGED_TOC if STAGED_TOC.exists() else REPO / "_toc.yml",
              build: Path = BUILD) -> list[str]:
    """HTML paths (relative to the build folder) of every page in ``_toc.yml``.

    Follows ``root``, ``parts``, ``chapters``, ``sections`` and nested entries;
    ``file:`` entries map to ``<file>.html``; ``glob:`` entries are expanded against
    the built HTML (so they list what was built); ``url:`` entries are skipped.
    """
    toc = yaml.safe_load(toc_path.read_text())
    pages: list[str] = []

    def add(rel: str) -> None:
        rel = re.sub(r"\.(md|ipynb|rst)$", "", rel.strip("/"))
        page = rel + ".html"
        if page not in pages:
            pages.append(page)

    def walk(node) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if "file" in node:
                add(node["file"])
            if "glob" in node:
                for hit in sorted(glob.glob(str(build / (node["glob"] + ".html")))):
                    add(str(Path(hit).relative_to(build).with_suffix("")))
            for key in ("parts", "chapters", "sections", "entries", "subtrees"):
                if key in node:
                    walk(node[key])

    add(toc["root"])
    walk(toc)
    return pages


PAGES = toc_pages()

NOISE = [
    ("progress bar", re.compile(r"[█▏▎▍▌▋▊▉]|\d+(\.\d+)?\s?(it|pair|photo|img)/s\]")),
    ("warning", re.compile(r"\b\w*Warning\b:|^WARNING\b")),
    ("log line", re.compile(r"^(INFO|DEBUG|W\d{4}|I\d{4}|E\d{4})[: ]")),
    ("absolute path", re.compile(r"(?<![\w.])/(work|root|home|tmp|usr)/\S+")),
    ("NumPy repr", re.compile(r"np\.(str_|float\d*|int\d*)\(")),
]
"""What must not appear in a rendered cell output (what a reader cannot act on)."""


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def book_html() -> Path:
    """The built book folder; FAILS (does not skip) when the book was not built."""
    if not (BUILD / "index.html").is_file():
        pytest.fail(
            f"{BUILD / 'index.html'} is missing: build the book first "
            "(tools/build_book.sh, i.e. `make book`), then rerun the browser tests."
        )
    return BUILD


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 -- keep pytest output clean
        pass


@pytest.fixture(scope="session")
def book_server(book_html):
    """Serve the built book on 127.0.0.1 (free port) from a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="book-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


_SHARED_BROWSER: dict = {"users": 0}


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium (Debian's) driven by the pip playwright package.

    One per test process: every module that imports this fixture gets its own fixture
    instance, and a second Playwright started in the same process fails, so the instances
    share one browser, closed when the last of them is done.
    """
    try:
        from playwright import sync_api
    except ImportError:  # pragma: no cover - the book extra installs it
        pytest.fail("playwright is not installed: pip install -e '.[book]' (pip package; no browser download needed)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: run tools/setup_browser.sh (installs Debian chromium)")
    shared = _SHARED_BROWSER
    if not shared["users"]:
        shared["playwright"] = sync_api.sync_playwright().start()
        shared["browser"] = shared["playwright"].chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                                 headless=True)
    shared["users"] += 1
    try:
        yield shared["browser"]
    finally:
        shared["users"] -= 1
        if not shared["users"]:
            shared.pop("browser").close()
            shared.pop("playwright").stop()


@dataclass
class BookPage:
    """One opened page and everything that went wrong on it."""

    page: object  # playwright.sync_api.Page
    path: str
    failures: list[str] = field(default_factory=list)

    # -- checks; each appends to failures and returns self so they chain --------
    def check_images(self) -> BookPage:
        """Every <img> finished loading with a non-zero natural width."""
        broken = self.page.evaluate(
            """async () => {
                const imgs = Array.from(document.images);
                imgs.forEach(i => { i.loading = 'eager'; });
                await Promise.all(imgs.map(i => (i.complete ? null :
                    new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); }))));
                return imgs.filter(i => !(i.complete && i.naturalWidth > 0))
                           .map(i => i.currentSrc || i.src || i.outerHTML.slice(0, 120));
            }"""
        )
        self.failures += [f"image did not load: {src[:160]}" for src in broken]
        return self

    def check_math(self) -> BookPage:
        """Where Sphinx emitted math, MathJax (local copy) typeset all of it, without errors."""
        n_math = self.page.locator(".math").count()
        if n_math == 0:
            return self
        # MathJax is a deferred script: after the load event it exists or it never will.
        if not self.page.evaluate("() => !!(window.MathJax && window.MathJax.version)"):
            self.failures.append(f"math not typeset: MathJax v3 did not load ({n_math} .math elements)")
            return self
        try:
            self.page.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=TIMEOUT_MS
            )
            self.page.evaluate("() => MathJax.startup.promise")
            self.page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.math'))"
                ".every(e => e.querySelector('mjx-container'))",
                timeout=TIMEOUT_MS,
            )
        except Exception as exc:  # playwright TimeoutError and friends
            done = self.page.locator(".math mjx-container").count()
            self.failures.append(f"math not typeset: {done} of {n_math} .math elements have mjx-container ({exc!r:.200})")
            return self
        n_err = self.page.locator("mjx-merror").count()
        if n_err:
            self.failures.append(f"{n_err} MathJax error(s) (mjx-merror)")
        return self

    def check_widgets(self) -> BookPage:
        """Every saved widget view (myst-nb <script type=widget-view+json>) was rendered."""
        n_views = self.page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
        if n_views == 0:
            return self
        try:
            self.page.wait_for_function(
                """(n) => document.querySelectorAll('.widget-subarea > *').length >= n""",
                arg=n_views,
                timeout=TIMEOUT_MS,
            )
        except Exception:
            got = self.page.locator(".widget-subarea > *").count()
            self.failures.append(f"widgets not rendered: {got} of {n_views} saved views")
        return self

    def check_external_tags(self) -> BookPage:
        """No <script src> / <link href> in the live DOM points outside 127.0.0.1."""
        urls = self.page.evaluate(
            """() => Array.from(document.querySelectorAll('script[src], link[href]'))
                     .map(e => e.src || e.href)"""
        )
        for url in urls:
            parsed = urlparse(url)
            if parsed.scheme in ("http", "https") and parsed.hostname not in LOCAL_HOSTS:
                self.failures.append(f"external script/link tag: {url}")
        return self

    def check_noise(self) -> BookPage:
        """No machine noise in rendered cell outputs: progress bars, warnings and log lines,
        absolute paths of the machine that executed the page, NumPy reprs."""
        texts = self.page.evaluate(
            """() => Array.from(document.querySelectorAll('.cell_output, .output'))
                     .map(e => e.innerText)"""
        )
        for text in texts:
            for line in text.splitlines():
                hit = next((why for why, pattern in NOISE if pattern.search(line)), None)
                if hit:
                    self.failures.append(f"noise in an output ({hit}): {line.strip()[:160]}")
        return self

    def check_all(self) -> BookPage:
        return self.check_external_tags().check_images().check_math().check_widgets().check_noise().settle()

    def settle(self) -> BookPage:
        """Give late requests (fonts, lazy modules) a moment, so that a blocked or failed one is
        recorded. A page is judged by what it needs (images decoded, math typeset, widgets
        rendered: the checks above), not by network idleness, which a loaded machine may delay."""
        try:
            self.page.wait_for_load_state("networkidle", timeout=min(TIMEOUT_MS, 5_000))
        except Exception:  # noqa: BLE001 - still busy is not a failure; failed requests are recorded
            pass
        return self

    def assert_clean(self) -> None:
        assert not self.failures, f"{self.path}:\n  " + "\n  ".join(self.failures)


@pytest.fixture
def open_page(browser, book_server):
    """``open_page(path) -> BookPage``: open a built page with all failures recorded.

    Each page gets a fresh browser context that aborts every request whose host is not
    127.0.0.1 and records it, and records failed requests, HTTP errors (>= 400), console
    errors and uncaught page errors.
    """
    contexts = []

    def _open(path: str, viewport=(1280, 900)) -> BookPage:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        bp = BookPage(page=None, path=path)
        blocked: set[str] = set()

        def route(r):
            url = r.request.url
            if urlparse(url).hostname in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
                r.continue_()
            else:
                blocked.add(url)
                bp.failures.append(f"blocked request outside 127.0.0.1: {url}")
                r.abort("blockedbyclient")

        context.route("**/*", route)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        bp.page = page

        def ignored(url: str) -> bool:
            return urlparse(url).path in IGNORED_PATHS

        def on_console(msg):
            loc = msg.location or {}
            if msg.type == "error" and not ignored(loc.get("url", "")):
                bp.failures.append(f"console error: {msg.text[:300]} ({loc.get('url', '')}:{loc.get('lineNumber', '')})")

        def on_request_failed(req):
            if req.url not in blocked and not ignored(req.url):
                bp.failures.append(f"request failed: {req.url} ({req.failure})")

        def on_response(resp):
            if resp.status >= 400 and not ignored(resp.url):
                bp.failures.append(f"HTTP {resp.status}: {resp.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: bp.failures.append(f"page error: {exc}"))
        page.on("requestfailed", on_request_failed)
        page.on("response", on_response)
        page.goto(book_server + path.lstrip("/"), wait_until="load")
        bp.settle()
        return bp

    yield _open
    for context in contexts:
        context.close()


# ----------------------------------------------------------------------- tests


def test_toc_pages_were_built(book_html):
    missing = [p for p in PAGES if not (book_html / p).is_file()]
    assert not missing, f"pages listed in _toc.yml but not built: {missing}"
    assert WIDGET_PAGE in PAGES


def test_no_external_script_or_link_in_html(book_html):
    """Static scan of every built page (not only the toc): no external src/href on script/link."""
    tag = re.compile(r"<(?:script|link)\b[^>]*>", re.I)
    attr = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)
    bad = []
    for html in sorted(book_html.rglob("*.html")):
        for m in tag.finditer(html.read_text(encoding="utf-8", errors="replace")):
            bad += [f"{html.relative_to(book_html)}: {u}" for u in attr.findall(m.group(0)) if re.match(r"(https?:)?//", u)]
    assert not bad, "external references:\n  " + "\n  ".join(bad)


def test_widget_js_only_on_widget_pages(book_html):
    """RequireJS and the widget manager are injected only where widget state was saved."""
    for page in PAGES:
        html = (book_html / page).read_text(encoding="utf-8")
        has_state = 'type="application/vnd.jupyter.widget-state+json"' in html
        has_js = "vendor/html-manager/embed-amd.js" in html or "vendor/requirejs/require.js" in html
        assert has_js == has_state, f"{page}: widget state {has_state}, widget scripts {has_js}"


def test_no_page_ships_saved_progress_bars(book_html):
    """Progress bars of an execution (tqdm widgets) are not part of any page's saved widget data."""
    shipped = [page for page in PAGES if "FloatProgressModel" in (book_html / page).read_text(encoding="utf-8")]
    assert not shipped, f"pages that ship saved progress-bar widgets: {shipped}"


SNAKE_CASE = re.compile(r"\b[a-z0-9]+(_[a-z0-9]+)+\b")
CODE_BLOCK = re.compile(r'<div class="cell_input[^"]*">.*?<pre>(.*?)</pre>', re.S)
PARAMETER_LINE = re.compile(r"^\s*(profile|run_key)\s*=", re.M)


def test_pages_read_like_a_book(book_html):
    """Static scan of the built pages: table headers in words (no ``false_positive_pct``), one
    settings box on every executed page, and no parameter cell shown (the box has the values)."""
    import html as html_module

    bad = []
    for page in PAGES:
        text = (book_html / page).read_text(encoding="utf-8")
        for header in re.findall(r"<th\b[^>]*>(.*?)</th>", text, re.S):
            words = html_module.unescape(re.sub(r"<[^>]+>", "", header)).strip()
            if SNAKE_CASE.search(words):
                bad.append(f"{page}: table header {words!r}")
        if page.startswith("notebooks/"):
            boxes = text.count("class='lrn-provenance'") + text.count('class="lrn-provenance"')
            if boxes != 1:
                bad.append(f"{page}: {boxes} settings boxes, not 1")
            for code in CODE_BLOCK.findall(text):
                source = html_module.unescape(re.sub(r"<[^>]+>", "", code))
                if PARAMETER_LINE.search(source):
                    bad.append(f"{page}: a parameter cell is shown: {source.strip()[:80]!r}")
    assert not bad, "\n  ".join(["pages that a reader would trip over:", *bad])


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_offline(open_page, path):
    bp = open_page(path)
    bp.check_all()
    bp.assert_clean()


def test_index_redirects_to_root_page(open_page):
    bp = open_page("index.html")
    bp.page.wait_for_url(re.compile(re.escape(PAGES[0]) + r"$"), timeout=TIMEOUT_MS)
    bp.settle().assert_clean()


def _level_state(page):
    """(readout text, caption text, sha1 of the shown level image's pixels) of the explorer."""
    readout = page.locator(".lrn-level-slider .widget-readout").first.inner_text().strip()
    caption = page.locator(".lrn-level-captions").first.inner_text().strip()
    # the level shown may still be decoding on a busy machine: read its pixels once it has them
    page.wait_for_function(
        """() => Array.from(document.querySelector('.lrn-coarse-to-fine .lrn-levels').querySelectorAll('img'))
            .filter(i => i.offsetParent !== null).every(i => i.complete && i.naturalWidth > 0)"""
    )
    digest = page.evaluate(
        """() => {
            const imgs = Array.from(document.querySelector('.lrn-coarse-to-fine .lrn-levels').querySelectorAll('img'))
                .filter(i => i.offsetParent !== null);
            if (imgs.length !== 1) return 'visible images: ' + imgs.length;
            const img = imgs[0];
            const c = document.createElement('canvas');
            c.width = img.naturalWidth; c.height = img.naturalHeight;
            const ctx = c.getContext('2d');
            ctx.drawImage(img, 0, 0);
            return Array.from(ctx.getImageData(0, 0, c.width, c.height).data).join(',');
        }"""
    )
    return readout, caption, hashlib.sha1(digest.encode()).hexdigest() if "," in digest else digest


def test_widget_slider_changes_image(open_page, tmp_path_factory):
    bp = open_page(WIDGET_PAGE)
    bp.check_all()
    page = bp.page
    if page.locator(".lrn-coarse-to-fine").count() == 0:  # no LRN run has finished yet: the page says so
        text = page.locator("main").inner_text()
        assert "still training" in text or "queued" in text, "no explorer and no word of why"
        pytest.skip("no LRN run of this profile has finished: the page shows no explorer yet")
    explorer = page.locator(".lrn-coarse-to-fine").first
    explorer.wait_for(state="visible")
    explorer.scroll_into_view_if_needed()
    shots = Path(os.environ.get("LRN_SCREENSHOTS") or tmp_path_factory.mktemp("widget_screens"))
    shots.mkdir(parents=True, exist_ok=True)

    readout1, caption1, img1 = _level_state(page)
    assert readout1 == "s1" and caption1.startswith("s1"), (readout1, caption1)
    explorer.screenshot(path=str(shots / "level1.png"))

    handle = page.locator(".lrn-level-slider .noUi-handle").first
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('.lrn-level-slider .widget-readout').textContent.trim().startsWith('s2')"
    )
    readout2, caption2, img2 = _level_state(page)

    page.keyboard.press("End")
    page.wait_for_function(
        "() => document.querySelector('.lrn-level-slider .widget-readout').textContent.trim().startsWith('s6')"
    )
    readout6, caption6, img6 = _level_state(page)
    explorer.screenshot(path=str(shots / "level6.png"))
    print(f"\nwidget screenshots: {shots / 'level1.png'} {shots / 'level6.png'}")

    assert (readout2, readout6) == ("s2", "s6"), (readout2, readout6)
    assert caption2.startswith("s2") and caption6.startswith("s6"), (caption2, caption6)
    assert len({img1, img2, img6}) == 3, f"the shown image did not change: {img1} {img2} {img6}"
    every = page.evaluate("() => Array.from(document.querySelectorAll('.lrn-coarse-to-fine .lrn-level-captions'))"
                          ".map(e => e.innerText.trim().slice(0, 2))")
    assert len(every) >= 2 and set(every) == {"s6"}, f"one slider drives every shown map: {every}"
    bp.check_images().settle().assert_clean()


RESULTS_PAGE = f"notebooks/runs/{os.environ.get('PROFILE', 'cpu')}/results.html"
PAPER_ROWS = {"LRN": ("91.67 ± 5.63", "32.84 ± 23.05"), "LRN-VGG": ("92.73 ± 5.24", "26.28 ± 20.07"),
              "UNET": ("89.25 ± 7.19", "35.18 ± 19.63"), "UNET-VGG": ("87.98 ± 7.53", "44.00 ± 16.75")}


def _mean_std_text(values) -> str:
    """Mean ± sample standard deviation with two decimals, recomputed here from the CSV."""
    import statistics

    return f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f}"


def test_table1_matches_the_published_per_image_csvs(open_page):
    import csv
    import io

    bp = open_page(RESULTS_PAGE)
    bp.check_all()
    page = bp.page
    rows = page.eval_on_selector_all(
        "table#table1 tbody tr",  # cells keep "mean ± std" together with no-break spaces
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.replace(/\u00a0/g, ' ').trim()))")
    header = page.eval_on_selector_all("table#table1 thead th", "cells => cells.map(c => c.textContent.trim())")
    table = {row[0]: dict(zip(header, row)) for row in rows}
    assert list(table) == list(PAPER_ROWS), table
    links = dict(page.eval_on_selector_all(
        "a[href$='test_per_image.csv']", "links => links.map(a => [a.textContent.trim(), a.href])"))
    for model, (paper_jaccard, paper_hausdorff) in PAPER_ROWS.items():
        row = table[model]
        assert row["Jaccard (%), paper"] == paper_jaccard and row["Hausdorff (px), paper"] == paper_hausdorff
        if row["Jaccard (%), measured"].startswith(("not run", "still training", "queued")):  # no scores, no CSV link
            assert row["Hausdorff (px), measured"] == row["Jaccard (%), measured"] and model not in links
            continue
        response = page.request.get(links[model])
        assert response.ok, f"{links[model]}: HTTP {response.status}"
        text = "\n".join(line for line in response.text().splitlines() if not line.startswith("#"))
        records = list(csv.DictReader(io.StringIO(text)))
        assert len(records) == int(row["n test images"])
        assert row["Jaccard (%), measured"] == _mean_std_text([float(r["jaccard"]) for r in records])
        assert row["Hausdorff (px), measured"] == _mean_std_text([float(r["hausdorff"]) for r in records])
    bp.settle().assert_clean()


# ------------------------------------------------------------- widths


OVERFLOW_JS = r"""() => {
  const col = document.querySelector('article.bd-article') || document.querySelector('main');
  const box = col.getBoundingClientRect(), cs = getComputedStyle(col);
  const edge = {left: box.left + parseFloat(cs.paddingLeft), right: box.right - parseFloat(cs.paddingRight)};
  edge.width = edge.right - edge.left;  // the text column: the article's content box
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).slice(0, 2).join('.') : '');
  const scroller = (el) => {
    for (let a = el; a && a !== col; a = a.parentElement) {
      const s = getComputedStyle(a);
      if ((s.overflowX === 'auto' || s.overflowX === 'scroll') && a.scrollWidth > a.clientWidth + 1) return a;
    }
    return null;
  };
  // A visible cue: the shadow painted on the box (book/_static/lrn.css) with nothing inside it
  // that paints over the shadow (cells and rows filled by the theme would), or a scroll bar that
  // takes room below the content (a classic bar drawn at once; headless Chromium hides bars, so
  // here only the shadow can pass).
  const transparent = (c) => c === 'transparent' || c === 'rgba(0, 0, 0, 0)';
  const cued = (box, el) => {
    const s = getComputedStyle(box);
    const bar = box.offsetHeight - box.clientHeight - parseFloat(s.borderTopWidth) - parseFloat(s.borderBottomWidth);
    const shadow = s.backgroundImage.includes('gradient')
        && Array.from(box.querySelectorAll('*')).every(e => transparent(getComputedStyle(e).backgroundColor));
    return bar >= 4 || shadow;
  };
  const found = [];
  const seen = new Set();
  for (const el of col.querySelectorAll('table, img, figure, mjx-container[display="true"], .cell_output > .output, pre, .lrn-coarse-to-fine, .lrn-provenance, canvas, .tryit-bar')) {
    if (!el.getClientRects().length || el.closest('details:not([open])')) continue;  // folded or hidden
    const r = el.getBoundingClientRect();
    const box = scroller(el);
    if (box) {
      if (!seen.has(box) && !cued(box, el)) {
        seen.add(box);
        found.push(`${name(el)} (${Math.round(box.scrollWidth)} px in ${Math.round(box.clientWidth)}) scrolls sideways without a visible cue`);
      }
    } else if (r.right > edge.right + 1 || r.left < edge.left - 1) {
      found.push(`${name(el)} is ${Math.round(r.width)} px wide and sticks out of the ${Math.round(edge.width)} px text column`);
    }
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    found.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px in a ${window.innerWidth} px window`);
  return found;
}"""


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("path", PAGES)
def test_nothing_is_wider_than_its_column_without_a_scroll_cue(open_page, path, width):
    """Tables, figures, formulas and outputs fit the text column, or scroll inside it with a
    visible cue; the page itself never scrolls sideways (at a laptop's width and a phone's)."""
    bp = open_page(path, viewport=(width, 900))
    bp.check_images().check_math().check_widgets()
    if path.endswith("tryit.html"):  # its pictures appear once a photo is segmented: the first sample
        bp.page.wait_for_function("document.getElementById('tryit-app').dataset.state === 'ready'", timeout=120_000)
        bp.page.locator(".tryit-sample").first.click()
        bp.page.wait_for_function("document.getElementById('tryit-app').dataset.state === 'done'", timeout=120_000)
    problems = bp.page.evaluate(OVERFLOW_JS)
    assert not problems, f"{path} at {width} px:\n  " + "\n  ".join(problems)
