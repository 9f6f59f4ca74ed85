"""Speed benchmarks of lrn (issue 4): ``make bench`` = ``.venv/bin/python benchmarks/run.py``.

Prints one table per figure, each closed by a line with its ratio, all measured in this one
run, and writes ``benchmarks/results.json`` (schema in ``benchmarks/README.md``) plus the
raw measurements in ``benchmarks/details.json``.

    python benchmarks/run.py            # the full run (about 15 minutes on 2 cores)
    python benchmarks/run.py --quick    # a smoke run: 64x64, a few steps (numbers not meaningful)

Figures: sgemm peak; training throughput (lrn path vs plain baseline, share of the peak);
training attempts (oneDNN, XLA, batch size, determinism, augmentation); input pipeline
alone; evaluation against medpy; ``lrn whiten`` latency split into forward and the rest.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
T_START = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - T_START:6.0f} s] {message}", file=sys.stderr, flush=True)


def table(title: str, header: list[str], rows: list[list], last: str) -> None:
    cells = [[str(c) for c in header]] + [[c if isinstance(c, str) else f"{c:.4g}" if isinstance(c, float) else str(c)
                                           for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n## {title}")
    for k, row in enumerate(cells):
        print("  ".join(c.rjust(w) if k and i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print(last, flush=True)


# ------------------------------------------------------------------------------- peak
def sgemm_peak(n: int, repeats: int) -> dict:
    """Best numpy float32 matmul rate, GFLOP/s (2 n^3 FLOPs per product)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm-up (threads, page faults)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return {"n": n, "gflops": 2 * n**3 / min(times) / 1e9, "times_s": times}


# ------------------------------------------------------------------------------- data
def data_root() -> Path | None:
    env = os.environ.get("LRN_DATA")
    for root in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if (root / "eg1800" / "trainlist.mat").exists():
            return root
    return None


def load_data(size: int, source: str):
    """(train split, test split at 224, source name): EG1800 paper protocol, else synthetic."""
    import warnings

    from lrn import data

    root = data_root() if source in ("auto", "eg1800") else None
    if root is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            splits = data.eg1800(root, protocol="paper", size=size, seed=0)
            test = splits.test if size == 224 else data.eg1800(root, protocol="paper", size=224, seed=0).test
        return splits.train, test, f"EG1800 paper protocol ({root})"
    if source == "eg1800":
        raise SystemExit("EG1800 not found: set LRN_DATA to the folder holding eg1800/")
    return data.synthetic(250, size=size, seed=0), data.synthetic(48, size=224, seed=1), "synthetic (lrn.data.synthetic)"


