"""Training-throughput worker: run in its own process by ``benchmarks/run.py``.

    python benchmarks/train_speed.py SPEC.json

``SPEC.json`` holds ``{"data": "<npz with images, masks>", "jobs": [...]}``; every job
prints one line ``RESULT {json}``. The parent sets ``TF_ENABLE_ONEDNN_OPTS`` in this
process's environment *before* anything imports TensorFlow (importing ``lrn`` only sets it
when it is unset), so one process measures one oneDNN setting.

Two paths (``job["path"]``):

``lrn``
    What ``lrn.train.train`` does per stage: ``train.build`` under the config's strategy,
    ``train.compile_model`` (Adam + BCE on every output, optional XLA), batches from
    ``augment.training_batches`` (in-memory uint8 photos, seeded shuffle, joint augmentation,
    per-level targets, prefetch), ``model.fit(..., steps_per_epoch=..., shuffle=False)``, with
    TensorFlow's op determinism on (``train(deterministic=True)``, the default).
``plain``
    The baseline: the same network from ``lrn.models.build_model``, compiled with plain
    Keras (Adam, ``"binary_crossentropy"`` per output), trained with ``model.fit`` on
    in-memory float32 numpy arrays (targets precomputed, no augmentation), TensorFlow's
    default settings (no op determinism, no XLA).

Throughput is images per second over the measured steps only: the first ``warmup`` steps
(tracing, oneDNN primitive creation, pipeline fill) are excluded, measuring stops at the
first batch end after ``budget_s`` seconds of measured time (at least ``min_steps`` steps).
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np


def timer_callback(warmup: int, min_steps: int, budget_s: float):
    import keras

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends = []

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter())
            measured = len(self.ends) - warmup
            if measured >= min_steps and self.ends[-1] - self.ends[warmup - 1] >= budget_s:
                self.model.stop_training = True

    return Timer()


def level_targets_np(masks: np.ndarray, n_levels: int) -> list[np.ndarray]:
    """Area-averaged targets, coarse to fine, as numpy (same values as lrn.losses.level_targets)."""
    m = masks.astype(np.float32)
    n, h, w = m.shape
    out = []
    for k in range(n_levels):
        f = 2 ** (n_levels - 1 - k)
        t = m if f == 1 else m.reshape(n, h // f, f, w // f, f).mean(axis=(2, 4))
        out.append(t[..., None])
    return out


def run_job(job: dict, images: np.ndarray, masks: np.ndarray) -> dict:
    import keras
    import tensorflow as tf

    from lrn import augment, models, train

    variant, width, size, batch = job["variant"], float(job["width"]), int(job["size"]), int(job["batch"])
    warmup, min_steps, max_steps = int(job["warmup"]), int(job["min_steps"]), int(job["max_steps"])
    if images.shape[1] != size:
        raise SystemExit(f"data are {images.shape[1]} px, job wants {size}")
    timer = timer_callback(warmup, min_steps, float(job["budget_s"]))
    total_steps = warmup + max_steps
    t0 = time.perf_counter()
    if job["path"] == "lrn":
        config = train.TrainConfig(variant=variant, size=size, width=width, batch_size=batch,
                                   learning_rate=float(job.get("lr", 1e-3)), jit_compile=bool(job.get("jit", False)),
                                   augment=bool(job.get("augment", True)), epochs=1, patience=None)
        if job.get("deterministic", True):
            tf.config.experimental.enable_op_determinism()
        strategy = train.distribution_strategy(config.strategy)
        with strategy.scope():
            model = train.build(config)
            train.compile_model(model, config.learning_rate, config.supervision, config.jit_compile)
        n = len(images)
        per_epoch = augment.steps_per_epoch(n, batch)
        if n % batch:  # keep every measured batch full: the epoch's last batch is short
            per_epoch -= 1
        epochs = -(-total_steps // per_epoch)
        if epochs > 1 and n % batch:
            raise SystemExit(f"{total_steps} steps need whole epochs of full batches: use N divisible by {batch}")
        batches = augment.training_batches(images, masks, batch, n_levels=config.n_levels, seed=config.seed,
                                           epochs=epochs, augment=config.augment, zoom=config.zoom,
                                           rotation_deg=config.rotation_deg, flip=config.flip)
        built = time.perf_counter()
        model.fit(batches, epochs=1, steps_per_epoch=total_steps, shuffle=False, callbacks=[timer], verbose=0)
    else:
        keras.utils.set_random_seed(0)
        model = models.build_model(variant, (size, size, 3), width=width)
        n_out = len(model.outputs)
        model.compile(optimizer=keras.optimizers.Adam(float(job.get("lr", 1e-3))),
                      loss=["binary_crossentropy"] * n_out if n_out > 1 else "binary_crossentropy",
                      jit_compile=bool(job.get("jit", False)))
        n = min(len(images), total_steps * batch)
        x = images[:n].astype(np.float32)
        y = level_targets_np(masks[:n], n_out) if n_out > 1 else masks[:n].astype(np.float32)[..., None]
        built = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, callbacks=[timer], verbose=0)
    ends = timer.ends
    measured = len(ends) - warmup
    if measured < 1:
        raise SystemExit(f"only {len(ends)} steps ran; need more than warmup={warmup}")
    seconds = ends[-1] - ends[warmup - 1]
    flops = models.conv_flops(model)
    step_times = np.diff([timer.start] + ends)
    return {**job, "img_per_s": measured * batch / seconds,
            "img_per_s_median_step": batch / float(np.median(np.diff(ends[warmup - 1:]))), "measured_steps": measured, "measured_s": seconds,
            "step_s": step_times.round(4).tolist(), "warmup_s": ends[warmup - 1] - timer.start,
            "setup_s": built - t0, "forward_gflop": flops / 1e9,
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "tf_threads":
            [tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads()]}


def main(spec_path: str) -> None:
    spec = json.loads(open(spec_path).read())
    import lrn  # noqa: F401  (after the parent has set TF_ENABLE_ONEDNN_OPTS)

    arrays = np.load(spec["data"])
    images, masks = arrays["images"], arrays["masks"]
    for job in spec["jobs"]:
        try:
            result = run_job(job, images, masks)
        except BaseException as error:  # report and go on with the next job
            result = {**job, "error": f"{type(error).__name__}: {error}"[:2000]}
        print("RESULT " + json.dumps(result), flush=True)
        import keras

        keras.backend.clear_session()


if __name__ == "__main__":
    main(sys.argv[1])
