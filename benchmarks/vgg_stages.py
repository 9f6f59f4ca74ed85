"""The -VGG training stages at the paper's width: oneDNN kernels on and off, side by side.

    python benchmarks/vgg_stages.py [--budget 40] [--variants lrn_vgg unet_vgg]

For LRN-VGG and UNET-VGG at width 1 and 224x224, batch 8, each stage as ``lrn.train`` runs
it (stage 1: ImageNet encoder frozen; stage 2: every layer trainable): training images per
second with ``TF_ENABLE_ONEDNN_OPTS=1`` and ``=0``, each job in a fresh process (the setting
is read when TensorFlow is imported), measured in one run on the same machine, alternating
the two settings. The ratio off/on tells which kernels the profile's ``vgg.onednn`` should
use. Also the share of the machine's float32 sgemm rate (NumPy, measured in the same run)
that each stage reaches, with the training FLOPs of :func:`lrnbook.schedule.training_gflop`.

Photos are random uint8 (speed does not depend on content); the weights are torchvision's
(:func:`lrn.vgg_weights.torchvision_vgg16`, fetched once into the cache). Writes
``benchmarks/vgg_stages.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WORKER = """
import json, sys, time
import numpy as np
sys.path.insert(0, {here!r})
from train_speed import timer_callback
import lrn  # noqa: F401
import tensorflow as tf
from lrn import augment, models, train
job = json.loads(sys.argv[1])
config = train.TrainConfig(variant=job["variant"], size=224, width=1.0, batch_size=8, learning_rate=1e-4,
                           epochs=1, patience=None, encoder_weights=job["weights"], preprocessing="torch")
tf.config.experimental.enable_op_determinism()
model = train.build(config)
if job["stage"] == 1:
    models.freeze_encoder(model)
train.compile_model(model, config.learning_rate)
rng = np.random.default_rng(0)
images = rng.integers(0, 256, (64, 224, 224, 3), dtype=np.uint8)
masks = rng.random((64, 224, 224)) > 0.5
steps = job["warmup"] + job["max_steps"]
batches = augment.training_batches(images, masks, 8, n_levels=config.n_levels, seed=0, epochs=-(-steps // 8))
timer = timer_callback(job["warmup"], job["min_steps"], job["budget_s"])
model.fit(batches, epochs=1, steps_per_epoch=steps, shuffle=False, callbacks=[timer], verbose=0)
ends = timer.ends
measured = len(ends) - job["warmup"]
seconds = ends[-1] - ends[job["warmup"] - 1]
print("RESULT " + json.dumps({{**job, "img_per_s": measured * 8 / seconds, "measured_steps": measured}}), flush=True)
"""


def run_job(job: dict, onednn: str) -> dict:
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", WORKER.format(here=str(HERE)), json.dumps(job)], env=env,
                          capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return {**json.loads(line[7:]), "onednn": onednn}
    return {**job, "onednn": onednn, "error": done.stderr[-2000:]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=40.0, help="measured seconds per job (after warm-up)")
    parser.add_argument("--variants", nargs="+", default=["lrn_vgg", "unet_vgg"])
    parser.add_argument("--out", default=str(HERE / "vgg_stages.json"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent / "bookkit"))
    from lrn import vgg_weights
    from lrnbook import schedule

    weights = str(vgg_weights.torchvision_vgg16())
    peak = schedule.sgemm_gflops()
    print(f"sgemm peak {peak:.0f} GFLOP/s", file=sys.stderr, flush=True)
    rows = []
    for variant in args.variants:
        encoder, decoder = schedule.forward_gflop(variant)
        gflop = schedule.training_gflop(encoder, decoder)
        for stage in (1, 2):
            job = {"variant": variant, "stage": stage, "weights": weights, "warmup": 3, "min_steps": 3,
                   "max_steps": 200, "budget_s": args.budget}
            results = {}
            for onednn in ("1", "0"):  # alternating, so that drift in the machine's speed hits both
                started = time.monotonic()
                results[onednn] = run_job(job, onednn)
                print(f"{variant} stage {stage} oneDNN {onednn}: {results[onednn].get('img_per_s', 'error')} "
                      f"({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
            row = {"variant": variant, "stage": stage, "training_gflop_per_image": round(gflop[stage], 2)}
            for onednn, result in results.items():
                if "error" in result:
                    row[f"error_onednn_{onednn}"] = result["error"]
                    continue
                row[f"img_per_s_onednn_{onednn}"] = round(result["img_per_s"], 3)
                row[f"share_of_peak_onednn_{onednn}"] = round(result["img_per_s"] * gflop[stage] / peak, 3)
            if "img_per_s_onednn_1" in row and "img_per_s_onednn_0" in row:
                row["off_over_on"] = round(row["img_per_s_onednn_0"] / row["img_per_s_onednn_1"], 3)
            rows.append(row)
    load = os.getloadavg()[0]
    report = {"sgemm_peak_gflops": round(peak, 1), "load_average_1min_at_end": round(load, 2),
              "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"\n{'variant':9} {'stage':>5} {'on img/s':>9} {'off img/s':>9} {'off/on':>7} {'share on':>9} {'share off':>9}")
    for r in rows:
        print(f"{r['variant']:9} {r['stage']:>5} {r.get('img_per_s_onednn_1', float('nan')):9.3f} "
              f"{r.get('img_per_s_onednn_0', float('nan')):9.3f} {r.get('off_over_on', float('nan')):7.3f} "
              f"{r.get('share_of_peak_onednn_1', float('nan')):9.3f} {r.get('share_of_peak_onednn_0', float('nan')):9.3f}")
    print(f"(sgemm peak {peak:.0f} GFLOP/s; load average {load:.2f} at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