# ------------------------------------------------------------------------------- training
def run_worker(jobs: list[dict], data_path: str, onednn: str, log_name: str) -> list[dict]:
    """Run ``jobs`` in one fresh process with ``TF_ENABLE_ONEDNN_OPTS=onednn``."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"data": data_path, "jobs": jobs}, f)
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    log(f"training worker {log_name}: {len(jobs)} job(s), TF_ENABLE_ONEDNN_OPTS={onednn}")
    proc = subprocess.run([sys.executable, str(HERE / "train_speed.py"), f.name], capture_output=True,
                          text=True, env=env, check=False)
    os.unlink(f.name)
    results = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or len(results) != len(jobs):
        print(proc.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"training worker {log_name} failed (exit {proc.returncode})")
    for r in results:
        if "error" in r:
            log(f"  {r['name']}: ERROR {r['error'][:300]}")
        else:
            log(f"  {r['name']}: {r['img_per_s']:.3f} img/s over {r['measured_steps']} steps "
                f"({r['measured_s']:.1f} s; warm-up {r['warmup_s']:.1f} s)")
    return results


def key(variant: str, width: float, size: int) -> str:
    return f"{variant}-w{width:g}-{size}"


def training_jobs(args, profile: dict) -> dict[str, list[dict]]:
    """Jobs per worker: (onednn, deterministic) groups; see train_speed.py for the two paths."""
    size = args.size
    configs = [("lrn", 1.0), ("unet", 1.0), ("lrn", float(profile["width"])), ("unet", float(profile["width"]))]
    if int(profile["size"]) != 224 and not args.quick:
        raise SystemExit("this benchmark loads one data size; the cpu profile's size is not 224")
    lr = float(profile["learning_rate"])
    batch = int(profile["batch_size"])

    def job(name, variant, width, path, **extra):
        heavy = width >= 1.0 and not args.quick
        base = {"name": name, "key": key(variant, width, size), "variant": variant, "width": width, "size": size,
                "batch": batch, "lr": lr, "path": path,
                "warmup": 1 if args.quick or heavy else 2, "min_steps": 2 if args.quick else 3,
                "max_steps": 2 if args.quick else (6 if heavy else 25),
                "budget_s": 0.0 if args.quick else (24.0 if heavy else 12.0)}
        return {**base, **extra}

    groups = {
        "lrn": [job(f"lrn {key(v, w, size)}", v, w, "lrn") for v, w in configs],
        "plain": [job(f"plain {key(v, w, size)}", v, w, "plain") for v, w in configs],
    }
    if args.attempts:
        a = [("lrn", 1.0)]  # the attempts run on width-1 LRN at 224 (U-Net would take 2.3x as long)
        # oneDNN's effect at the cpu profile's width too (it is the whole vs-plain gain there)
        narrow = [("lrn", float(profile["width"])), ("unet", float(profile["width"]))]
        groups["lrn_attempts"] = (
            [job(f"xla {key(v, w, size)}", v, w, "lrn", jit=True, attempt="XLA jit_compile=True") for v, w in a]
            + [job(f"batch16 {key(v, w, size)}", v, w, "lrn", batch=16, attempt="batch 16",
                   max_steps=2 if args.quick else 4) for v, w in a]
            + [job(f"noaug {key(v, w, size)}", v, w, "lrn", augment=False, attempt="augmentation off")
               for v, w in a])
        groups["lrn_off"] = [job(f"onednn-off {key(v, w, size)}", v, w, "lrn", attempt="oneDNN off")
                             for v, w in a + narrow]
        groups["lrn_nodet"] = [job(f"nodet {key(v, w, size)}", v, w, "lrn", deterministic=False,
                                   attempt="op determinism off") for v, w in a]
        groups["plain_on"] = [job(f"plain-onednn {key(v, w, size)}", v, w, "plain", attempt="plain, oneDNN on")
                              for v, w in a + narrow]
    return groups


WORKER_ENV = {"lrn": "1", "plain": "0", "lrn_attempts": "1", "lrn_off": "0", "lrn_nodet": "1", "plain_on": "1"}
BUDGET_S = 20 * 60  # make bench must finish within 20 minutes on 2 cores
RESERVE_S = 3 * 60  # kept for the peak, pipeline, evaluation and whiten figures after the training workers


def estimate_s(jobs: list[dict], results: list[dict]) -> float:
    """Rough duration of a worker: each job as long as the measured lrn-path job of its config."""
    factor = {"XLA jit_compile=True": 2.0, "batch 16": 2.0}
    total = 10.0  # process start, TensorFlow import, data
    for j in jobs:
        ref = next((r for r in results if r["path"] == "lrn" and r["key"] == j["key"] and "attempt" not in r
                    and "error" not in r), None)
        one = ref["setup_s"] + ref["warmup_s"] + ref["measured_s"] if ref else 60.0
        total += one * factor.get(j.get("attempt"), 1.0)
    return total


# ------------------------------------------------------------------------------- pipeline
def pipeline_speed(images, masks, batch: int, n_levels: int, n_batches: int) -> dict:
    """Images/s of augment.training_batches iterated alone (decode from memory, augment, targets, batch)."""
    from lrn import augment

    per_epoch = augment.steps_per_epoch(len(images), batch)
    epochs = -(-(n_batches + 1) // per_epoch)
    ds = augment.training_batches(images, masks, batch, n_levels=n_levels, seed=0, epochs=epochs)
    it = iter(ds)
    next(it)  # warm-up: graph construction, first fill
    t = time.perf_counter()
    count = 0
    for _ in range(n_batches):
        photos, _ = next(it)
        count += int(photos.shape[0])
    seconds = time.perf_counter() - t
    return {"n_levels": n_levels, "img_per_s": count / seconds, "images": count, "seconds": seconds}


# ------------------------------------------------------------------------------- evaluation
def realistic_predictions(truths: np.ndarray, seed: int = 0) -> np.ndarray:
    """Predictions a segmentation net might make: truth shifted/scaled a little, a ragged
    boundary, a few spurious blobs and holes. Never empty (medpy's hd refuses empty masks)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    preds = []
    _, h, w = truths.shape
    yy, xx = np.mgrid[:h, :w]
    for truth in truths:
        scale = rng.uniform(0.95, 1.05)
        shift = rng.uniform(-4, 4, 2)
        centre = np.array([h, w]) / 2
        pred = ndimage.affine_transform(truth.astype(np.float32), np.eye(2) / scale,
                                        offset=centre - centre / scale - shift, order=1) > 0.5
        noise = ndimage.gaussian_filter(rng.standard_normal((h, w)), 3.0)
        edge = ndimage.binary_dilation(pred ^ ndimage.binary_erosion(pred), iterations=3)
        pred = np.where(edge, noise > 0, pred) | ndimage.binary_erosion(pred, iterations=3)
        for _ in range(rng.integers(0, 4)):  # false-positive blobs
            cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.uniform(2, 12)
            pred |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        for _ in range(rng.integers(0, 3)):  # holes
            cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.uniform(2, 8)
            pred &= (yy - cy) ** 2 + (xx - cx) ** 2 > r * r
        if not pred.any():
            pred = truth.copy()
        preds.append(pred)
    return np.stack(preds)


def evaluation_speed(truths: np.ndarray, preds: np.ndarray, repeats: int) -> dict:
    from medpy.metric import binary

    from lrn import metrics

    def ours():
        return [(metrics.jaccard(t, p), metrics.hausdorff(t, p)) for t, p in zip(truths, preds)]

    def medpy():
        return [(binary.jc(p, t) * 100.0, binary.hd(p, t)) for t, p in zip(truths, preds)]

    times = {}
    values = {}
    for name, fn in (("lrn", ours), ("medpy", medpy)):
        fn()  # warm-up (imports, caches)
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            values[name] = np.array(fn())
            best = min(best, time.perf_counter() - t)
        times[name] = best
    diff = np.abs(values["lrn"] - values["medpy"])
    max_abs_diff = float(diff.max())
    assert max_abs_diff <= 1e-9, f"lrn.metrics disagrees with medpy by {max_abs_diff}"
    return {"n": int(len(truths)), "lrn_s": times["lrn"], "medpy_s": times["medpy"],
            "vs_medpy": times["medpy"] / times["lrn"], "max_abs_diff": max_abs_diff,
            "max_abs_diff_jaccard": float(diff[:, 0].max()), "max_abs_diff_hausdorff": float(diff[:, 1].max()),
            "mean_jaccard": float(values["lrn"][:, 0].mean()), "mean_hausdorff": float(values["lrn"][:, 1].mean())}


# ------------------------------------------------------------------------------- whiten
STAGES = ("decode", "resize", "forward", "resize_back", "clean", "refine", "composite", "encode")


def whiten_stages(model, path: Path, out_dir: Path, forward) -> dict:
    """Time the steps of lrn.cutout.whiten_file (default options) one by one (same calls, same order, ms)."""
    from PIL import Image

    from lrn import cutout, imageops

    t = [time.perf_counter()]
    photo = imageops.read_photo(path)
    t.append(time.perf_counter())
    _, h, w, _ = model.input.shape
    small = imageops.resize_photo(photo, (int(h), int(w)))
    t.append(time.perf_counter())
    outputs = forward(small[np.newaxis].astype(np.float32))
    fine = outputs[-1] if isinstance(outputs, (list, tuple)) else outputs
    prob = np.asarray(fine)[0, ..., 0]
    t.append(time.perf_counter())
    prob = np.clip(imageops.resize_prob(prob, photo.shape[:2]), 0.0, 1.0)
    t.append(time.perf_counter())
    prob = cutout.clean_probability(prob)
    t.append(time.perf_counter())
    prob = cutout.DEFAULT_REFINEMENT.apply(photo, prob)
    t.append(time.perf_counter())
    result = cutout.compose(photo, cutout.alpha(prob, refined=True))
    t.append(time.perf_counter())
    Image.fromarray(result).save(out_dir / f"{path.stem}_white.png", compress_level=1)
    t.append(time.perf_counter())
    return {s: (b - a) * 1e3 for s, a, b in zip(STAGES, t, t[1:])}


def whiten_models(width: float, size: int, work: Path) -> list[tuple[str, Path]]:
    """(label, .keras path) of the models timed: full-width LRN, and the model lrn whiten uses by default."""
    from lrn import models, provenance, shipped

    full = work / "lrn_w1.keras"
    provenance.save_model(models.build_lrn((size, size, 3), width=1.0), full, provenance.record(0, {}))
    if shipped.MODEL_FILE.is_file() and size == 224:
        default = ("shipped", shipped.MODEL_FILE)
    else:  # --quick (64x64) or no shipped file: a random model of the cpu profile's width stands in
        default = (f"stand-in w{width:g}", work / "stand_in.keras")
        provenance.save_model(models.build_lrn((size, size, 3), width=width), default[1], provenance.record(0, {}))
    return [(f"lrn-w1-{size}", full), default]


def whiten_speed(photo_paths: list[Path], model_files: list[tuple[str, Path]], peak_gflops: float, passes: int,
                 work: Path) -> list[dict]:
    """lrn whiten per photo, split into stages, with the forward lrn whiten uses (TensorFlow Lite)."""
    import tensorflow as tf
    from PIL import Image

    from lrn import cutout, fastforward, imageops, models

    small_dir, out_dir = work / "photos224", work / "white"
    small_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    small_paths = []
    for p in photo_paths:
        q = small_dir / f"{p.stem}.jpg"
        Image.fromarray(imageops.resize_photo(imageops.read_photo(p), (224, 224))).save(q, quality=95)
        small_paths.append(q)
    rows = []
    for label_model, path in model_files:
        model = models.load(path)
        size = int(model.input.shape[1])
        flops = models.conv_flops(model)
        limit_ms = flops / (peak_gflops * 1e9) * 1e3
        t = time.perf_counter()
        lite, how = fastforward.for_model_file(path, model, cache=work / "tflite", verbose=False)
        convert_s = time.perf_counter() - t
        log(f"  {label_model}: forward = {how} ({convert_s:.1f} s)")
        graph_forward = tf.function(model.__call__)  # traced once; called as graph_forward(x) below
        for label, paths in (("224x224", small_paths), ("full", photo_paths)):
            photo_shape = imageops.read_photo(paths[0]).shape[:2]
            cutout.whiten_file(model, paths[0], out_dir, forward=lite)  # warm-up
            per, ends = [], []
            for _ in range(passes):
                for p in paths:
                    per.append(whiten_stages(model, p, out_dir, lite))
                    t = time.perf_counter()
                    cutout.whiten_file(model, p, out_dir, forward=lite)  # the real call, end to end
                    ends.append((time.perf_counter() - t) * 1e3)
            # Alternatives: Keras' predict_on_batch (lrn.segment without forward=) and a traced tf.function.
            graph_forward(np.zeros((1, size, size, 3), np.float32))
            graph = [whiten_stages(model, p, out_dir, graph_forward)["forward"] for p in paths for _ in range(passes)]
            model.predict_on_batch(np.zeros((1, size, size, 3), np.float32))
            pob = [whiten_stages(model, p, out_dir, model.predict_on_batch)["forward"]
                   for p in paths for _ in range(passes)]
            med = {s: float(np.median([x[s] for x in per])) for s in STAGES}
            rows.append({"model": label_model, "width": 1.0 if label_model.startswith("lrn-w1-") else None,
                         "forward_runtime": how, "convert_s": convert_s, "photos": label,
                         "photo_hw": list(photo_shape), "n_photos": len(paths), "passes": passes,
                         "stages_ms": med, "forward_ms": med["forward"],
                         "rest_ms": sum(v for s, v in med.items() if s != "forward"),
                         "whiten_file_ms": float(np.median(ends)), "forward_gflop": flops / 1e9,
                         "flop_limit_ms": limit_ms, "vs_flop_limit": med["forward"] / limit_ms,
                         "graph_forward_ms": float(np.median(graph)),
                         "graph_vs_flop_limit": float(np.median(graph)) / limit_ms,
                         "predict_on_batch_ms": float(np.median(pob)),
                         "predict_on_batch_vs_flop_limit": float(np.median(pob)) / limit_ms})
            log(f"  whiten {label_model} {label}: {rows[-1]['whiten_file_ms']:.1f} ms "
                f"(forward {med['forward']:.1f} ms, limit {limit_ms:.1f} ms)")
    return rows


def whiten_section(args, profile: dict, peak_gflops: float, work: Path, details: dict) -> dict:
    """Time lrn whiten (table 6) and return the ``whiten`` entry of results.json."""
    log("lrn whiten")
    photos = sorted((data_root() or Path("/nonexistent")).glob("eg1800/images_data_crop/*.jpg"))
    if not photos:  # no EG1800: synthetic photos at 800x608 stand in for the full-size ones
        from PIL import Image

        from lrn import data

        syn = data.synthetic(4, size=608, seed=2)
        photos = []
        for i, im in enumerate(syn.images):
            p = work / f"syn{i}.jpg"
            Image.fromarray(np.concatenate([im, im[:192]], axis=0)).save(p, quality=95)
            photos.append(p)
    photos = photos[:2] if args.quick else photos[:8]
    wh = whiten_speed(photos, whiten_models(float(profile["width"]), args.size, work), peak_gflops,
                      1 if args.quick else 3, work)
    details["whiten"] = wh
    rows = [[w["model"], w["photos"], *[w["stages_ms"][s] for s in STAGES], w["whiten_file_ms"],
             w["flop_limit_ms"], f"{w['vs_flop_limit']:.2f}x", f"{w['graph_vs_flop_limit']:.2f}x",
             f"{w['predict_on_batch_vs_flop_limit']:.2f}x"] for w in wh]
    main_w = [w for w in wh if w["width"] == 1.0]
    default_w = [w for w in wh if w["width"] != 1.0]
    table("lrn whiten latency per photo (ms, medians; forward through TensorFlow Lite as lrn whiten does; "
          f"full-width LRN with random weights, and the default model: {default_w[0]['model']})",
          ["model", "photo", *STAGES, "whiten_file", "FLOP limit", "fwd/limit", "tf.function fwd/limit",
           "predict_on_batch fwd/limit"], rows,
          "whiten: forward of full-width LRN at " + ", ".join(f"{w['vs_flop_limit']:.2f}x ({w['photos']})"
                                                             for w in main_w)
          + " its FLOP-limited time (target 1.2x); default model at "
          + ", ".join(f"{w['vs_flop_limit']:.2f}x ({w['photos']})" for w in default_w))

    return {"ms_224": next(w["whiten_file_ms"] for w in main_w if w["photos"] == "224x224"),
            "ms_full": next(w["whiten_file_ms"] for w in main_w if w["photos"] == "full"),
            "vs_flop_limit": float(np.mean([w["vs_flop_limit"] for w in main_w]))}


# ------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 64x64, 1-2 steps, small sgemm; "
                        "numbers are not meaningful; writes benchmarks/results-quick.json")
    parser.add_argument("--no-attempts", dest="attempts", action="store_false",
                        help="skip the training attempts (XLA, batch 16, oneDNN off, ...)")
    parser.add_argument("--data", choices=("auto", "eg1800", "synthetic"), default="auto")
    parser.add_argument("--only-whiten", action="store_true",
                        help="peak and lrn whiten only (about 2 minutes); writes results-whiten.json, "
                             "leaves results.json alone")
    parser.add_argument("--out", type=Path, help="results file (default benchmarks/results.json, "
                        "or results-quick.json with --quick)")
    args = parser.parse_args(argv)
    import yaml

    profile = yaml.safe_load((REPO / "params" / "cpu.yaml").read_text())
    args.size = 64 if args.quick else 224
    out = args.out or HERE / ("results-quick.json" if args.quick else
                              "results-whiten.json" if args.only_whiten else "results.json")
    details_path = out.with_name(out.stem.replace("results", "details") + ".json")

    import lrn  # noqa: F401  (oneDNN on in this process, as for every lrn user)

    details = {"quick": args.quick, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpu_profile": profile,
               "cpus": os.cpu_count()}
    print(f"# lrn benchmarks{' (QUICK: smoke settings, numbers not meaningful)' if args.quick else ''}, "
          f"{os.cpu_count()} CPUs, {details['started']}")

    # 1. peak
    log("sgemm peak")
    peak = sgemm_peak(1024 if args.quick else 4096, 3 if args.quick else 5)
    details["peak_start"] = peak

    if args.only_whiten:
        work = Path(tempfile.mkdtemp(prefix="lrn-bench-"))
        whiten_out = whiten_section(args, profile, peak["gflops"], work, details)
        details["seconds"] = time.perf_counter() - T_START
        out.write_text(json.dumps({"peak_gflops": peak["gflops"], "whiten": whiten_out}, indent=2) + "\n")
        details_path.write_text(json.dumps(details, indent=2) + "\n")
        shutil.rmtree(work, ignore_errors=True)
        print(f"\nwrote {out} and {details_path} in {details['seconds'] / 60:.1f} min")
        return 0

    # 2. data
    train_split, test_split, source = load_data(args.size, args.data)
    details["data"] = source
    log(f"data: {source}, {len(train_split)} training images at {args.size}")
    work = Path(tempfile.mkdtemp(prefix="lrn-bench-"))
    data_path = str(work / "train.npz")
    np.savez(data_path, images=train_split.images, masks=train_split.masks)

    # 3. training throughput (each group in its own process)
    groups = training_jobs(args, profile)
    results = []
    skipped = []
    for name, jobs in groups.items():
        if name not in ("lrn", "plain") and not args.quick:
            needed = estimate_s(jobs, results)
            if time.perf_counter() - T_START + needed > BUDGET_S - RESERVE_S:
                log(f"skipping worker {name} (about {needed:.0f} s): it would break the 20-minute budget")
                skipped += [j["name"] for j in jobs]
                continue
        results += run_worker(jobs, data_path, WORKER_ENV[name], name)
    details["training"] = results
    details["skipped"] = skipped

    peak_end = sgemm_peak(1024 if args.quick else 4096, 3 if args.quick else 5)
    details["peak_end"] = peak_end
    peak_gflops = max(peak["gflops"], peak_end["gflops"])
    table("sgemm peak (numpy float32 matmul)", ["when", "n", "GFLOP/s"],
          [["start", peak["n"], peak["gflops"]], ["after training", peak_end["n"], peak_end["gflops"]]],
          f"peak: {peak_gflops:.1f} GFLOP/s (the better of the two; FLOP-limited times below use it)")

    def ok(r):
        return "error" not in r

    main_lrn = {r["key"]: r for r in results if r["path"] == "lrn" and "attempt" not in r and ok(r)}
    main_plain = {r["key"]: r for r in results if r["path"] == "plain" and "attempt" not in r and ok(r)}
    train_out = {}
    rows = []
    for k, r in main_lrn.items():
        gflops = 3 * r["forward_gflop"] * r["img_per_s"]
        share = gflops / peak_gflops
        plain = main_plain.get(k)
        vs_plain = r["img_per_s"] / plain["img_per_s"] if plain else float("nan")
        train_out[k] = {"img_per_s": r["img_per_s"], "peak_share": share, "vs_plain": vs_plain}
        rows.append([k, r["forward_gflop"], r["img_per_s"], gflops, f"{100 * share:.1f} %",
                     plain["img_per_s"] if plain else "error", f"{vs_plain:.2f}x", r["measured_steps"]])
    w1 = [k for k in train_out if "-w1-" in k]
    table("Training throughput: lrn.train path vs plain baseline (batch "
          f"{profile['batch_size']}, FLOPs/img = 3 x forward conv FLOPs)",
          ["config", "fwd GFLOP", "img/s", "GFLOP/s", "of peak", "plain img/s", "vs plain", "steps"], rows,
          "training: " + "; ".join(f"{k} {100 * train_out[k]['peak_share']:.1f} % of peak (target 80 %), "
                                   f"{train_out[k]['vs_plain']:.2f}x plain (target 1.3x)" for k in w1))

    attempts = [r for r in results if "attempt" in r]
    if attempts:
        rows = []
        for r in attempts:
            base = main_lrn.get(r["key"])
            if not ok(r):
                rows.append([r["attempt"], r["key"], "error", "", "", r["error"][:60]])
                continue
            share = 3 * r["forward_gflop"] * r["img_per_s"] / peak_gflops
            rows.append([r["attempt"], r["key"], r["img_per_s"], f"{100 * share:.1f} %",
                         f"{r['img_per_s'] / base['img_per_s']:.2f}x" if base else "", f"{r['warmup_s']:.1f}"])
        best = max((r for r in attempts if ok(r) and r["key"] in main_lrn),
                   key=lambda r: r["img_per_s"] / main_lrn[r["key"]]["img_per_s"], default=None)
        table("Training attempts (against the lrn.train path row of the same config above)",
              ["attempt", "config", "img/s", "of peak", "vs lrn path", "warm-up s"], rows,
              (f"attempts: best {best['attempt']} ({best['key']}) at {best['img_per_s'] / main_lrn[best['key']]['img_per_s']:.2f}x "
               "the lrn.train path" if best and best["key"] in main_lrn else "attempts: none succeeded")
              + (f" (skipped for time: {', '.join(skipped)})" if skipped else ""))

    # 4. input pipeline alone
    log("input pipeline alone")
    batch = int(profile["batch_size"])
    n_batches = 4 if args.quick else 30
    pipe = [pipeline_speed(train_split.images, train_split.masks, batch, n, n_batches) for n in (6, 1)]
    details["pipeline"] = pipe
    consumed = max((r["img_per_s"] for r in main_lrn.values()), default=float("nan"))
    fastest = max(main_lrn.values(), key=lambda r: r["img_per_s"])["key"] if main_lrn else "?"
    table("Input pipeline alone: augment.training_batches, batch "
          f"{batch}, {args.size}x{args.size}, augmentation on, no model",
          ["targets", "img/s", "vs fastest training"],
          [["LRN (6 levels)" if p["n_levels"] == 6 else "U-Net (1 level)", p["img_per_s"],
            f"{p['img_per_s'] / consumed:.1f}x"] for p in pipe],
          f"pipeline: {min(p['img_per_s'] for p in pipe) / consumed:.1f}x what the fastest training config "
          f"({fastest}, {consumed:.2f} img/s) consumes")

    # 5. evaluation
    log("evaluation vs medpy")
    truths = test_split.masks[:48]
    preds = realistic_predictions(truths)
    ev = evaluation_speed(truths, preds, 2 if args.quick else 5)
    details["eval"] = {**ev, "masks": f"{source} test masks at 224x224 vs perturbed copies (shift, scale, "
                                      "ragged edge, blobs, holes)"}
    table("Evaluation: lrn.metrics.jaccard + hausdorff vs medpy.metric.binary.jc + hd, "
          f"{ev['n']} masks at 224x224", ["implementation", "ms total", "ms per mask"],
          [["lrn.metrics", ev["lrn_s"] * 1e3, ev["lrn_s"] * 1e3 / ev["n"]],
           ["medpy", ev["medpy_s"] * 1e3, ev["medpy_s"] * 1e3 / ev["n"]]],
          f"evaluation: {ev['vs_medpy']:.1f}x faster than medpy (target 5x); max |difference| "
          f"{ev['max_abs_diff']:.2e} (must be <= 1e-9)")

    # 6. lrn whiten
    whiten_out = whiten_section(args, profile, peak_gflops, work, details)

    results_json = {
        "peak_gflops": peak_gflops,
        "train": train_out,
        "eval": {"vs_medpy": ev["vs_medpy"], "n": ev["n"], "max_abs_diff": ev["max_abs_diff"]},
        "whiten": whiten_out,
    }
    details["seconds"] = time.perf_counter() - T_START
    out.write_text(json.dumps(results_json, indent=2) + "\n")
    details_path.write_text(json.dumps(details, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    print(f"\nwrote {out} and {details_path} in {details['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
