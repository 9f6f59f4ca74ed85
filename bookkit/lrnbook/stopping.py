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


def patience_table(history: pd.DataFrame, patiences=(2, 3, 5, 10), used: int | None = None) -> pd.DataFrame:
    """One row per stage and patience: epochs it would train, kept epoch, kept validation loss.

    Stage 2 is replayed on the curve that followed stage 1 as it was trained.
    """
    rows = []
    stages = history["stage"] if "stage" in history else pd.Series(1, index=history.index)
    for stage in sorted(stages.unique()):
        curve = history.loc[stages == stage, "val_loss"].to_numpy()
        for patience in patiences:
            result = replay(curve, patience)
            rows.append({"stage": int(stage), "patience": patience,
                         "would train (epochs)": f"{result['stops_after']}" + (" (curve ends)" if result["cut"] else ""),
                         "keeps epoch": result["best_epoch"], "kept val loss": round(result["best"], 4),
                         "used here": "yes" if patience == used else ""})
    return pd.DataFrame(rows)


def stopping_text(history: pd.DataFrame, patience: int | None, epochs: int) -> str:
    """How each stage of a run ended: at a plateau (patience ran out) or at the epoch limit."""
    stages = history["stage"] if "stage" in history else pd.Series(1, index=history.index)
    parts = []
    for stage in sorted(stages.unique()):
        curve = history.loc[stages == stage, "val_loss"].to_numpy()
        best = int(np.argmin(curve)) + 1
        if patience is not None and len(curve) - best >= patience:
            parts.append(f"stage {stage} stopped at a plateau after {len(curve)} epochs (best: epoch {best})")
        elif len(curve) >= epochs:
            parts.append(f"stage {stage} was ended by the limit of {epochs} epochs with its best validation loss "
                         f"at epoch {best}" + (", the last one: the loss was still falling" if best == len(curve) else ""))
        else:
            parts.append(f"stage {stage} ran {len(curve)} epochs (best: epoch {best})")
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]
