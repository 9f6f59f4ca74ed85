"""The Try-it page's model in Chromium beside the same model in Python, and what the page adds to the book.

    .venv/bin/python benchmarks/tryit_browser.py [--rounds R] [--repeats N]   # in `make bench`

Needs the built book (``tools/build_book.sh``); times EG1800's photo 00002 (``LRN_DATA`` or
``../shared/data``), else one made from scikit-image's astronaut. Side by side in one run, on the same letterboxed 224 x 224 square of the
same photo, alternating R rounds of N forwards each so that anything else on the machine
slows both alike:

* *browser*: LiteRT.js 2.5.3 (WebAssembly, one thread: the page cannot use threads without
  cross-origin isolation, which a static host does not give) in headless Chromium, timed
  inside the page with ``performance.now()`` around ``model.run`` and the copy of the six
  maps out of WebAssembly memory (``lrnTryit.forward``);
* *python*: ``lrn.lite.LiteModel`` (LiteRT, native XNNPACK) on the same ``.tflite`` weights,
  with one thread (the like-for-like ratio) and with the machine's threads (what
  ``lrn whiten`` uses).

Also the whole photo in the page (letterbox, forward, map back to the photo's 600 x 800, edges
refined with the guided filter: ``lrnTryit.segment``) beside ``lrn.segment`` with the same
refinement (what ``lrn whiten`` computes before composing), and the bytes the page adds to the built book
(the runtime's files, the model, the page's own script) and those one visit downloads.
Prints a table with the ratios and writes ``benchmarks/tryit_browser.json``.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402

BUILD = REPO / "_build" / "html"
PAGE = "book/tryit.html"
CHROMIUM = os.environ.get("LRN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
PAGE_FILES = ("_static/vendor/litertjs", "_static/tryit-model", "_static/tryit", "book/tryit.html")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


def photo_path() -> Path:
    """EG1800's photo 00002, else a 600x800 JPEG made from scikit-image's public-domain ``astronaut``."""
    root = Path(os.environ.get("LRN_DATA", REPO.parent / "shared" / "data"))
    path = root / "eg1800" / "images_data_crop" / "00002.jpg"
    if path.is_file():
        return path
    from whiten_startup import astronaut_photos

    print(f"[tryit_browser] {path} not found: timing a photo made from scikit-image's astronaut", file=sys.stderr)
    return astronaut_photos(1, Path(tempfile.mkdtemp(prefix="tryit-bench-")))[0]


def folder_bytes(rel: str) -> int:
    path = BUILD / rel
    return path.stat().st_size if path.is_file() else sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def python_forward_ms(model, x: np.ndarray, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model(x)
        times.append(1000 * (time.perf_counter() - t))
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    if not (BUILD / PAGE).is_file():
        sys.exit(f"[tryit_browser] {BUILD / PAGE} is missing: build the book first (tools/build_book.sh)")
    from playwright.sync_api import sync_playwright

    from lrn import cutout, imageops, letterbox, lite

    photo_file = photo_path()
    photo = imageops.read_photo(photo_file)
    square, _ = letterbox.letterbox_photo(photo, 224)
    x = square[np.newaxis].astype(np.float32)
    config = json.loads((BUILD / "_static" / "tryit-model" / "config.json").read_text())
    content = (BUILD / "_static" / "tryit-model" / config["model"]).read_bytes()
    python = {"1 thread": lite.LiteModel(content, threads=1), f"{os.cpu_count()} threads": lite.LiteModel(content)}
    shipped, _ = cutout.load(verbose=False)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(BUILD)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    downloaded = []
    times = {"browser": [], **{f"python, {k}": [] for k in python}}
    whole = {"browser": [], "python": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.on("response", lambda r: downloaded.append(r))
        t0 = time.perf_counter()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/{PAGE}")
        page.wait_for_function("['ready', 'error'].includes(document.getElementById('tryit-app').dataset.state)",
                               timeout=120_000)
        if page.get_attribute("#tryit-app", "data-state") != "ready":
            sys.exit(f"[tryit_browser] the page did not load its model: {page.inner_text('#tryit-message')}")
        ready_s = time.perf_counter() - t0
        page.set_input_files("#tryit-file", str(photo_file))
        page.wait_for_function("document.getElementById('tryit-app').dataset.state === 'done'", timeout=120_000)
        # sizes from the network log: a body as large as the VGG model's is evicted from the inspector's cache
        sizes = sum(r.request.sizes()["responseBodySize"] for r in downloaded if r.ok)
        for k, model in python.items():  # warm-up
            python_forward_ms(model, x, 2)
        for r in range(args.rounds):
            run.log(f"round {r + 1}/{args.rounds}")
            times["browser"] += page.evaluate("""async (n) => { const s = window.lrnTryit, out = [];
                const sq = s.result.square;
                for (let i = 0; i < n; i++) { const t = performance.now(); await s.forward(sq); out.push(performance.now() - t); }
                return out; }""", args.repeats)
            for k, model in python.items():
                times[f"python, {k}"] += python_forward_ms(model, x, args.repeats)
            whole["browser"] += page.evaluate("""async (n) => { const s = window.lrnTryit, out = [];
                for (let i = 0; i < n; i++) { const t = performance.now(); await s.segment(s.photo); out.push(performance.now() - t); }
                return out; }""", max(1, args.repeats // 5))
            for _ in range(max(1, args.repeats // 5)):
                t = time.perf_counter()
                cutout.segment(shipped, photo, refinement=cutout.DEFAULT_REFINEMENT)
                whole["python"].append(1000 * (time.perf_counter() - t))
        browser.close()
    server.shutdown()

    medians = {k: statistics.median(v) for k, v in times.items()}
    one = medians["python, 1 thread"]
    rows = [[k, medians[k], float(np.percentile(v, 90)), medians[k] / one] for k, v in times.items()]
    run.table("Try-it page: one forward of the shipped model (224 x 224), ms", ["runtime", "median", "p90", "vs python 1 thread"],
              rows, f"browser / python (1 thread) = {medians['browser'] / one:.2f}x; "
                    f"browser / python ({os.cpu_count()} threads) = {medians['browser'] / medians[f'python, {os.cpu_count()} threads']:.2f}x")
    wb, wp = statistics.median(whole["browser"]), statistics.median(whole["python"])
    run.table(f"Whole photo ({photo.shape[1]} x {photo.shape[0]}): letterbox, forward, map back, guided filter, ms",
              ["where", "median"], [["browser (lrnTryit.segment)", wb], ["python (lrn.segment, LiteRT, refined)", wp]],
              f"browser / python = {wb / wp:.2f}x")
    added = {rel: folder_bytes(rel) for rel in PAGE_FILES}
    run.table("What the page adds to the built book, MB", ["files", "MB"],
              [[rel, added[rel] / 1e6] for rel in PAGE_FILES] + [["one visit downloads (one WebAssembly build)", sizes / 1e6]],
              f"added to the book: {sum(added.values()) / 1e6:.1f} MB (built book now {folder_bytes('.') / 1e6:.0f} MB); "
              f"page ready (runtime + model) in {ready_s:.2f} s")
    result = {
        "photo": str(photo_file.name), "rounds": args.rounds, "repeats": args.repeats, "cpus": os.cpu_count(),
        "forward_ms": {k: {"median": medians[k], "p90": float(np.percentile(v, 90))} for k, v in times.items()},
        "ratio_browser_vs_python_1_thread": medians["browser"] / one,
        "ratio_browser_vs_python_all_threads": medians["browser"] / medians[f"python, {os.cpu_count()} threads"],
        "whole_photo_ms": {"browser": wb, "python": wp, "ratio": wb / wp},
        "added_bytes": added, "added_bytes_total": sum(added.values()), "visit_downloaded_bytes": sizes,
        "page_ready_s": ready_s, "raw_ms": times, "raw_whole_photo_ms": whole,
    }
    (HERE / "tryit_browser.json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
