"""The fit stage of a cut-out candidate: train on EG1800 and CCP people photos, predict validation.

Run as ``python -m lrnbook.cutoutfit SPEC.json`` (:mod:`lrnbook.runner`; the spec of
:mod:`lrnbook.fit`, with a ``deadline``). The settings::

    {"data": {"fit": "pad" | "squash", "ccp_framings": [0.0, 0.5, 1.0], "small_people": 600},  # the last optional
     "config": {TrainConfig fields},
     "encoder": {"weights": "torchvision", "member_sha256": ...},  # -VGG candidates only
     "model_file": "baseline/<name>.keras"}  # a model trained before: predicted, never trained

The data are :func:`lrn.data.people.people`; training is :func:`lrn.train.train` on its
training split, judged on its validation split (all four kinds of validation photos). The
model stays in ``model_dir`` (reused when there); ``out_dir`` receives ``history.csv`` and
``predictions.npz``: the person mask (finest map above 0.5, the book's threshold,
:func:`lrn.metrics.threshold_prob`) of every validation photo of every set, fed both ways
(:data:`lrn.data.people.FITS`), in the squashed ``size x size`` frame the book scores in,
keys ``"<set>|<fit>"``; the masks scored against, ``"<set>|truths"``; and ``"<set>|ids"``.
Masks are stored as :func:`numpy.packbits` of ``bool (N, size, size)`` (a few MB in all;
the maps themselves would be tens of MB per candidate).
A ``model_file`` (relative to the profile's folder, e.g. the EG1800-only model shipped
before) is only predicted: its ``history.csv`` is the training log in the card beside it
(``<name>.json``, :func:`lrn.shipped.card`'s format). A candidate still training at the
deadline writes ``not_run.json`` saying where it stands (:func:`lrnbook.fit.progress`).

A ``-VGG`` candidate is two candidates in one training: the model its first stage ends with
(encoder frozen, decoder trained) is kept in ``model_dir/stage1/`` as soon as that stage is
over, and every stint after that writes its predictions and log as
``stage1_predictions.npz`` and ``stage1_history.csv`` (:data:`STAGE1_OUTPUTS`), which
:mod:`lrnbook.cutout_page` scores as the candidate ``<name>@stage1``. The first stage's
weights are read from the run's backups, which :func:`lrn.train.train` removes once the
whole run is over; a run whose second stage ended in the same stint as its first (at least
``patience + 1`` epochs of the whole network) leaves no such candidate.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lrn import models, predict, provenance, train
from lrn.cache import BACKUPS, cache_dir
from lrn.data import people
from lrn.variants import is_imagenet
from lrnbook import parking, runner
from lrnbook.candidate_files import STAGE1, STAGE1_OUTPUTS


TIMING = "train_seconds.json"
"""Beside a trained model: the wall time of its training (seconds) and what measured it."""
THRESHOLD = 0.5
"""A pixel is person where the finest map is strictly above it (as :func:`lrn.metrics.threshold_prob`)."""


def pack(masks: np.ndarray) -> np.ndarray:
    """``bool (N, S, S)`` as :func:`numpy.packbits` along the rows (S a multiple of 8: exact)."""
    return np.packbits(np.asarray(masks, bool), axis=-1)


def unpack(stored: np.ndarray) -> np.ndarray:
    return np.unpackbits(stored, axis=-1).astype(bool)


def validation_predictions(model, val_sets: dict[str, people.EvalSet]) -> dict[str, np.ndarray]:
    """The arrays of ``predictions.npz`` (see the module docstring)."""
    arrays = {}
    for name, s in val_sets.items():
        arrays[f"{name}|ids"] = np.array(s.ids)
        arrays[f"{name}|truths"] = pack(s.truths)
        for fit in people.FITS:
            finest = predict.predict_levels(model, s.inputs(fit))[-1]
            arrays[f"{name}|{fit}"] = pack(s.to_eval_frame(finest, fit) > THRESHOLD)
    return arrays


def read_predictions(path) -> dict[str, dict]:
    """``predictions.npz`` of a candidate as ``{set: {"ids": [...], "truths": ..., "pad": ..., "squash": ...}}``.

    Masks are bool ``(N, size, size)``: the truths, and the predictions of either fit.
    """
    out: dict[str, dict] = {}
    with np.load(path) as stored:
        for key in stored.files:
            name, part = key.split("|")
            value = stored[key]
            if part == "ids":
                value = [str(i) for i in value]
            else:
                value = unpack(value)
            out.setdefault(name, {})[part] = value
    return out


def keep_stage1(config: train.TrainConfig, data: people.PeopleData, model_dir: Path) -> bool:
    """Keep the first-stage model of a -VGG run in ``model_dir/stage1/`` once that stage is over.

    Writes ``model.keras`` (with provenance) and ``predictions.npz`` (:func:`validation_predictions`)
    there, once. Returns whether they are there.
    """
    kept = model_dir / STAGE1
    if (kept / "predictions.npz").is_file():
        return True
    done = cache_dir() / BACKUPS / train.run_key(config, data.train, data.val) / parking.STAGE1_DONE
    if not done.is_file():
        return False
    model = train.build(config)
    model.load_weights(done)
    record = provenance.record(config.seed, {**config.to_dict(), "stage": "1 of 2: encoder frozen, decoder trained"},
                               data.train.manifest_sha256)
    provenance.save_model(model, kept / "model.keras", record)
    np.savez_compressed(kept / "predictions.npz", **validation_predictions(model, data.val_sets))
    return True


def write_stage1(model_dir: Path, staged: Path, settings: dict, counts: dict) -> None:
    """Copy the kept first-stage predictions and its log (:data:`STAGE1_OUTPUTS`) into ``staged``, if kept."""
    kept = model_dir / STAGE1
    if not (kept / "predictions.npz").is_file():
        return
    (staged / STAGE1_OUTPUTS[0]).write_bytes((kept / "predictions.npz").read_bytes())
    record = runner.named_weights(provenance.read_model_provenance(kept / "model.keras"), settings)
    provenance.write_csv(train.read_log(model_dir / "history_stage1.csv", 1), staged / STAGE1_OUTPUTS[1],
                         {**record, "counts": counts})


def run(spec: dict) -> None:
    """Train (or go on training, or reuse) one candidate and write its outputs into ``out_dir``."""
    from lrnbook import fit

    settings, model_dir, out_dir = spec["settings"], Path(spec["model_dir"]), Path(spec["out_dir"])
    config = train.TrainConfig(**runner.imagenet_config(settings))
    data = people.people(config.size, settings["data"]["fit"], settings["data"]["ccp_framings"],
                         small_people=settings["data"].get("small_people", 0))
    saved = model_dir / "model.keras"
    two_stages = is_imagenet(config.variant) and not settings.get("model_file")
    with runner.staged(out_dir, replaces=fit.OUTPUTS + STAGE1_OUTPUTS) as staged:
        if settings.get("model_file"):
            given = out_dir.parents[1] / settings["model_file"]
            print(f"[lrnbook.cutoutfit] predicting with {given} (not trained here)", file=sys.stderr, flush=True)
            model = models.load(given)
        elif saved.is_file():
            print(f"[lrnbook.cutoutfit] using the cached model {saved}", file=sys.stderr, flush=True)
            model = models.load(saved)
            if two_stages:
                write_stage1(model_dir, staged, settings, data.counts)
        else:
            started = time.perf_counter()
            result = train.train(config, data.train, data.val, model_dir, verbose=2, deadline=spec.get("deadline"))
            spent = time.perf_counter() - started
            if (model_dir / TIMING).is_file():  # earlier stints of the same training
                spent += json.loads((model_dir / TIMING).read_text())["train_seconds"]
            (model_dir / TIMING).write_text(json.dumps({"train_seconds": round(spent, 1),
                                                        "source": "lrnbook.cutoutfit, around lrn.train.train"}) + "\n")
            if two_stages and keep_stage1(config, data, model_dir):
                write_stage1(model_dir, staged, settings, data.counts)
            if not result.finished:
                note = fit.progress(model_dir, config.schedule, config.epochs, parked=False)
                (staged / "not_run.json").write_text(json.dumps(note, indent=2) + "\n")
                return
            model = result.model
        np.savez_compressed(staged / "predictions.npz", **validation_predictions(model, data.val_sets))
        if settings.get("model_file"):
            card = json.loads(given.with_suffix(".json").read_text())
            history, record = pd.DataFrame(card["history"]), card["provenance"]
        else:
            history, record = provenance.read_csv(model_dir / "history.csv")
        timing = json.loads((model_dir / TIMING).read_text()) if (model_dir / TIMING).is_file() else {}
        provenance.write_csv(history, staged / "history.csv",
                             {**runner.named_weights(record, settings), "counts": data.counts, **timing})


if __name__ == "__main__":
    sys.exit(runner.main(run))
