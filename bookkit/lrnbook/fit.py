"""The fit stage of an EG1800 run: train (or go on training, or reuse) and store its test predictions.

Run as ``python -m lrnbook.fit SPEC.json`` (:mod:`lrnbook.runner`). ``SPEC.json`` holds::

    {"settings": {"variant", "protocol", "split_seed", "config": {TrainConfig fields},
                  "encoder": {"weights": "torchvision", "member_sha256": ...},  # -VGG runs
                  "onednn": true | false},                                     # optional
     "model_dir": "<cache>/models/<model key>", "out_dir": "notebooks/runs/<profile>/results/<name>",
     "parked": "notebooks/runs/<profile>/parked/<name>",  # -VGG runs: where stage 1 is parked
     "deadline": <time.time() seconds> | null}

The trained model stays in ``model_dir``: when ``model_dir/model.keras`` exists it is used
and nothing is trained. Otherwise training starts, or goes on from the cache's backups (or
from a parked first stage, :mod:`lrnbook.parking`), until the run is finished or the deadline
comes (it stops at an epoch boundary). Each training process adds a line to
``model_dir/stints.json``: when it started, how long it ran, the epochs it trained and the
machine's float32 sgemm rate (:func:`lrnbook.sgemm.gflops`).

Outputs in ``out_dir``, all moved in at the end (:func:`lrnbook.runner.staged`):

* finished: ``predictions.npz`` (every level on the test split) and ``history.csv``
  (per-epoch losses and seconds; provenance with the weights by sha256, the stints and
  whether stage 1 came back from a half-precision park);
* unfinished: ``not_run.json`` with ``"in_progress": true`` and where the run stands
  (:func:`progress`);
* ImageNet weights not to be had here: ``not_run.json`` with the reason.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from lrn.errors import InputError
from lrnbook import runner

OUTPUTS = ("predictions.npz", "history.csv", "not_run.json")
STINTS = "stints.json"


def stage_logs(model_dir: Path) -> pd.DataFrame:
    """Every epoch logged so far in ``model_dir`` (``history_stage<k>.csv``), with its ``stage``."""
    from lrn import train

    logs = [train.read_log(path, int(path.stem.removeprefix("history_stage")))
            for path in sorted(model_dir.glob("history_stage*.csv"))]
    return pd.concat(logs, ignore_index=True) if logs else pd.DataFrame(columns=["stage", "epoch", "seconds"])


def progress(model_dir: Path, schedule: str, epochs: int, parked: bool) -> dict:
    """Where an unfinished run stands: the content of its in-progress ``not_run.json``."""
    logs = stage_logs(model_dir)
    stage = int(logs["stage"].max()) if len(logs) else 1
    epoch = int((logs["stage"] == stage).sum())
    hours = float(logs["seconds"].sum()) / 3600 if "seconds" in logs else 0.0
    stages = {"vgg": {1: "stage 1 (encoder frozen)", 2: "stage 2 (all layers)"}}.get(schedule, {1: "training"})
    where = f"{stages[stage]}, epoch {epoch} of at most {epochs}"
    kept = ("its first stage is parked in the repository" if parked
            else "its progress is kept in the training machine's cache")
    return {"status": "not run", "in_progress": True, "stage": stage, "epoch": epoch, "epochs": epochs,
            "hours": round(hours, 2), "parked": parked,
            "reason": f"still training: {where}, {hours:.1f} hours so far; {kept} and `make train` goes on"}


def _stints(model_dir: Path) -> list[dict]:
    path = model_dir / STINTS
    return json.loads(path.read_text()) if path.is_file() else []


def train_stint(config, settings: dict, model_dir: Path, parked: Path | None, deadline: float | None):
    """Train from wherever the run stands until it finishes or the deadline.

    Returns ``(test ids, levels)``; ``levels`` is empty when the run is not finished.
    """
    from lrn import data, predict, train
    from lrn.cache import BACKUPS, cache_dir
    from lrnbook import parking, sgemm

    started, logged = time.time(), len(stage_logs(model_dir))
    rate = sgemm.gflops()
    splits = data.eg1800(protocol=settings["protocol"], size=config.size, seed=settings["split_seed"], progress=False)
    backups = cache_dir() / BACKUPS / train.run_key(config, splits.train, splits.val)
    unparked = False
    if parked is not None and parking.parked_record(parked) and not backups.exists():
        with tempfile.TemporaryDirectory() as tmp:
            start = parking.starting_weights(config, Path(tmp) / "start.weights.h5")
            unparked = parking.unpark(parked, model_dir, backups, start, backups.name)
    result = train.train(config, splits.train, splits.val, model_dir, verbose=2, deadline=deadline)
    stint = {"started_utc": dt.datetime.fromtimestamp(started, dt.timezone.utc).isoformat(timespec="seconds"),
             "seconds": round(time.time() - started, 1), "epochs": len(stage_logs(model_dir)) - logged,
             "sgemm_gflops": round(rate, 1), "stage1_from_park": unparked}
    (model_dir / STINTS).write_text(json.dumps(_stints(model_dir) + [stint], indent=1) + "\n")
    record = parking.parked_record(parked) if parked is not None else None
    if parked is not None and (backups / parking.STAGE1_DONE).is_file() and (record or {}).get("run_key") != backups.name:
        with tempfile.TemporaryDirectory() as tmp:
            start = parking.starting_weights(config, Path(tmp) / "start.weights.h5")
            parking.park(model_dir, backups, start, parked, backups.name, repo=Path(__file__).resolve().parents[2])
    if not result.finished:
        return list(splits.test.ids), []
    return list(splits.test.ids), predict.predict_levels(result.model, splits.test.images)


def run(spec: dict) -> None:
    """Execute one fit (see the module doc)."""
    from lrn import data, models, predict, provenance, train

    settings, model_dir, out_dir = spec["settings"], Path(spec["model_dir"]), Path(spec["out_dir"])
    parked = Path(spec["parked"]) if spec.get("parked") else None
    with runner.staged(out_dir, replaces=OUTPUTS) as staged:
        try:
            fields = runner.imagenet_config(settings)
        except InputError as error:  # no ImageNet weights here
            (staged / "not_run.json").write_text(json.dumps({"status": "not run", "reason": str(error)}, indent=2) + "\n")
            return
        config = train.TrainConfig(**fields)
        saved = model_dir / "model.keras"
        if saved.is_file():
            print(f"[lrnbook.fit] using the cached model {saved}", file=sys.stderr, flush=True)
            test = data.eg1800(protocol=settings["protocol"], size=config.size, seed=settings["split_seed"],
                               progress=False).test
            ids, levels = list(test.ids), predict.predict_levels(models.load(saved), test.images)
        else:
            ids, levels = train_stint(config, settings, model_dir, parked, spec.get("deadline"))
            if not levels:
                note = progress(model_dir, config.schedule, config.epochs, parked is not None
                                and (parked / "parked.json").is_file())
                (staged / "not_run.json").write_text(json.dumps(note, indent=2) + "\n")
                return
        predict.save_predictions(staged / "predictions.npz", ids, levels)
        history, record = provenance.read_csv(model_dir / "history.csv")
        stints = _stints(model_dir)
        record = {**runner.named_weights(record, settings), "test_ids": ids, "stints": stints,
                  "machine_sgemm_gflops": [s["sgemm_gflops"] for s in stints if s["epochs"] > 0],
                  "onednn": settings.get("onednn", True)}
        provenance.write_csv(history, staged / "history.csv", record)


if __name__ == "__main__":
    sys.exit(runner.main(run))
