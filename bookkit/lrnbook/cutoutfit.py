"""The fit stage of a cut-out candidate: train on EG1800 and CCP people photos, predict validation.

Run as ``python -m lrnbook.cutoutfit SPEC.json`` (like :mod:`lrnbook.fit`). The settings::

    {"data": {"fit": "pad" | "squash", "ccp_framings": [0.0, 0.5, 1.0]},
     "config": {TrainConfig fields},
     "encoder": {"weights": "torchvision", "member_sha256": ...},  # -VGG candidates only
     "model_file": "baseline/<name>.keras"}  # a model trained before: predicted, never trained

The data are :func:`lrn.data.people.people`; training is :func:`lrn.train.train` on its
training split, judged on its validation split (all three kinds of validation photos). The
model stays in ``model_dir`` (reused when there); ``out_dir`` receives ``history.csv`` and
``predictions.npz``: the person mask (finest map above 0.5, the book's threshold,
:func:`lrn.metrics.threshold_prob`) of every validation photo of every set, fed both ways
(:data:`lrn.data.people.FITS`), in the squashed ``size x size`` frame the book scores in,
keys ``"<set>|<fit>"``; the masks scored against, ``"<set>|truths"``; and ``"<set>|ids"``.
Masks are stored as :func:`numpy.packbits` of ``bool (N, size, size)`` (a few MB in all;
the maps themselves would be tens of MB per candidate).
A ``model_file`` (relative to the profile's folder, e.g. the EG1800-only model shipped
before) is only predicted: its ``history.csv`` is the training log in the card beside it
(``<name>.json``, :func:`lrn.shipped.card`'s format).
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lrn import models, predict, provenance, train
from lrn.data import people


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


def resolved_config(settings: dict) -> train.TrainConfig:
    """The candidate's :class:`lrn.train.TrainConfig` (a -VGG one with torchvision's weights fetched)."""
    config = dict(settings["config"])
    if settings.get("encoder"):
        from lrn import vgg_weights

        config.update(encoder_weights=str(vgg_weights.torchvision_vgg16()), preprocessing="torch")
    return train.TrainConfig(**config)


def run(settings: dict, model_dir: Path, out_dir: Path) -> list[Path]:
    """Train (or reuse) one candidate and write its outputs into ``out_dir``."""
    config = resolved_config(settings)
    data = people.people(config.size, settings["data"]["fit"], settings["data"]["ccp_framings"])
    saved = model_dir / "model.keras"
    if settings.get("model_file"):
        given = out_dir.parents[1] / settings["model_file"]
        print(f"[lrnbook.cutoutfit] predicting with {given} (not trained here)", file=sys.stderr, flush=True)
        model = models.load(given)
    elif saved.is_file():
        print(f"[lrnbook.cutoutfit] using the cached model {saved}", file=sys.stderr, flush=True)
        model = models.load(saved)
    else:
        started = time.perf_counter()
        model = train.train(config, data.train, data.val, model_dir, verbose=2).model
        (model_dir / TIMING).write_text(json.dumps({"train_seconds": round(time.perf_counter() - started, 1),
                                                    "source": "lrnbook.cutoutfit, around lrn.train.train"}) + "\n")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as tmp:
        staged = Path(tmp)
        np.savez_compressed(staged / "predictions.npz", **validation_predictions(model, data.val_sets))
        if settings.get("model_file"):
            card = json.loads(given.with_suffix(".json").read_text())
            history, record = pd.DataFrame(card["history"]), card["provenance"]
        else:
            history, record = provenance.read_csv(model_dir / "history.csv")
        if settings.get("encoder"):  # name the weights, not this machine's cache path
            text = json.dumps(record).replace(json.dumps(config.encoder_weights)[1:-1],
                                              f"torchvision:sha256:{settings['encoder']['member_sha256']}")
            record = json.loads(text)
        timing = json.loads((model_dir / TIMING).read_text()) if (model_dir / TIMING).is_file() else {}
        provenance.write_csv(history, staged / "history.csv", {**record, "counts": data.counts, **timing})
        out_dir.mkdir(exist_ok=True)
        written = [Path(shutil.move(path, out_dir / path.name)) for path in sorted(staged.iterdir())]
    return written


def main(argv=None) -> int:
    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    run(spec["settings"], Path(spec["model_dir"]), Path(spec["out_dir"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
