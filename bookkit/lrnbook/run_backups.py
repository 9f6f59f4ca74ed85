"""Which backups in the cache belong to a run folder, and its per-epoch logs, read safely.

Used by :mod:`lrnbook.progress_parks` (parking a run in progress) and :mod:`lrnbook.stages`
(whether a -VGG run's first stage is over); it imports neither.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lrn.callbacks import PLATEAU_JSON


def find_backups(model_dir: Path, backups_root: Path) -> Path | None:
    """The backup folder of the run trained in ``model_dir``, found by content.

    The backups are named by :func:`lrn.train.run_key`, which needs the data to compute; the
    first stage's validation curve (the loss its plateau rule watched), in both the run
    folder's log and the backup's plateau state, names the run as surely. ``None`` when no folder matches or more than one does.
    """
    log = stage_log(model_dir, 1)
    found = []
    for folder in sorted(backups_root.iterdir()) if backups_root.is_dir() else []:
        path = folder / "stage1" / PLATEAU_JSON
        if not path.is_file():
            continue
        state = json.loads(path.read_text())
        watched = state.get("monitor", "val_loss")  # the loss the plateau rule watched (lrn.callbacks.Plateau)
        if watched in log and _same_curve(state["val_losses"], log[watched].astype(float).tolist()):
            found.append(folder)
    return found[0] if len(found) == 1 else None


def stage_log(model_dir: Path, stage: int) -> pd.DataFrame:
    """The epochs logged for ``stage`` in a run folder (empty when none was logged yet)."""
    path = model_dir / f"history_stage{stage}.csv"
    try:
        return pd.read_csv(path).drop_duplicates("epoch", keep="last")
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return pd.DataFrame(columns=["epoch", "val_loss", "seconds"])


def _same_curve(a, b) -> bool:
    """Whether two validation curves agree where both have epochs (one may be an epoch ahead:
    the plateau state and the log are written one after the other)."""
    n = min(len(a), len(b))
    return n > 0 and abs(len(a) - len(b)) <= 1 and np.allclose(a[:n], b[:n], rtol=1e-6, atol=0)
