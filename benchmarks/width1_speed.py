"""Training speed of LRN and U-Net at the paper's width (1) under every option, side by side.

    python benchmarks/width1_speed.py [--budget 25] [--backends-python PATH]

Table 1's runs train width-1 networks at 224x224 for hours on 2 cores, so the options that
change speed without changing the experiment are measured before they start, in one run
on an idle machine, each job in a fresh process:

* TensorFlow with its oneDNN kernels on (``TF_ENABLE_ONEDNN_OPTS=1``) and off;
* XLA (``jit_compile=True``);
* TensorFlow's thread pools: one inter-op thread instead of the default two;
* Keras' ``mixed_bfloat16`` policy (bfloat16 compute, float32 weights; outputs and loss in
  float32), alone and with XLA;
* Keras 3's JAX and PyTorch backends (the same model, loss and ``tf.data`` batches), from
  a second environment that has them (``--backends-python``; ``jax`` and ``torch`` are not
  dependencies of ``lrn``).

Two stages per network, batch 8, Adam, the paper's BCE (summed over s1..s6 for LRN) and
augmentation as :func:`lrn.train.fit_stage` runs them: *all layers* (the randomly
initialised runs and stage 2 of the -VGG runs train the same layers and the same graph,
so one measurement serves both) and *encoder frozen* (stage 1 of the -VGG runs). Speed
does not depend on the weights' values or on the photos' content: weights are Glorot, photos
random. Jobs of one cell alternate their options so that drift in the machine hits all.

Throughput is training images per second over the measured steps (after 3 warm-up steps,
at least 3 steps and ``--budget`` seconds). Also the share of NumPy's float32 sgemm rate
(measured in the same run) that the float32 jobs reach. Writes
``benchmarks/width1_speed.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = """
import json, os, sys, time
import numpy as np
sys.path.insert(0, {here!r})
job = json.loads(sys.argv[1])
import lrn  # noqa: F401  (sets nothing the parent did not already set)
import keras
from train_speed import timer_callback
from lrn import augment, models, train
if job["backend"] == "tensorflow":
    import tensorflow as tf
    if job.get("inter_op"):
        tf.config.threading.set_inter_op_parallelism_threads(job["inter_op"])
    tf.config.experimental.enable_op_determinism()
config = train.TrainConfig(variant=job["variant"], size=224, width=1.0, batch_size=8, learning_rate=1e-4,
                           epochs=1, patience=None, jit_compile=job["jit"], precision=job["precision"])
model = train.build(config)
if job["stage"] == "frozen":
    models.freeze_encoder(model)
train.compile_model(model, config.learning_rate, jit_compile=config.jit_compile)
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

OPTIONS = {  # name -> (backend, oneDNN, precision, XLA, inter-op threads)
    "tf_onednn": ("tensorflow", "1", "float32", False, 0),
    "tf_no_onednn": ("tensorflow", "0", "float32", False, 0),
    "tf_onednn_xla": ("tensorflow", "1", "float32", True, 0),
    "tf_onednn_inter1": ("tensorflow", "1", "float32", False, 1),
    "tf_onednn_bf16": ("tensorflow", "1", "mixed_bfloat16", False, 0),
    "tf_onednn_bf16_xla": ("tensorflow", "1", "mixed_bfloat16", True, 0),
    "tf_onednn_bf16_inter1": ("tensorflow", "1", "mixed_bfloat16", False, 1),
    "jax": ("jax", "1", "float32", True, 0),
    "torch": ("torch", "1", "float32", False, 0),
}
# (variant, stage) -> options measured there. The screen covers every option on the two cells that
# dominate Table 1's hours (LRN all layers, U-Net frozen); the other backends only where the
# earlier look found them slowest already.
CELLS = {
    ("lrn", "all"): list(OPTIONS),
    ("unet", "frozen"): ["tf_onednn", "tf_no_onednn", "tf_onednn_xla", "tf_onednn_inter1", "tf_onednn_bf16",
                         "tf_onednn_bf16_xla"],
    ("unet", "all"): ["tf_onednn", "tf_onednn_bf16", "tf_onednn_xla"],
    ("lrn", "frozen"): ["tf_onednn", "tf_onednn_bf16", "tf_onednn_xla"],
}


