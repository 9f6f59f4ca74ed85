"""Training lost with a machine: epochs a run had logged that its training machine no longer holds.

Each ``make train`` copies the log so far of every unfinished run into the repository
(:mod:`lrnbook.curves`). When a machine and its cache are lost, the next one goes on from the
run's last park in the repository (:mod:`lrnbook.parking`, :mod:`lrnbook.progress_parks`), or
from the start when there is none, and the epochs logged since are trained again. Before the
committed curve is overwritten, :func:`note_loss` compares it with the run's log on this machine:
the committed epochs from the first one the log does not hold (same stage, epoch, validation
loss and time: :func:`lost_rows`) on were lost. Each loss is added to ``notebooks/runs/<profile>/lost/<run>.json``, which
stays when the run finishes, so that its pages can say how many hours training really took.
The pages read it with :func:`read` and :func:`lost_text`.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

LOST = "lost"


def lost_path(runs: Path, name: str) -> Path:
    """The ledger of the losses of run ``name`` under a profile's runs folder."""
    return Path(runs) / LOST / f"{name}.json"


def lost_rows(committed: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``committed`` that ``now`` does not hold.

    Both are curves as :func:`lrnbook.curves.curve_so_far` writes them (``stage``, ``epoch``,
    ``val_loss``, ``seconds``; one row per epoch, stage after stage). ``now`` holds a row of
    ``committed`` when the row at the same position has the same stage and epoch, and a validation
    loss and a time equal to 5 significant digits (the committed curve keeps 6): the same logged
    epoch, not one trained again (a retrained epoch may reproduce the loss, never its time). From
    the first row it does not hold on, every committed row was lost.
    """
    committed, now = (c if "stage" in c else c.assign(stage=1) for c in (committed, now))  # one-stage logs
    n = min(len(committed), len(now))
    same = np.zeros(n, dtype=bool)
    if n:
        a, b = committed.iloc[:n], now.iloc[:n]
        same = ((a["stage"].to_numpy() == b["stage"].to_numpy()) & (a["epoch"].to_numpy() == b["epoch"].to_numpy())
                & np.isclose(a["val_loss"].to_numpy(float), b["val_loss"].to_numpy(float), rtol=1e-5, atol=0)
                & np.isclose(a["seconds"].to_numpy(float), b["seconds"].to_numpy(float), rtol=1e-5, atol=0))
    first = int(np.argmin(same)) if not same.all() else n
    return committed.iloc[first:]


def read(name: str, root: str | Path = ".") -> list[dict]:
    """The losses recorded for run ``name`` (``[]`` when none), ``root`` being a profile's runs folder."""
    path = lost_path(Path(root), name)
    return json.loads(path.read_text()) if path.is_file() else []


def lost_hours(entries: list[dict]) -> float:
    """The hours of training lost in ``entries`` (:func:`read`), 0 when none."""
    return sum(e["hours"] for e in entries)


def more_hours_text(hours: float) -> str:
    """What follows a run's "hours so far" when ``hours`` of its training were lost:
    ``" (and 1.7 more, lost with a training machine)"``, ``""`` when none were."""
    return f" (and {hours:.1f} more, lost with a training machine)" if hours else ""


def note_loss(runs: Path, name: str, committed: pd.DataFrame | None, now: pd.DataFrame,
              noticed: dt.datetime | None = None) -> dict | None:
    """Add to run ``name``'s ledger the epochs of its ``committed`` curve that ``now`` (its log on
    this machine) has lost; returns the entry, or ``None`` when nothing was lost.

    The entry: ``noticed_utc`` (ISO time), the ``stage`` and ``epoch`` (from 1 within its stage)
    of the first epoch lost, the number of ``epochs`` lost and their ``hours`` (their logged
    seconds, validation included).
    """
    if committed is None or committed.empty:
        return None
    rows = lost_rows(committed, now)
    if rows.empty:
        return None
    noticed = noticed or dt.datetime.now(dt.timezone.utc)
    entry = {"noticed_utc": noticed.isoformat(timespec="seconds"), "stage": int(rows["stage"].iloc[0]),
             "epoch": int(rows["epoch"].iloc[0]) + 1, "epochs": len(rows),
             "hours": round(float(rows["seconds"].sum()) / 3600, 3)}
    path = lost_path(runs, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(read(name, runs) + [entry], indent=1) + "\n")
    return entry


def lost_text(entries: list[dict], hours_kept: float | None = None) -> str:
    """What a page says about a run's losses (``""`` when none), and, given ``hours_kept`` (the
    hours of the epochs its log holds), the hours training has taken in all."""
    if not entries:
        return ""

    def what(e):
        n, s = e["epochs"], "s" if e["epochs"] != 1 else ""
        if e["stage"] == 1 and e["epoch"] == 1:
            return (f"(noticed on {e['noticed_utc'][:10]}) with all {n} epoch{s} the run had trained ({e['hours']:.1f} h), "
                    "before any park held them: it started again from the beginning")
        return (f"(noticed on {e['noticed_utc'][:10]}) with {n} epoch{s} of stage {e['stage']} from its epoch "
                f"{e['epoch']} on ({e['hours']:.1f} h), trained after its last park in the repository: it went on "
                "from that park")

    lost = lost_hours(entries)
    if len(entries) == 1:
        text = f"A training machine and its cache were lost {what(entries[0])}."
    else:
        text = (f"Training machines and their caches were lost {len(entries)} times: "
                + "; ".join(what(e) for e in entries) + ".")
    text += " The times on this page count each epoch once."
    if hours_kept is not None:
        text += f" Counting the lost hours, training has taken {hours_kept + lost:.1f} h ({lost:.1f} h of them lost)."
    return text
