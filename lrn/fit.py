"""Train a variant on EG1800 and predict every level on the test split: the *fit* of a run.

This is what ``lrn train`` and the book's fit stage both do. Scoring is separate
(:mod:`lrn.evaluate`): it reads the stored predictions, so a new metric never needs a new
training.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lrn import data, predict, train


@dataclass
class Fit:
    """A trained model and its test-set predictions.

    Attributes
    ----------
    result : lrn.train.TrainResult
        Model, per-epoch history, run folder, provenance.
    test_ids : list of str
        Ids of the test photos, in the order of ``levels``.
    levels : list of numpy.ndarray
        One float32 ``(N, h_k, w_k)`` probability map per output, coarse to fine, at the
        model's resolution of that level (:func:`lrn.predict.predict_levels`), predicted from
        the test photos resized from their originals to the model's input size; empty when
        the training stopped at a deadline (``result.finished`` is ``False``).
    """

    result: train.TrainResult
    test_ids: list[str]
    levels: list[np.ndarray]


def fit(config: train.TrainConfig, run_dir, protocol: str = "paper", seed: int = 0, root=None,
        verbose="auto", deadline: float | None = None, progress: bool = True) -> Fit:
    """Train ``config`` on the EG1800 split drawn with ``seed`` and predict its test photos.

    Parameters
    ----------
    config : lrn.train.TrainConfig
        What to train (its own ``seed`` seeds the weights and batches).
    run_dir : path
        Receives ``history*.csv`` and ``model.keras`` (:func:`lrn.train.train`).
    protocol, seed : str, int
        The EG1800 protocol and the seed of its split draw (:func:`lrn.data.eg1800`).
    root : path, optional
        Folder holding ``eg1800/`` (default: ``$LRN_DATA``, else the download cache).
    deadline : float, optional
        Wall-clock time (``time.time()`` seconds) to stop training at an epoch boundary before
        (:func:`lrn.train.train`); the same call later goes on.
    progress : bool
        Progress bars while reading the photos.
    """
    splits = data.eg1800(root, protocol=protocol, size=config.size, seed=seed, progress=progress)
    result = train.train(config, splits.train, splits.val, Path(run_dir), verbose=verbose, deadline=deadline)
    if not result.finished:
        return Fit(result, list(splits.test.ids), [])
    return Fit(result, list(splits.test.ids), predict.predict_levels(result.model, splits.test.images))
