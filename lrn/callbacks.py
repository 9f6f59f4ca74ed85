"""Callbacks of a training stage that may outlive its process: plateau, deadline, epoch time.

A stage of :mod:`lrn.train` can take longer than a process lives. Keras' own
``BackupAndRestore`` resumes the weights and the optimiser at the last finished epoch; the
callbacks here keep the rest of the stage's state across such restarts:

* :class:`Plateau` is early stopping on the validation loss whose counters and best weights
  live on disk, so that a resumed stage stops where an uninterrupted one would have;
* :class:`Deadline` ends training at an epoch boundary before a wall-clock time;
* :class:`EpochSeconds` adds each epoch's wall time to the epoch's logs (and so to the CSV log).
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import keras

PLATEAU_JSON = "plateau.json"
BEST_WEIGHTS = "best.weights.h5"


def improves(value: float, best: float, min_improvement: float) -> bool:
    """Whether a validation loss ``value`` beats ``best`` by more than the relative ``min_improvement``."""
    return value < best * (1.0 - min_improvement)


def plateau_state(val_losses, patience: int | None, min_improvement: float) -> dict:
    """Best epoch, epochs waited since and whether the rule stopped, from a validation curve.

    Parameters
    ----------
    val_losses : sequence of float
        Validation loss of epochs 0, 1, ... in order.
    patience : int or None
        Epochs in a row without improvement after which the stage stops (``None``: never).
    min_improvement : float
        Relative: an epoch improves when its loss is below ``best * (1 - min_improvement)``.

    Returns
    -------
    dict with ``best`` (float), ``best_epoch`` (int, from 0; -1 before any epoch), ``waited``
    (int) and ``stopped`` (bool; the curve is cut at the epoch where the rule stopped).
    """
    best, best_epoch, waited = math.inf, -1, 0
    for epoch, value in enumerate(val_losses):
        if improves(value, best, min_improvement):
            best, best_epoch, waited = float(value), epoch, 0
        else:
            waited += 1
            if patience is not None and waited >= patience:
                return {"best": best, "best_epoch": best_epoch, "waited": waited, "stopped": True}
    return {"best": best, "best_epoch": best_epoch, "waited": waited, "stopped": False}


def _write_json(path: Path, content: dict) -> None:
    part = path.with_suffix(f".{os.getpid()}.part")
    part.write_text(json.dumps(content, indent=1) + "\n")
    part.replace(path)  # a process killed mid-write leaves the previous state


class Plateau(keras.callbacks.Callback):
    """Early stopping on a validation loss that survives restarts; keeps the best epoch's weights.

    ``monitor`` names the loss in Keras' epoch logs: ``val_loss`` (the summed training loss) or
    one output's, such as ``val_s6_loss``.

    Every epoch's validation loss is written to ``folder/plateau.json`` and the weights of the
    best epoch so far to ``folder/best.weights.h5``. The state is computed from the whole curve
    (:func:`plateau_state`), so an epoch redone after a restart (deterministic training gives
    the same loss) is not counted twice. :meth:`restore_best` puts the best weights back.
    """

    def __init__(self, folder: str | Path, patience: int | None, min_improvement: float = 0.0,
                 monitor: str = "val_loss"):
        super().__init__()
        self.folder = Path(folder)
        self.patience, self.min_improvement, self.monitor = patience, float(min_improvement), monitor
        path = self.folder / PLATEAU_JSON
        self.val_losses = json.loads(path.read_text())["val_losses"] if path.is_file() else []

    @property
    def state(self) -> dict:
        return plateau_state(self.val_losses, self.patience, self.min_improvement)

    @property
    def stopped(self) -> bool:
        return self.state["stopped"]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"the plateau rule watches {self.monitor!r}, which this epoch's logs lack "
                           f"(they hold {', '.join(sorted(logs))})")
        value = float(logs[self.monitor])
        self.val_losses = self.val_losses[:epoch] + [value]
        state = self.state
        self.folder.mkdir(parents=True, exist_ok=True)
        if state["best_epoch"] == epoch:
            self.model.save_weights(self.folder / BEST_WEIGHTS)
        _write_json(self.folder / PLATEAU_JSON, {"val_losses": self.val_losses, **state,
                                                 "patience": self.patience, "min_improvement": self.min_improvement,
                                                 "monitor": self.monitor})
        if state["stopped"]:
            self.model.stop_training = True

    def restore_best(self, model: keras.Model) -> None:
        """Load the best epoch's weights into ``model`` (nothing to do before any epoch)."""
        best = self.folder / BEST_WEIGHTS
        if best.is_file():
            model.load_weights(best)


class Deadline(keras.callbacks.Callback):
    """Stop training at the end of an epoch when another epoch would end after ``deadline``.

    ``deadline`` is a wall-clock time (``time.time()`` seconds). The next epoch is assumed to
    take as long as the longest epoch of this process. :attr:`reached` tells whether it stopped.
    """

    def __init__(self, deadline: float):
        super().__init__()
        self.deadline = float(deadline)
        self.longest = 0.0
        self.reached = False

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        now = time.time()
        self.longest = max(self.longest, now - self.started)
        if now + self.longest > self.deadline:
            self.reached = True
            self.model.stop_training = True


class EpochSeconds(keras.callbacks.Callback):
    """Add ``seconds``, the epoch's wall time including its validation pass, to the epoch's logs.

    Put it before ``keras.callbacks.CSVLogger`` so that the CSV log gets the column.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = round(time.perf_counter() - self.started, 2)
