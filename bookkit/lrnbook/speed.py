"""Time and speed of a run's training stages, from its per-epoch log and its FLOP count.

A run's ``history.csv`` gives each epoch's wall time (``seconds``, including its validation
pass; :class:`lrn.callbacks.EpochSeconds`); its provenance gives the float32 sgemm rate that
each training process measured on its machine when it started (:func:`lrnbook.sgemm.gflops`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lrn.variants import architecture, is_imagenet
from lrnbook.stopping import watched_loss


def stage_table(history: pd.DataFrame, n_train: int, gflop_per_image: dict[int, float] | None = None,
                peak_gflops: float | None = None, watched: str = "val_loss") -> pd.DataFrame:
    """One row per stage: epochs, best epoch, wall time, images per second, ratio to the machine's sgemm rate.

    Parameters
    ----------
    history : the run's ``history.csv`` (columns ``stage``, ``epoch``, ``val_loss`` and, where
        logged, ``seconds``: one epoch's wall time including validation).
    n_train : training photos per epoch (0 when unknown: no rates then).
    gflop_per_image : ``{stage: training GFLOP per image}`` (:func:`training_gflop`).
    peak_gflops : the machine's sgemm rate (:func:`lrnbook.sgemm.gflops`); the ratio is the achieved
        training GFLOP/s divided by it.
    watched : the validation loss the plateau rule watched (:func:`lrnbook.stopping.watched_loss`):
        the best epoch is its lowest.
    """
    rows = []
    history = history.reset_index(drop=True)
    for stage, part in history.groupby("stage", sort=True):
        # by position in the stage (Keras can carry its epoch count from stage 1 into stage 2), and
        # after the first stage also counted over the whole run, as the other tables count
        best, before = int(np.argmin(part[watched].to_numpy())) + 1, int(part.index[0])
        row = {"stage": int(stage), "epochs": len(part),
               "best epoch": str(best) if before == 0 else f"{best} ({before + best} overall)",
               BEST_COLUMN.get(watched, f"best {watched}"): float(part[watched].min())}
        if "seconds" in part and part["seconds"].notna().all():
            seconds = float(part["seconds"].sum())
            row.update({"wall time (min)": seconds / 60, "s / epoch": seconds / len(part)})
            if n_train:
                row["images / s"] = n_train * len(part) / seconds
            if n_train and gflop_per_image and stage in gflop_per_image:
                rate = row["images / s"] * gflop_per_image[stage]
                row["training GFLOP/s"] = rate
                if peak_gflops:
                    row["ratio to sgemm rate"] = rate / peak_gflops
        rows.append(row)
    return pd.DataFrame(rows)


BEST_COLUMN = {"val_loss": "best val loss", "val_s6_loss": "best val loss of s6"}
"""The stage table's column of the best watched validation loss."""


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

    from lrn import models  # TensorFlow only for the FLOP count, not for reading timings

    model = models.build_model(architecture(variant), (size, size, 3), width=width)
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