def run_job(job: dict, python: str) -> dict:
    backend, onednn, precision, jit, inter = OPTIONS[job["option"]]
    job = {**job, "backend": backend, "precision": precision, "jit": jit, "inter_op": inter}
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND=backend)
    done = subprocess.run([python, "-c", WORKER.format(here=str(HERE)), json.dumps(job)], env=env,
                          capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {**job, "error": done.stderr[-1500:]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=25.0, help="measured seconds per job (after warm-up)")
    parser.add_argument("--backends-python", default=None,
                        help="a Python whose environment has lrn, jax and torch (the JAX and PyTorch jobs)")
    parser.add_argument("--cells", nargs="+", default=None, metavar="VARIANT:STAGE",
                        help="measure only these cells (e.g. lrn:all unet:frozen)")
    parser.add_argument("--options", nargs="+", default=None, choices=list(OPTIONS),
                        help="measure these options in every chosen cell (default: each cell's own list)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat each cell's options, alternating")
    parser.add_argument("--out", default=str(HERE / "width1_speed.json"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent / "bookkit"))
    from lrnbook import sgemm, speed

    peak = sgemm.gflops()
    print(f"sgemm peak {peak:.0f} GFLOP/s", file=sys.stderr, flush=True)
    rows = []
    cells = {tuple(c.split(":")): args.options or CELLS.get(tuple(c.split(":")), list(OPTIONS))
             for c in args.cells} if args.cells else CELLS
    for (variant, stage), options in cells.items():
        encoder, decoder = speed.forward_gflop(variant)
        gflop = 3 * (encoder + decoder) if stage == "all" else encoder + 3 * decoder
        for option in [o for _ in range(args.rounds) for o in options]:
            backend = OPTIONS[option][0]
            python = sys.executable if backend == "tensorflow" else args.backends_python
            if python is None:
                continue
            job = {"variant": variant, "stage": stage, "option": option, "warmup": 3, "min_steps": 3,
                   "max_steps": 200, "budget_s": args.budget}
            started = time.monotonic()
            result = run_job(job, python)
            row = {"variant": variant, "stage": stage, "option": option,
                   "training_gflop_per_image": round(gflop, 2), "started_utc": time.strftime("%H:%M:%S", time.gmtime())}
            if "error" in result:
                row["error"] = result["error"]
            else:
                row["img_per_s"] = round(result["img_per_s"], 3)
                row["share_of_sgemm_peak"] = round(result["img_per_s"] * gflop / peak, 3)
            rows.append(row)
            print(f"{variant} {stage} {option}: {row.get('img_per_s', 'error')} ({time.monotonic() - started:.0f} s)",
                  file=sys.stderr, flush=True)
    for row in rows:  # ratio against TensorFlow + oneDNN + float32 in the same cell (its first measurement)
        base = next((r.get("img_per_s") for r in rows if (r["variant"], r["stage"], r["option"])
                     == (row["variant"], row["stage"], "tf_onednn") and r.get("img_per_s")), None)
        if base and row.get("img_per_s"):
            row["ratio_to_tf_onednn"] = round(row["img_per_s"] / base, 3)
    load = os.getloadavg()[0]
    report = {"sgemm_peak_gflops": round(peak, 1), "load_average_1min_at_end": round(load, 2),
              "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"\n{'variant':7} {'stage':7} {'option':20} {'img/s':>7} {'ratio':>6} {'share':>6}")
    for r in rows:
        print(f"{r['variant']:7} {r['stage']:7} {r['option']:20} {r.get('img_per_s', float('nan')):7.3f} "
              f"{r.get('ratio_to_tf_onednn', float('nan')):6.3f} {r.get('share_of_sgemm_peak', float('nan')):6.3f}")
    print(f"(sgemm peak {peak:.0f} GFLOP/s; load average {load:.2f} at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
