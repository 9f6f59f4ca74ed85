"""Could LRN-VGG at width 1 replace the shipped cut-out model? Its size, precision and speed beside the shipped one.

    .venv/bin/python benchmarks/imagenet_cutout_limits.py [--rounds R] [--photos N] [--no-browser] [--small-input S]
    .venv/bin/python benchmarks/imagenet_cutout_limits.py --quick   # smoke run, a width-0.125 stand-in; numbers NOT meaningful

Not in ``make bench`` (about 10 min on 2 cores). Side by side in one run, on the same
letterboxed 224 x 224 feed (``lrn.letterbox``, the shipped model's ``pad``), for

* *shipped*: the model inside the package (``lrn/pretrained/lrn_people_224.keras``, an LRN at
  width 0.25, trained);
* *vgg*: ``lrn.models.build_model("lrn_vgg", (224, 224, 3), width=1.0, preprocessing="torch")``
  with random weights (the full VGG-16 encoder; ImageNet weights would not change its size or
  speed, only the precision figure below, see there);
* *vgg-S* (``--small-input``, default 160, 0 to skip): the same network at a smaller input,
  one way to make it faster;

it measures:

1. **Sizes**: the ``.keras`` file (``provenance.save_model``, as ``lrn.shipped.install`` writes
   it), the same weights saved at half precision (a ``float16`` Keras policy; ``lrn.pretrained``
   cannot load that today), and the LiteRT ``.tflite`` converted the way ``lrn.fastforward.convert``
   does (``model.export`` -> ``TFLiteConverter.from_saved_model``) in float32, with float16
   weights (``optimizations=[DEFAULT]``, ``target_spec.supported_types=[tf.float16]``) and with
   int8 dynamic-range weights (``optimizations=[DEFAULT]`` alone). The package holds the
   ``.keras`` *and* the ``.tflite`` (``lrn whiten`` runs the second, ``lrn.pretrained`` loads the
   first), so the sums are given against ``lrn.shipped.MAX_BYTES``.
2. **Precision**: the largest difference of the s6 map (what the cut-out uses) between the
   float32 ``.tflite`` and the float16 / int8 ones, on the first N EG1800 photos (``LRN_DATA``),
   else on scikit-image's astronaut.
3. **``lrn whiten`` per further photo** (model loaded, first photo excluded): ``lrn.cutout.whiten_file``
   (read, letterbox, forward, map back, guided filter, compose, PNG) on the 600 x 800 EG1800 photos
   with a ``CutoutModel`` around ``lrn.lite.LiteModel`` (LiteRT, XNNPACK, the machine's threads:
   what ``lrn.cutout.load`` gives ``lrn whiten``), in R rounds that alternate the models; and the
   forward alone, also with one thread. Medians.
4. **FLOPs** of one forward (``lrn.models.conv_flops``: 2 per multiply-add of the convolutions).
5. **Browser** (unless ``--no-browser``): the Try-it page's own script (``book/_static/tryit/``,
   LiteRT.js from ``book/_static/vendor``, made by ``tools/book_assets.py``) in headless
   Chromium, one page per model in a small site made here (the page's HTML from
   ``book/tryit.md``, ``config.json`` from ``lrnbook.tryit.config``, the model with its batch
   fixed, ``lrnbook.tryit.fixed_batch``); ``lrnTryit.forward`` and ``lrnTryit.segment`` timed
   inside the page in alternating rounds, as ``benchmarks/tryit_browser.py`` does; the page's
   s6 checked against Python's on the same square. Needs no built book.

The sgemm peak (``run.sgemm_peak``, 4096, as ``make bench``) is measured at the start and the end: a low or changing
figure says the machine was busy (absolute times are then pessimistic; the ratios, measured
in alternation, less so). Prints tables and writes ``benchmarks/imagenet_cutout_limits.json``
(``--quick``: ``imagenet_cutout_limits-quick.json``).
No timed assertions.
"""
from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import shutil
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
sys.path.insert(0, str(REPO / "bookkit"))

import run  # noqa: E402