def progress_record(name: str, root=".") -> dict | None:
    """What the speed table of run ``name`` still training needs (``curves/<name>.json``, written by
    :func:`lrnbook.curves.speed_facts` beside its curve so far), or ``None`` when there is none."""
    path = Path(root) / "curves" / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def stage_section(variant: str, history: pd.DataFrame, record: dict, fit_seconds: float | None = None) -> list[tuple]:
    """The training page's "Stages, time and speed" items (:func:`lrnbook.pages.show`).

    ``record``: the run's provenance (``settings`` with ``size``, ``width``, ``stop_on`` when
    set, and the training and validation ids or their numbers ``n_train``/``n_val``;
    ``machine_sgemm_gflops``; ``stints``).

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
    vgg = is_imagenet(variant)
    gflop = training_gflop(encoder, decoder) if vgg else {1: 3 * (encoder + decoder)}
    rates = record.get("machine_sgemm_gflops") or []
    peak = float(max(rates)) if rates else None  # a rate measured while the cores were shared is lower
    n_train = settings.get("n_train", len(settings.get("train_ids", [])))
    n_val = settings.get("n_val", len(settings.get("val_ids", [])))
    watched = watched_loss(settings)
    table = stage_table(history, n_train, gflop, peak, watched)
    if vgg:  # what each stage trains, in the stage's own cell: the table must fit the page
        table["stage"] = table["stage"].map({1: "1: decoder (encoder frozen)", 2: "2: all layers"})
    shown = table.round({BEST_COLUMN[watched]: 4, "wall time (min)": 1, "s / epoch": 0, "images / s": 2,
                         "training GFLOP/s": 1, "ratio to sgemm rate": 3})
    items = [("table", "stages", shown)]
    if not peak:
        peak_text = ""
    elif len(rates) == 1:
        peak_text = (f" The sgemm rate is NumPy's float32 matrix product as the training process measured it when "
                     f"it started, {peak:.0f} GFLOP/s.")
    else:
        peak_text = (f" The sgemm rate is NumPy's float32 matrix product, the highest of the {len(rates)} rates the "
                     f"training processes measured when they started, {peak:.0f} GFLOP/s.")
    size = settings.get("size", 224)
    passes = (" (three passes where gradients flow, one through the frozen encoder)" if vgg
              else " (three forward passes: forward, gradient of the input, gradient of the weights)")
    items.append(("md", f"Forward pass per {size}x{size} image: encoder {encoder:.1f} GFLOP, decoder {decoder:.1f} GFLOP "
                        f"(2 FLOPs per multiply-add of the convolutions). Training GFLOP per image: "
                        + ", ".join(f"stage {k} {v:.1f}" for k, v in gflop.items())
                        + passes + "." + (f" Seconds per epoch include the validation pass over {n_val} photos."
                                          if n_val else "") + peak_text))
    if peak and "ratio to sgemm rate" in table and (table["ratio to sgemm rate"] > 1).any():
        items.append(("md", "A ratio above 1 does not mean training beat the matrix product: the sgemm rate was measured "
                            "once, as the training process started, and was low when other work shared the cores "
                            "then; the ratio is only as good as that one measurement."))
    varied = epoch_times_text(history, n_train, vgg)
    if varied:
        items.append(("md", varied))
    restored = restores_text(record.get("stints") or [])
    if restored:
        items.append(("md", restored))
    if estimated:
        items.append(("md", "This run's epochs were not timed one by one: the times are its whole fit (loading "
                            "the photos, training and predicting the test photos) spread evenly over its epochs, "
                            "so they slightly overstate an epoch."))
    return items


SPREAD = 1.5
"""A stage whose slowest epoch took more than this many times its fastest gets a sentence on the spread."""


def epoch_times_text(history: pd.DataFrame, n_train: int, staged: bool) -> str:
    """How much the epoch times of each stage varied, when they did by more than :data:`SPREAD`; "" otherwise.

    The table's images per second are the mean over every epoch; an epoch slows when other
    work shares the cores or a stint runs on a slower machine, so a wide spread says the mean
    understates what the machine does alone; the fastest epoch comes nearest to it. The first
    epoch of a stage is left out: it also traces and builds the training step, which is most of
    it in a small run. ``staged``: the run has two stages, named in the sentence.
    """
    sentences = []
    for stage, part in history.groupby("stage", sort=True):
        seconds = part["seconds"].to_numpy(dtype=float)[1:]
        if len(seconds) < 2:
            continue
        fastest, slowest = float(seconds.min()), float(seconds.max())
        if fastest <= 0 or slowest <= SPREAD * fastest:
            continue
        whose = f"stage {int(stage)}'s epochs" if staged else "its epochs"
        pace = f"; at the fastest epoch's pace, {n_train / fastest:.2f} images/s" if n_train else ""
        sentences.append(f"{whose} took from {fastest:.0f} s to {slowest:.0f} s (median {np.median(seconds):.0f} s{pace})")
    if not sentences:
        return ""
    return ("Leaving out the first epoch of each stage, which also builds the training step: " + "; ".join(sentences)
            + ". Epochs slow down when other work shares the cores or a stint runs on a slower "
            "machine, so the table's rates, averaged over every epoch, understate what the machine does with its "
            "cores to itself; the fastest epoch comes nearest to that.")


def restores_text(stints: list[dict]) -> str:
    """What the run's training processes (``stints`` of its provenance) say about restores from
    parks in the repository (:mod:`lrnbook.parking`, :mod:`lrnbook.progress_parks`); "" when none."""
    sentences = []
    if any(s.get("stage1_from_park") and "restored_from_progress_park" not in s for s in stints):
        sentences.append("Its first stage came back from the repository's park after the training machine's cache was "
                         "lost: stage 2 started from the decoder weights rounded to half precision.")
    for stint in stints:
        restore = stint.get("restored_from_progress_park")
        if restore:
            again = restore["logged"] - restore["epochs"]
            sentences.append(
                f"Stage {restore['stage']} went on after its machine was lost, from the repository's park of its best "
                f"epoch so far (epoch {restore['epochs']}, weights rounded to half precision, a fresh Adam optimiser)"
                + (f"; the {again} epoch{'s' if again != 1 else ''} logged after it {'were' if again != 1 else 'was'} "
                   "trained again and count once above." if again else "."))
    return " ".join(sentences)
