"""Early stopping replayed on a logged validation curve: where other patiences would have stopped.

Keras' ``EarlyStopping(monitor="val_loss", patience=p, restore_best_weights=True)`` stops
after ``p`` epochs in a row without a lower validation loss than the best so far and keeps
the best epoch's weights. Replaying that rule on the curve a run logged tells, from the
validation photos alone, whether a shorter patience would have kept the same weights and
whether a longer one could have found better: for a longer patience only as far as the
curve goes (a run cut by its epoch limit says nothing about the epochs it never trained).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def replay(val_loss, patience: int) -> dict:
    """Where ``EarlyStopping`` with ``patience`` stops on ``val_loss`` (epochs counted from 1).

    Returns ``{"stops_after": epochs trained, "best_epoch": kept epoch, "best": its loss,
    "cut": True when the curve ended before the rule stopped}``.
    """
    values = np.asarray(val_loss, dtype=float)
    if values.size == 0:
        raise ValueError("replay needs at least one logged epoch")
    best, best_epoch, waited = np.inf, 0, 0
    for epoch, value in enumerate(values, start=1):
        if value < best:
            best, best_epoch, waited = value, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return {"stops_after": epoch, "best_epoch": best_epoch, "best": float(best), "cut": False}
    return {"stops_after": len(values), "best_epoch": best_epoch, "best": float(best), "cut": True}


def stage_curves(history: pd.DataFrame):
    """The validation curve of each stage of a run, with where the stage starts.

    Parameters
    ----------
    history : pandas.DataFrame
        The run's per-epoch history: ``val_loss`` and, for a run of two stages, ``stage``
        (rows in training order).

    Yields
    ------
    (stage, curve, offset)
        The stage number, its validation losses and the epochs trained before it (its epoch
        ``k`` is epoch ``offset + k`` of the run).
    """
    stages = history["stage"].to_numpy() if "stage" in history else np.ones(len(history), int)
    losses = history["val_loss"].to_numpy()
    for stage in sorted(set(stages.tolist())):
        rows = np.flatnonzero(stages == stage)
        yield int(stage), losses[rows], int(rows[0])


def epoch_name(epoch: int, offset: int) -> str:
    """A stage's epoch as a reader counts it: ``"epoch 2 of its stage, epoch 23 overall"`` for a stage
    after the first (``offset`` epochs before it), ``"epoch 2"`` otherwise."""
    return f"epoch {epoch}" if offset == 0 else f"epoch {epoch} of its stage, epoch {offset + epoch} overall"


def patience_table(history: pd.DataFrame, patiences=(2, 3, 5, 10), used: int | None = None) -> pd.DataFrame:
    """One row per stage and patience: epochs it would train, kept epoch, kept validation loss.

    Stage 2 is replayed on the curve that followed stage 1 as it was trained. Epochs of a stage
    count from its start; the kept epoch of a later stage also gives its number in the whole run.
    """
    rows = []
    for stage, curve, offset in stage_curves(history):
        for patience in patiences:
            result = replay(curve, patience)
            kept = result["best_epoch"]
            rows.append({"stage": stage, "patience": patience,
                         "would train (epochs)": f"{result['stops_after']}" + (" (curve ends)" if result["cut"] else ""),
                         "keeps epoch": str(kept) if offset == 0 else f"{kept} ({offset + kept} overall)",
                         "kept val loss": round(result["best"], 4),
                         "used here": "yes" if patience == used else ""})
    return pd.DataFrame(rows)


def stopping_text(history: pd.DataFrame, patience: int | None, epochs: int) -> str:
    """How each stage of a run ended: at a plateau (patience ran out) or at the epoch limit.

    Epochs count from the start of their stage; for a stage after the first, the best epoch is
    also given as the run counts it (:func:`epoch_name`).
    """
    parts = []
    for stage, curve, offset in stage_curves(history):
        best = int(np.argmin(curve)) + 1
        name = epoch_name(best, offset)
        if patience is not None and len(curve) - best >= patience:
            parts.append(f"stage {stage} stopped at a plateau after {len(curve)} epochs (best: {name})")
        elif len(curve) >= epochs:
            parts.append(f"stage {stage} was ended by the limit of {epochs} epochs with its best validation loss "
                         f"at {name}" + (", the last one: the loss was still falling" if best == len(curve) else ""))
        else:
            parts.append(f"stage {stage} ran {len(curve)} epochs (best: {name})")
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def epochs_shown_text(n_epochs: int, every: int) -> str:
    """The caption of a per-epoch table that shows one epoch in ``every``, the best and the last
    (:func:`lrnbook.pages.epoch_table`), for a run of ``n_epochs`` epochs."""
    if every <= 1:
        return f"Every one of the {n_epochs} epochs:"
    steps = list(range(1, n_epochs + 1, every))
    if len(steps) == 1:
        return f"The first, the best and the last of the {n_epochs} epochs:"
    if len(steps) == 2:
        return f"Epochs {steps[0]} and {steps[1]}, the best and the last of the {n_epochs} epochs:"
    return (f"One epoch in {every} ({', '.join(str(e) for e in steps[:3])}, …), the best and the last of the "
            f"{n_epochs} epochs:")
