"""Time and speed of a run's training stages, from its training log and its FLOP count.

The training log (``train.log``, written by :mod:`lrnbook.vggfit`) holds Keras' one line per
epoch (``32/32 - 125s - 4s/step - loss: ...``, the epoch's wall time including its
validation pass) after ``Epoch k/N``, a line :data:`STAGE_LINE` before each stage and a line
:data:`SGEMM_LINE` with the machine's float32 matrix-multiply rate measured when the process
started. A run resumed after a stop appends to the same log; the last time logged for an
epoch wins (an epoch cut short by a stop is logged again when it is redone).
"""
from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd

STAGE_LINE = "=== lrnbook stage"
SGEMM_LINE = "=== lrnbook sgemm GFLOP/s"
_EPOCH = re.compile(r"^Epoch (\d+)/(\d+)\s*$")
_DONE = re.compile(r"^\s*(\d+)/(\d+) - (\d+)s - ")


def sgemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    """The best float32 ``n x n`` matrix product rate of NumPy's BLAS here, in GFLOP/s (``2 n^3`` per product)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), np.float32), rng.random((n, n), np.float32)
    a @ b  # warm up the threads
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * n ** 3 / best / 1e9


def epoch_seconds(log_text: str) -> pd.DataFrame:
    """``(stage, epoch, seconds)`` of every finished epoch in a training log (epochs from 0, like Keras' CSV).

    A stage is the one named by the last :data:`STAGE_LINE`; without such lines (older logs)
    a process starts in stage 1 and moves to the next stage when the epoch number falls.
    """
    rows, stage, last_epoch, epoch = {}, 1, 0, None
    for line in log_text.splitlines():
        if line.startswith(STAGE_LINE):
            stage, last_epoch = int(line.split()[-1]), 0
        elif line.startswith("=== lrnbook.vggfit start"):
            last_epoch = 0
        elif match := _EPOCH.match(line):
            epoch = int(match.group(1))
            if epoch < last_epoch:
                stage += 1
            last_epoch = epoch
        elif (match := _DONE.match(line)) and epoch is not None:
            rows[(stage, epoch - 1)] = int(match.group(3))
            epoch = None
    table = pd.DataFrame([(s, e, t) for (s, e), t in sorted(rows.items())], columns=["stage", "epoch", "seconds"])
    return table.astype({"stage": int, "epoch": int, "seconds": float})


def sgemm_rates(log_text: str) -> list[float]:
    """The sgemm rates (GFLOP/s) logged by each process of a run that trained at least one
    epoch, in order (a process that only predicted from a cached model measured a machine
    that did not train this run)."""
    rates, rate, trained = [], None, False
    for line in log_text.splitlines() + ["=== lrnbook.vggfit start"]:
        if line.startswith("=== lrnbook.vggfit start"):
            if rate is not None and trained:
                rates.append(rate)
            rate, trained = None, False
        elif line.startswith(SGEMM_LINE):
            rate = float(line.split()[-1])
        elif _DONE.match(line):
            trained = True
    return rates


def stage_table(history: pd.DataFrame, n_train: int, gflop_per_image: dict[int, float] | None = None,
                peak_gflops: float | None = None) -> pd.DataFrame:
    """One row per stage: epochs, best epoch, wall time, images per second, share of the machine's rate.

    Parameters
    ----------
    history : the run's ``history.csv`` (columns ``stage``, ``epoch``, ``val_loss`` and, where
        logged, ``seconds``: one epoch's wall time including validation).
    n_train : training photos per epoch.
    gflop_per_image : ``{stage: training GFLOP per image}`` (:func:`training_gflop`).
    peak_gflops : the machine's sgemm rate (:func:`sgemm_gflops`); the share is the achieved
        training GFLOP/s divided by it.
    """
    rows = []
    for stage, part in history.groupby("stage", sort=True):
        row = {"stage": int(stage), "epochs": len(part),
               "best epoch": int(part.loc[part["val_loss"].idxmin(), "epoch"]) + 1,
               "best val loss": float(part["val_loss"].min())}
        if "seconds" in part and part["seconds"].notna().all():
            seconds = float(part["seconds"].sum())
            row.update({"wall time (min)": seconds / 60, "s / epoch": seconds / len(part),
                        "images / s": n_train * len(part) / seconds})
            if gflop_per_image and stage in gflop_per_image:
                rate = row["images / s"] * gflop_per_image[stage]
                row["training GFLOP/s"] = rate
                if peak_gflops:
                    row["share of sgemm peak"] = rate / peak_gflops
        rows.append(row)
    return pd.DataFrame(rows)


def training_gflop(encoder_gflop: float, decoder_gflop: float) -> dict[int, float]:
    """Training GFLOP per image of each stage from the forward GFLOP of encoder and decoder.

    A training step costs about three forward passes where gradients flow (forward, gradient
    of the input, gradient of the weights) and one where they do not: stage 1 (encoder
    frozen) ``encoder + 3 decoder``, stage 2 ``3 (encoder + decoder)``.
    """
    return {1: encoder_gflop + 3 * decoder_gflop, 2: 3 * (encoder_gflop + decoder_gflop)}


def forward_gflop(variant: str, size: int = 224, width: float = 1.0) -> tuple[float, float]:
    """Forward GFLOP per image of the encoder (``block*`` convolutions) and of the decoder.

    Counts 2 FLOPs per multiply-add of every convolution kernel, like :func:`lrn.models.conv_flops`.
    """
    from keras import layers

    from lrn import models

    model = models.build_model(variant.removesuffix("_vgg"), (size, size, 3), width=width)
    encoder = decoder = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw, c_in, _ = layer.kernel.shape
            flops = 2 * h * w * c_out * kh * kw * c_in
            if layer.name.startswith("block"):
                encoder += flops
            else:
                decoder += flops
    return encoder / 1e9, decoder / 1e9


def stage_section(variant: str, history: pd.DataFrame, record: dict, fit_seconds: float | None = None) -> list[tuple]:
    """The training page's "Stages, time and speed" items (:func:`lrnbook.pages.show`).

    Without epoch times in ``history`` (runs trained before the training log was kept), the
    fit stage's whole wall time ``fit_seconds`` is spread evenly over its epochs, and the
    page says so.
    """
    estimated = "seconds" not in history or history["seconds"].isna().any()
    if estimated:
        if not fit_seconds:
            return [("md", "This run's epochs were not timed, so there is no speed table.")]
        history = history.assign(seconds=fit_seconds / len(history))
    settings = record.get("settings", {})
    encoder, decoder = forward_gflop(variant, settings.get("size", 224), settings.get("width", 1.0))
    vgg = variant.endswith("_vgg")
    gflop = training_gflop(encoder, decoder) if vgg else {1: 3 * (encoder + decoder)}
    rates = record.get("machine_sgemm_gflops") or []
    peak = float(max(rates)) if rates else None  # a rate measured while the cores were shared is lower
    n_train = len(settings.get("train_ids", []))
    table = stage_table(history, n_train, gflop, peak)
    if vgg:
        table.insert(1, "trains", table["stage"].map({1: "decoder (encoder frozen)", 2: "all layers"}))
    shown = table.round({"best val loss": 4, "wall time (min)": 1, "s / epoch": 0, "images / s": 2,
                         "training GFLOP/s": 1, "share of sgemm peak": 3})
    items = [("table", "stages", shown)]
    peak_text = (f" The sgemm peak is NumPy's float32 matrix product on this machine's 2 cores, the highest of the "
                 f"{len(rates)} rate{'s' if len(rates) != 1 else ''} measured by the training processes, {peak:.0f} "
                 "GFLOP/s." if peak else "")
    size = settings.get("size", 224)
    passes = (" (three passes where gradients flow, one through the frozen encoder)" if vgg
              else " (three forward passes: forward, gradient of the input, gradient of the weights)")
    items.append(("md", f"Forward pass per {size}x{size} image: encoder {encoder:.1f} GFLOP, decoder {decoder:.1f} GFLOP "
                        f"(2 FLOPs per multiply-add of the convolutions). Training GFLOP per image: "
                        + ", ".join(f"stage {k} {v:.1f}" for k, v in gflop.items())
                        + passes + ". Seconds per epoch include "
                          f"the validation pass over {len(settings.get('val_ids', []))} photos.{peak_text}"))
    if estimated:
        items.append(("md", "This run's epochs were not timed one by one: the times are its whole fit (loading "
                            "the photos, training and predicting the test photos) spread evenly over its epochs, "
                            "so they slightly overstate an epoch."))
    return items