SIZE = 224
LIMIT_WHITEN_S = 0.5
KINDS = ("float32", "float16", "int8-dynamic")
CHROMIUM = os.environ.get("LRN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
VENDOR = REPO / "book" / "_static" / "vendor" / "litertjs"
MB = 1e6


def test_photos(n: int, work: Path) -> tuple[list[Path], list[np.ndarray | None]]:
    """The first ``n`` photos (600 x 800) of EG1800's official test list and their masks, else
    ``n`` photos made from scikit-image's astronaut (no masks)."""
    root = run.data_root()
    if root is not None:
        import scipy.io

        from lrn import imageops

        folder = root / "eg1800"
        ids = [f"{int(i):05d}" for i in sorted(np.ravel(scipy.io.loadmat(folder / "testlist.mat")["testlist"]))]
        ids = [i for i in ids if (folder / "images_data_crop" / f"{i}.jpg").is_file()
               and (folder / "images_mask" / f"{i}_mask.mat").is_file()][:n]
        if ids:
            return ([folder / "images_data_crop" / f"{i}.jpg" for i in ids],
                    [imageops.read_mask(folder / "images_mask" / f"{i}_mask.mat") for i in ids])
    from whiten_startup import astronaut_photos

    run.log("EG1800 not found: photos made from scikit-image's astronaut")
    return astronaut_photos(n, work), [None] * n


def idle_reference() -> dict | None:
    """``make bench``'s lrn whiten figures on an idle machine (``details-whiten.json``): the full-width
    LRN at 224 (LRN-VGG's network, random weights) and the shipped model, 600 x 800 photos."""
    path = HERE / "details-whiten.json"
    if not path.is_file():
        return None
    details = json.loads(path.read_text())
    rows = {r["model"]: r for r in details.get("whiten", []) if r.get("photos") == "full"}
    return {"file": path.name, "started": details.get("started"), "peak_gflops": (details.get("peak_start") or {}).get("gflops"),
            **{name: {k: rows[name][k] for k in ("whiten_file_ms", "forward_ms", "forward_gflop") if k in rows[name]}
               for name in rows}}


def convert_all(model, kinds=KINDS) -> dict[str, bytes]:
    """The model's ``.tflite`` in each kind: ``lrn.fastforward.convert``'s calls, plus the optimisation."""
    import tensorflow as tf

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "saved_model"
        model.export(str(saved), format="tf_saved_model", verbose=False)
        for kind in kinds:
            converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
            if kind != "float32":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            if kind == "float16":
                converter.target_spec.supported_types = [tf.float16]
            out[kind] = converter.convert()
    return out


def half_keras_bytes(model, builder, path: Path) -> int:
    """Size of the ``.keras`` file of the same weights held in float16 (Keras dtype policy)."""
    import keras

    from lrn import provenance

    keras.config.set_dtype_policy("float16")
    try:
        half = builder()
    finally:
        keras.config.set_dtype_policy("float32")
    half.set_weights([w.astype(np.float16) if w.dtype == np.float32 else w for w in model.get_weights()])
    provenance.save_model(half, path, provenance.record(0, {"note": "float16 weights"}))
    return path.stat().st_size


def forward_ms(model, x: np.ndarray, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model(x)
        times.append(1e3 * (time.perf_counter() - t))
    return times


def build_models(args, work: Path) -> dict[str, dict]:
    """Per model: its .keras size(s), conv FLOPs, parameters and its .tflite bytes per kind."""
    from lrn import fastforward, models, provenance, shipped

    width = 0.125 if args.quick else 1.0
    specs = {"shipped": None, "vgg": SIZE}
    if args.small_input:
        specs[f"vgg-{args.small_input}"] = args.small_input
    out = {}
    for name, size in specs.items():
        t = time.perf_counter()
        if size is None:
            model = shipped.pretrained().network
            keras_file = shipped.MODEL_FILE

            def builder(m=model):
                return models.build_model("lrn", tuple(m.input.shape[1:]), width=0.25,
                                          preprocessing=m.get_layer("vgg_preprocess").mode)
        else:
            def builder(size=size):
                return models.build_model("lrn_vgg", (size, size, 3), width=width, encoder_weights=None,
                                          preprocessing="torch")
            model = builder()
            keras_file = provenance.save_model(model, work / f"{name}.keras", provenance.record(0, {"width": width}))
        kinds = KINDS if size in (None, SIZE) else ("float32", "float16")
        content = convert_all(model, kinds)
        entry = {"input": int(model.input.shape[1]), "parameters": int(model.count_params()),
                 "conv_gflop": models.conv_flops(model) / 1e9, "keras_bytes": keras_file.stat().st_size,
                 "keras_float16_bytes": half_keras_bytes(model, builder, work / f"{name}-f16.keras"),
                 "tflite_bytes": {k: len(v) for k, v in content.items()},
                 "convert_check_vs_keras": fastforward.check(fastforward.LiteForward(content["float32"]), model),
                 "content": content}
        if size is None:
            entry["shipped_tflite_bytes"] = shipped.TFLITE_FILE.stat().st_size
        out[name] = entry
        run.log(f"{name}: {entry['parameters']:,} parameters, {entry['conv_gflop']:.2f} GFLOP, .keras "
                f"{entry['keras_bytes'] / MB:.1f} MB, .tflite {', '.join(f'{k} {v / MB:.1f} MB' for k, v in entry['tflite_bytes'].items())} "
                f"({time.perf_counter() - t:.0f} s)")
        del model
    return out


def precision(built: dict, photos: list[np.ndarray], masks: list) -> dict:
    """Largest |s6(kind) - s6(float32)| over the photos' letterboxed squares, per model and kind; for
    the shipped (trained) model also the Jaccard index of its 0.5-mask against EG1800's truth and
    against the float32 mask, at the photo's resolution (``lrn.segment``, no refinement)."""
    from lrn import cutout, letterbox, lite, metrics, shipped
    from lrn.cutout_model import CutoutModel

    out = {}
    for name, entry in built.items():
        size = entry["input"]
        xs = [letterbox.letterbox_photo(p, size)[0][np.newaxis].astype(np.float32) for p in photos]
        ref = lite.LiteModel(entry["content"]["float32"])
        base = [ref(x) for x in xs]
        std = float(np.mean([b.std() for b in base]))
        out[name] = {"s6_float32_range": [float(min(b.min() for b in base)), float(max(b.max() for b in base))],
                     "s6_float32_std": std, "n_photos": len(photos)}
        scored = name == "shipped" and all(m is not None for m in masks)
        if scored:
            full = {}
        for kind, content in entry["content"].items():
            other = lite.LiteModel(content)
            if scored:
                model = CutoutModel(other, shipped.feed(), shipped.clean())
                full[kind] = [cutout.segment(model, p, clean=model.clean) > 0.5 for p in photos]
            if kind == "float32":
                continue
            diffs = [float(np.abs(other(x) - b).max()) for x, b in zip(xs, base)]
            flips = [float(np.mean((other(x) > 0.5) != (b > 0.5))) for x, b in zip(xs, base)]
            out[name][kind] = {"max_abs_s6": max(diffs), "max_abs_s6_vs_std": max(diffs) / std, "per_photo": diffs,
                               "mask_flip_share_max": max(flips), "mask_flip_share_mean": float(np.mean(flips))}
        if scored:
            out[name]["jaccard_vs_truth"] = {k: float(np.mean([metrics.jaccard(t, p) for t, p in zip(masks, v)]))
                                             for k, v in full.items()}
            out[name]["jaccard_vs_float32_min"] = {k: float(min(metrics.jaccard(a, b) for a, b in zip(full["float32"], v)))
                                                   for k, v in full.items() if k != "float32"}
    return out


def python_speed(built: dict, paths: list[Path], rounds: int, work: Path) -> dict:
    """lrn whiten per further photo (whiten_file) and the forward alone, alternating the variants each round."""
    from lrn import cutout, imageops, letterbox, lite, shipped
    from lrn.cutout_model import CutoutModel

    variants = {}
    for name, entry in built.items():
        for kind in entry["content"]:
            if name == "shipped" and kind == "int8-dynamic":
                continue
            net = lite.LiteModel(entry["content"][kind])
            feed, clean = (shipped.feed(), shipped.clean()) if name == "shipped" else ("pad", False)
            variants[f"{name} {kind}"] = {"model": CutoutModel(net, feed, clean, net.runtime), "entry": entry,
                                          "one": lite.LiteModel(entry["content"][kind], threads=1) if kind == "float32" else None}
    photos = [imageops.read_photo(p) for p in paths]
    out_dir = work / "white"
    times = {k: {"whiten_file": [], "forward": [], "forward_1_thread": []} for k in variants}
    for v in variants.values():  # warm-up: the first photo (kernel set-up) is not timed
        cutout.whiten_file(v["model"], paths[0], out_dir)
    for r in range(rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        run.log(f"python round {r + 1}/{rounds}")
        for k in order:
            v = variants[k]
            for p in paths:
                t = time.perf_counter()
                cutout.whiten_file(v["model"], p, out_dir)
                times[k]["whiten_file"].append(1e3 * (time.perf_counter() - t))
            size = v["entry"]["input"]
            x = letterbox.letterbox_photo(photos[r % len(photos)], size)[0][np.newaxis].astype(np.float32)
            times[k]["forward"] += forward_ms(v["model"].network, x, 2)
            if v["one"] is not None:
                times[k]["forward_1_thread"] += forward_ms(v["one"], x, 1)
    med = {k: {s: (statistics.median(t) if t else None) for s, t in v.items()} for k, v in times.items()}
    return {"median_ms": med, "raw_ms": times, "photo_hw": list(photos[0].shape[:2]), "n_photos": len(paths),
            "rounds": rounds, "threads": len(os.sched_getaffinity(0))}


# ----------------------------------------------------------------------------- browser
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


def page_html() -> str:
    """The Try-it page's markup, taken from book/tryit.md (the raw HTML between the link and the noscript)."""
    text = (REPO / "book" / "tryit.md").read_text()
    start = text.index('<link rel="stylesheet"')
    end = text.index("</noscript>") + len("</noscript>")
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Try it</title></head><body>\n{text[start:end]}\n</body></html>\n'


def make_site(root: Path, name: str, content: bytes) -> None:
    """A site with the Try-it page running ``content`` at ``root/name/book/tryit.html``."""
    from lrnbook import tryit

    site = root / name
    (site / "book").mkdir(parents=True)
    (site / "_static" / "vendor").mkdir(parents=True)
    os.symlink(VENDOR, site / "_static" / "vendor" / "litertjs")
    os.symlink(REPO / "book" / "_static" / "tryit", site / "_static" / "tryit")
    model_dir = site / "_static" / "tryit-model"
    model_dir.mkdir()
    model = model_dir / tryit.MODEL_NAME
    model.write_bytes(tryit.fixed_batch(content))
    (model_dir / "config.json").write_text(json.dumps(tryit.config(model, [])))
    (site / "book" / "tryit.html").write_text(page_html())


B64 = """const b64 = (a) => { const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength); let s = '';
    for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode.apply(null, u.subarray(i, i + 0x8000));
    return btoa(s); };"""


def page_error(page, state: str, timeout_ms: int) -> str | None:
    """Wait until the Try-it app reaches ``state`` or ``error``; the page's message if it is an error."""
    page.wait_for_function(f"['{state}', 'error'].includes(document.getElementById('tryit-app').dataset.state)",
                           timeout=timeout_ms)
    if page.get_attribute("#tryit-app", "data-state") != state:
        return page.inner_text("#tryit-message")
    return None


def browser_speed(built: dict, photo_file: Path, rounds: int, repeats: int, work: Path) -> dict:
    """The Try-it page per model in headless Chromium: forward and whole photo, alternating, and s6 against Python."""
    from playwright.sync_api import sync_playwright

    from lrn import imageops, letterbox, lite

    if not (VENDOR / "core" / "index.js").is_file():
        return {"error": f"{VENDOR} missing: run tools/book_assets.py"}
    wanted = [("shipped", "float32"), ("vgg", "float32"), ("vgg", "float16"), ("vgg", "int8-dynamic")]
    if any(n.startswith("vgg-") for n in built):
        small = next(n for n in built if n.startswith("vgg-"))
        wanted.append((small, "float16"))
    root = work / "sites"
    for name, kind in wanted:
        make_site(root, f"{name}-{kind}", built[name]["content"][kind])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    photo = imageops.read_photo(photo_file)
    out = {"photo": photo_file.name, "rounds": rounds, "repeats": repeats, "pages": {}}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pages = {}
        for name, kind in wanted:
            key = f"{name} {kind}"
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/{name}-{kind}/book/tryit.html")
            error = page_error(page, "ready", 300_000)
            entry = {"ready_s": time.perf_counter() - t0}
            if error is None:
                t0 = time.perf_counter()
                page.set_input_files("#tryit-file", str(photo_file))
                error = page_error(page, "done", 600_000)
                entry["first_photo_s"] = time.perf_counter() - t0
            if error is not None:
                entry["error"] = error
                run.log(f"browser {key}: {error}")
                out["pages"][key] = entry
                page.close()
                continue
            got = page.evaluate("() => { " + B64 + """ const r = window.lrnTryit.result, s6 = r.levels[r.levels.length - 1];
                return {side: s6.width, data: b64(s6.data)}; }""")
            s6 = np.frombuffer(base64.b64decode(got["data"]), np.float32).reshape(got["side"], got["side"])
            square = letterbox.letterbox_photo(photo, built[name]["input"])[0][np.newaxis].astype(np.float32)
            ref = lite.LiteModel(built[name]["content"][kind], threads=1)(square)[0, ..., 0]
            entry["s6_vs_python_max_abs"] = float(np.abs(s6 - ref).max())
            entry.update(forward_ms=[], segment_ms=[])
            out["pages"][key] = entry
            pages[key] = page
            run.log(f"browser {key}: ready in {entry['ready_s']:.1f} s, first photo {entry['first_photo_s']:.1f} s, "
                    f"s6 vs python {entry['s6_vs_python_max_abs']:.2g}")
        for r in range(rounds):
            run.log(f"browser round {r + 1}/{rounds}")
            order = list(pages) if r % 2 == 0 else list(reversed(pages))
            for key in order:
                page = pages[key]
                out["pages"][key]["forward_ms"] += page.evaluate("""async (n) => { const s = window.lrnTryit, out = [];
                    for (let i = 0; i < n; i++) { const t = performance.now(); await s.forward(s.result.square); out.push(performance.now() - t); }
                    return out; }""", repeats)
                out["pages"][key]["segment_ms"] += page.evaluate("""async () => { const s = window.lrnTryit;
                    const t = performance.now(); await s.segment(s.photo); return [performance.now() - t]; }""")
        browser.close()
    server.shutdown()
    for entry in out["pages"].values():
        for k in ("forward_ms", "segment_ms"):
            if entry.get(k):
                entry[f"{k}_median"] = statistics.median(entry[k])
    return out


# ----------------------------------------------------------------------------- report
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--photos", type=int, default=4, help="photos timed")
    parser.add_argument("--precision-photos", type=int, default=16, help="photos for the precision figures")
    parser.add_argument("--small-input", type=int, default=160, help="also time LRN-VGG at this input (0: skip)")
    parser.add_argument("--browser-rounds", type=int, default=3)
    parser.add_argument("--browser-repeats", type=int, default=2)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smoke run: LRN-VGG at width 0.125, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.photos, args.precision_photos, args.browser_rounds, args.browser_repeats = 1, 2, 3, 1, 1

    from lrn import imageops, shipped

    work = Path(tempfile.mkdtemp(prefix="cutout-limits-"))
    peak_start = run.sgemm_peak(4096, 3)["gflops"]
    run.log(f"sgemm peak at the start: {peak_start:.0f} GFLOP/s")
    all_paths, masks = test_photos(max(args.photos, args.precision_photos), work)
    paths = all_paths[:args.photos]
    built = build_models(args, work)
    prec = precision(built, [imageops.read_photo(p) for p in all_paths[:args.precision_photos]],
                     masks[:args.precision_photos])
    speed = python_speed(built, paths, args.rounds, work)
    browser = None if args.no_browser else browser_speed(built, paths[0], args.browser_rounds, args.browser_repeats, work)
    peak_end = run.sgemm_peak(4096, 3)["gflops"]
    run.log(f"sgemm peak at the end: {peak_end:.0f} GFLOP/s")

    sh, vg = built["shipped"], built["vgg"]
    rows = []
    for name, e in built.items():
        t = e["tflite_bytes"]
        rows.append([name, e["input"], e["parameters"] / 1e6, e["conv_gflop"], e["keras_bytes"] / MB, e["keras_float16_bytes"] / MB,
                     t["float32"] / MB, t["float16"] / MB, t.get("int8-dynamic", float("nan")) / MB])
    rows.append(["vgg / shipped", "", vg["parameters"] / sh["parameters"], vg["conv_gflop"] / sh["conv_gflop"],
                 vg["keras_bytes"] / sh["keras_bytes"], vg["keras_float16_bytes"] / sh["keras_float16_bytes"],
                 vg["tflite_bytes"]["float32"] / sh["tflite_bytes"]["float32"],
                 vg["tflite_bytes"]["float16"] / sh["tflite_bytes"]["float16"],
                 vg["tflite_bytes"]["int8-dynamic"] / sh["tflite_bytes"]["int8-dynamic"]])
    run.table("Size: parameters (M), forward conv GFLOP, files (MB)",
              ["model", "input", "params M", "GFLOP", ".keras", ".keras f16", ".tflite f32", ".tflite f16", ".tflite int8-dr"],
              rows, f"limit {shipped.MAX_BYTES / MB:.0f} MB in the package (lrn.shipped.MAX_BYTES); the package holds .keras + .tflite")
    package = {}
    for name, e in built.items():
        t = e["tflite_bytes"]
        combos = {"keras f32 + tflite f32": e["keras_bytes"] + t["float32"],
                  "keras f16 + tflite f16": e["keras_float16_bytes"] + t["float16"],
                  "tflite f16 alone": t["float16"]}
        if "int8-dynamic" in t:
            combos["keras f16 + tflite int8-dr"] = e["keras_float16_bytes"] + t["int8-dynamic"]
            combos["tflite int8-dr alone"] = t["int8-dynamic"]
        package[name] = {k: {"bytes": v, "within_limit": v <= shipped.MAX_BYTES} for k, v in combos.items()}
    run.table("Package: what lies in lrn/pretrained/, MB", ["model", "files", "MB", f"<= {shipped.MAX_BYTES / MB:.0f} MB"],
              [[n, k, v["bytes"] / MB, "yes" if v["within_limit"] else "NO"] for n, c in package.items() for k, v in c.items()], "")
    run.table(f"Precision: max |s6 - s6(float32 .tflite)| over {args.precision_photos} photos (224 x 224 squares)",
              ["model", "kind", "max abs", "/ s6 std", "mask flips max", "mask flips mean"],
              [[n, k, v["max_abs_s6"], v["max_abs_s6_vs_std"], v["mask_flip_share_max"], v["mask_flip_share_mean"]]
               for n, p in prec.items() for k, v in p.items() if isinstance(v, dict) and "max_abs_s6" in v],
              "vgg has random weights: its s6 is nearly flat (small std), so its figure says little about a trained VGG")
    if "jaccard_vs_truth" in prec["shipped"]:
        j = prec["shipped"]
        run.table("Shipped model (trained): Jaccard of its 0.5-mask at the photo's resolution, %",
                  ["kind", "vs EG1800 truth (mean)", "vs float32 mask (min)"],
                  [[k, v, j["jaccard_vs_float32_min"].get(k, 100.0)] for k, v in j["jaccard_vs_truth"].items()], "")
    med = speed["median_ms"]
    base = med["shipped float32"]
    idle = idle_reference()
    run.table(f"lrn whiten per further {speed['photo_hw'][1]} x {speed['photo_hw'][0]} photo (whiten_file) and forward, ms, "
              f"{speed['threads']} threads, median",
              ["variant", "whiten_file", "forward", "forward 1 thread", "whiten vs shipped", f"<= {LIMIT_WHITEN_S * 1e3:.0f} ms"],
              [[k, v["whiten_file"], v["forward"], v["forward_1_thread"] if v["forward_1_thread"] else "",
                v["whiten_file"] / base["whiten_file"], "yes" if v["whiten_file"] <= LIMIT_WHITEN_S * 1e3 else "NO"]
               for k, v in med.items()],
              f"sgemm peak {peak_start:.0f} GFLOP/s at the start, {peak_end:.0f} at the end (shared machine: absolute times pessimistic)"
              + (f"; on an idle machine (make bench, {idle['file']}, peak {idle['peak_gflops']:.0f} GFLOP/s) whiten_file took "
                 f"{idle['lrn-w1-224']['whiten_file_ms']:.0f} ms for the full-width LRN at 224 (this network) and "
                 f"{idle['shipped']['whiten_file_ms']:.0f} ms for the shipped model"
                 if idle and "lrn-w1-224" in idle and "shipped" in idle else ""))
    if browser and "pages" in browser:
        pages = browser["pages"]
        ref = pages.get("shipped float32", {})
        run.table("Try-it page in Chromium (LiteRT.js, WebAssembly, one thread), ms, median",
                  ["page", "ready s", "forward", "whole photo", "forward vs shipped", "s6 vs python"],
                  [[k, v["ready_s"], v.get("forward_ms_median", float("nan")), v.get("segment_ms_median", float("nan")),
                    v.get("forward_ms_median", float("nan")) / ref.get("forward_ms_median", float("nan")),
                    v.get("s6_vs_python_max_abs", v.get("error", ""))] for k, v in pages.items()], "")

    def strip(entry):
        return {k: v for k, v in entry.items() if k != "content"}

    result = {
        "photos": [p.name for p in paths], "cpus": os.cpu_count(), "peak_gflops": {"start": peak_start, "end": peak_end},
        "limits": {"max_bytes": shipped.MAX_BYTES, "whiten_s": LIMIT_WHITEN_S},
        "models": {n: strip(e) for n, e in built.items()}, "package": package, "precision": prec,
        "python": speed, "browser": browser, "idle_reference": idle_reference(),
        "ratios_vgg_vs_shipped": {
            "parameters": vg["parameters"] / sh["parameters"], "conv_flops": vg["conv_gflop"] / sh["conv_gflop"],
            "keras_bytes": vg["keras_bytes"] / sh["keras_bytes"],
            **{f"tflite_{k}_bytes": vg["tflite_bytes"][k] / sh["tflite_bytes"][k] for k in KINDS},
            "whiten_file_float32": med["vgg float32"]["whiten_file"] / base["whiten_file"],
            "forward_float32": med["vgg float32"]["forward"] / base["forward"],
            "forward_float32_1_thread": med["vgg float32"]["forward_1_thread"] / base["forward_1_thread"],
            **({"browser_forward_float32": browser["pages"]["vgg float32"]["forward_ms_median"]
                / browser["pages"]["shipped float32"]["forward_ms_median"]}
               if browser and "forward_ms_median" in browser.get("pages", {}).get("vgg float32", {})
               and "forward_ms_median" in browser["pages"].get("shipped float32", {}) else {}),
        },
    }
    result["quick"] = args.quick
    (HERE / ("imagenet_cutout_limits-quick.json" if args.quick else "imagenet_cutout_limits.json")).write_text(json.dumps(result, indent=1) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
