"""Was a stage still fitting its training photos when its plateau rule stopped it?

The plateau rule (:mod:`lrn.callbacks`) stops a stage on the validation photos alone. Whether
the loss on the training photos had levelled off too is a separate question, and the one
"trained until convergence" usually means: these functions answer it from a run's
``history.csv``, comparing the epochs after a stage's best epoch with as many epochs up to it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

STILL_FALLING = 0.05
"""A training loss whose mean after the best epoch is lower by more than this share was still falling."""


def training_column(watched: str) -> str:
    """The training loss that matches the watched validation loss: ``val_s6_loss`` -> ``s6_loss``."""
    return watched.removeprefix("val_")


def after_the_best(history: pd.DataFrame, watched: str = "val_loss") -> pd.DataFrame:
    """Per stage: the mean training loss over the epochs after its best epoch and over as many up to it.

    Parameters
    ----------
    history : a run's ``history.csv`` (``stage`` column optional: one stage without it), with the
        ``watched`` validation loss and its training counterpart (:func:`training_column`).
    watched : the validation loss the plateau rule watched; the best epoch is its lowest.

    Returns
    -------
    One row per stage with at least 2 epochs after its best and 2 up to it: ``stage``,
    ``epochs after best`` (n), ``epochs up to best`` (m, n or fewer when the best came early),
    ``best epoch`` (by position in the stage, from 1), ``before`` (mean training loss of the m
    epochs ending at the best), ``after`` (of the n epochs after it) and ``change``
    (``after / before - 1``; negative: still falling).
    """
    training = training_column(watched)
    stages = history.groupby("stage", sort=True) if "stage" in history else [(1, history)]
    rows = []
    for stage, part in stages:
        validation, train_loss = part[watched].to_numpy(float), part[training].to_numpy(float)
        best = int(np.argmin(validation))
        n = len(part) - 1 - best
        m = min(n, best + 1)  # a best epoch early in its stage has fewer epochs before it
        if n < 2 or m < 2:
            continue
        before, after = train_loss[best + 1 - m:best + 1].mean(), train_loss[best + 1:].mean()
        rows.append({"stage": int(stage), "epochs after best": n, "epochs up to best": m, "best epoch": best + 1,
                     "before": float(before), "after": float(after), "change": float(after / before - 1)})
    return pd.DataFrame(rows, columns=["stage", "epochs after best", "epochs up to best", "best epoch", "before", "after",
                                       "change"])


def still_fitting_text(history: pd.DataFrame, watched: str = "val_loss", staged: bool | None = None) -> str:
    """What the training loss did after each stage's best epoch, in sentences; "" when no stage has 2 epochs after it.

    ``staged``: name the stage in each sentence; by default when ``history`` has more than one stage.
    """
    if staged is None:
        staged = "stage" in history and history["stage"].nunique() > 1
    table = after_the_best(history, watched)
    if table.empty:
        return ""
    what = "training loss of s6" if training_column(watched) == "s6_loss" else "training loss"
    sentences = []
    for row in table.to_dict("records"):
        n, m = row["epochs after best"], row["epochs up to best"]
        direction = "below" if row["change"] < 0 else "above"
        where = f"In stage {row['stage']}, in" if staged else "In"
        sentences.append(f"{where} the {n} epochs after the best one the {what} averaged {row['after']:.4f}, "
                         f"{abs(100 * row['change']):.0f} % {direction} its mean over the {m} epochs up to the best "
                         f"({row['before']:.4f}).")
    falling = table[table["change"] < -STILL_FALLING]
    if falling.empty:
        sentences.append("The fit to the training photos had levelled off as well: the stop is a plateau of both.")
    else:
        stages = falling["stage"].tolist()
        which = ("" if not staged else " in both stages" if len(stages) == 2 else f" in stage {stages[0]}")
        sentences.append(f"The network was still fitting its training photos better{which} when the rule stopped it: "
                         "the loss on the validation photos had stopped improving, not the loss that training "
                         "lowers. More epochs would have fitted the training photos more closely, which by itself "
                         "says nothing about new photos.")
    return " ".join(sentences)
