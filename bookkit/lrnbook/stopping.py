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

SUMMED = "val_loss"
"""The summed validation loss (LRN's six levels; a U-Net's one map), as Keras logs it."""
FINEST = "val_s6_loss"
"""The validation loss of LRN's finest map, the one scored (:attr:`lrn.train.TrainConfig.monitor`)."""


def watched_loss(settings: dict) -> str:
    """The logged validation loss a run's plateau rule watched: :data:`FINEST` for a run recorded
    with ``stop_on="finest"`` (:class:`lrn.train.TrainConfig`), else :data:`SUMMED`."""
    return FINEST if settings.get("stop_on") == "finest" else SUMMED


def watched_name(watched: str) -> str:
    """How a page names the watched loss: "validation loss", or "validation loss of s6"."""
    return "validation loss" if watched == SUMMED else f"validation loss of {watched[4:-5]}"


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


def stage_curves(history: pd.DataFrame, watched: str = SUMMED):
    """The validation curve of each stage of a run, with where the stage starts.

    Parameters
    ----------
    history : pandas.DataFrame
        The run's per-epoch history: the ``watched`` loss and, for a run of two stages, ``stage``
        (rows in training order).
    watched : str
        The column of the validation loss the run's plateau rule watched (:func:`watched_loss`).

    Yields
    ------
    (stage, curve, offset)
        The stage number, its validation losses and the epochs trained before it (its epoch
        ``k`` is epoch ``offset + k`` of the run).
    """
    stages = history["stage"].to_numpy() if "stage" in history else np.ones(len(history), int)
    losses = history[watched].to_numpy()
    for stage in sorted(set(stages.tolist())):
        rows = np.flatnonzero(stages == stage)
        yield int(stage), losses[rows], int(rows[0])


def epoch_name(epoch: int, offset: int) -> str:
    """A stage's epoch as a reader counts it: ``"epoch 2 of its stage, epoch 23 overall"`` for a stage
    after the first (``offset`` epochs before it), ``"epoch 2"`` otherwise."""
    return f"epoch {epoch}" if offset == 0 else f"epoch {epoch} of its stage, epoch {offset + epoch} overall"


def patience_table(history: pd.DataFrame, patiences=(2, 3, 5, 10), used: int | None = None,
                   watched: str = SUMMED) -> pd.DataFrame:
    """One row per stage and patience: epochs it would train, kept epoch, kept validation loss.

    Stage 2 is replayed on the curve that followed stage 1 as it was trained. Epochs of a stage
    count from its start; the kept epoch of a later stage also gives its number in the whole run.
    """
    rows = []
    for stage, curve, offset in stage_curves(history, watched):
        for patience in patiences:
            result = replay(curve, patience)
            kept = result["best_epoch"]
            rows.append({"stage": stage, "patience": patience,
                         "would train (epochs)": f"{result['stops_after']}" + (" (curve ends)" if result["cut"] else ""),
                         "keeps epoch": str(kept) if offset == 0 else f"{kept} ({offset + kept} overall)",
                         f"kept {watched_name(watched).replace('validation', 'val')}": round(result["best"], 4),
                         "used here": "yes" if patience == used else ""})
    return pd.DataFrame(rows)


def stopping_text(history: pd.DataFrame, patience: int | None, epochs: int, watched: str = SUMMED) -> str:
    """How each stage of a run ended: at a plateau (patience ran out) or at the epoch limit.

    Epochs count from the start of their stage; for a stage after the first, the best epoch is
    also given as the run counts it (:func:`epoch_name`).
    """
    parts = []
    for stage, curve, offset in stage_curves(history, watched):
        best = int(np.argmin(curve)) + 1
        name = epoch_name(best, offset)
        if patience is not None and len(curve) - best >= patience:
            parts.append(f"stage {stage} stopped at a plateau after {len(curve)} epochs (best: {name})")
        elif len(curve) >= epochs:
            parts.append(f"stage {stage} was ended by the limit of {epochs} epochs with its best {watched_name(watched)} "
                         f"at {name}" + (", the last one: the loss was still falling" if best == len(curve) else ""))
        else:
            parts.append(f"stage {stage} ran {len(curve)} epochs (best: {name})")
    text = "; ".join(parts) + "."
    if watched != SUMMED:
        text += (f" The rule watched the {watched_name(watched)}, the map that is scored, not the sum over the "
                 "levels that training minimises.")
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


def summed_rule_text(history: pd.DataFrame, patience: int, min_improvement: float, summary: dict | None = None,
                     lost_hours: float = 0.0) -> str:
    """What a one-stage LRN run stopped on its summed validation loss shows about its finest map.

    ``history``: the run's per-epoch log (``val_loss`` and ``val_s6_loss``); ``patience`` and
    ``min_improvement``: its plateau rule (:func:`lrn.callbacks.plateau_state`), replayed here on
    both curves; ``summary``: its test scores (``test_summary.json``), if given; ``lost_hours``:
    hours of its training lost with a training machine and trained again.
    """
    from lrn.callbacks import plateau_state  # keras: only when a page asks

    summed, finest = history[SUMMED].to_numpy(float), history[FINEST].to_numpy(float)
    kept = plateau_state(summed, patience, min_improvement)
    on_finest = plateau_state(finest, patience, min_improvement)
    k, j = kept["best_epoch"], on_finest["best_epoch"]
    text = (f"Its plateau rule watched the summed validation loss. It stopped after {len(history)} epochs, "
            f"{patience} after its best (epoch {k + 1}, {summed[k]:.4f}), and kept that epoch's weights"
            + (f" ({history['seconds'].sum() / 3600:.1f} hours of training"
               + (f", and {lost_hours:.1f} more lost with a training machine" if lost_hours else "") + ")"
               if "seconds" in history else "") + ". There the "
            f"validation loss of s6 was {finest[k]:.4f}; it went on falling to {finest[j]:.4f} at epoch {j + 1}. "
            f"The same rule on the loss of s6 ({patience} epochs, {100 * min_improvement:g} % margin) "
            + ("would have stopped too." if on_finest["stopped"] else
               f"would not have stopped: its best was {len(finest) - j - 1} epoch{'s' if len(finest) - j - 1 != 1 else ''} "
               "before the end, and the run would have gone on."))
    if summary:
        levels = {f"s{n}": summary[f"jaccard_s{n}"]["mean"] for n in range(1, 7) if f"jaccard_s{n}" in summary}
        coarse = max((l for l in levels if l != "s6"), key=levels.get)
        text += (f" On the test photos the kept weights scored {levels['s6']:.2f} % Jaccard at s6 against "
                 f"{levels[coarse]:.2f} % at {coarse}: the finest map had not caught up with the coarser ones. Those "
                 "scores were read before the rule changed; the validation curves alone show the reason for it.")
    return text
