"""Progress parks: where an unfinished run stands inside a stage, kept in the repository.

A run's progress lives in the cache (:func:`lrn.cache.cache_dir`) and :mod:`lrnbook.parking`
keeps a finished first stage of a -VGG run in the repository. A stage alone can take many
hours, though (a cut-out candidate's first stage takes about half an hour per epoch), and a
machine lost in the middle of one loses them all. So ``make train`` calls :func:`park_all`
when its fits stop and :func:`restore_all` before they start:

* :func:`park_all` copies the best epoch so far of every unfinished run into
  ``notebooks/runs/<profile>/parked/progress/<run>/`` (:func:`snapshot`): the weights of that
  epoch without optimiser state, thinned and in half precision as
  :func:`lrnbook.parking.thin` writes them (a frozen ImageNet encoder costs nothing), the
  plateau state and logs cut at that epoch, the first stage's end when the run is in its
  second, and the run's ``stints.json``. A park is written only when the hours of training it
  would save are worth its size (:data:`MB_PER_HOUR`) and all parks of the repository's
  history stay under :data:`lrnbook.parking.HISTORY_LIMIT_BYTES`.
* :func:`restore_all` puts a park back (:func:`restore`) when the cache holds neither the
  finished model nor any backup of that run, and only for the model key the park was taken
  from: a run whose training code or settings changed starts afresh.

A restored run goes on from its best epoch so far: the epochs after it are trained again on
the same batches (they depend only on seed and epoch, :mod:`lrn.augment`), from weights
rounded to half precision and with a fresh Adam. The restore adds a line to the run's
``stints.json``, which the fit copies into the run's provenance. The module sits outside
every fit's key: parking and restoring change no stage's key.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from lrn.cache import BACKUPS, MODELS, cache_dir, sha256_file
from lrn.callbacks import BEST_WEIGHTS, PLATEAU_JSON, plateau_state
from lrnbook import parking
from lrnbook.run_backups import find_backups, stage_log  # noqa: F401 (callers use find_backups from here)

PROGRESS_JSON = "progress.json"
MB_PER_HOUR = 6.0
"""A park of S MB is written once it saves at least S / MB_PER_HOUR hours of training that no
earlier park of the same run holds: a decoder behind a frozen encoder (about 2.5 MB) after
under half an hour, a whole width-1 network (about 30 MB) after about five hours (two or three
stints). Training machines were lost with their caches twice in about fifteen stints,
each time with hours no park held (:mod:`lrnbook.lost_work` counts them); the rate trades the
hours at risk against the repository's 150 MB."""
STINTS = "stints.json"
TIMING = "train_seconds.json"
RUN_FILES = (STINTS, TIMING)
"""Files of the run folder a park copies as they are (when present)."""
METADATA = "training_metadata.json"
LATEST = "latest.weights.h5"


def progress_dir(runs: Path, run: str) -> Path:
    """Where the progress park of ``run`` lives, under a profile's runs folder."""
    return runs / "parked" / "progress" / run


def _kept_epochs(folder: Path) -> tuple[dict, int]:
    """A stage's plateau state and the epochs up to its best one (0 before any epoch)."""
    path = folder / PLATEAU_JSON
    if not path.is_file():
        return {}, 0
    saved = json.loads(path.read_text())
    state = plateau_state(saved["val_losses"], saved.get("patience"), saved.get("min_improvement", 0.0))
    return saved, state["best_epoch"] + 1


def _cut_plateau(saved: dict, kept: int) -> dict:
    losses = saved["val_losses"][:kept]
    return {"val_losses": losses, **plateau_state(losses, saved.get("patience"), saved.get("min_improvement", 0.0)),
            "patience": saved.get("patience"), "min_improvement": saved.get("min_improvement", 0.0),
            "monitor": saved.get("monitor", "val_loss")}


def snapshot(model_dir: Path, backups: Path, start: Path, dest: Path) -> dict | None:
    """Write the park of an unfinished run into ``dest`` (a new folder); ``None`` when there is
    nothing to park (no finished epoch yet).

    Parameters
    ----------
    model_dir : the run folder (``<cache>/models/<model key>``).
    backups : the run's backups (``<cache>/backups/<run key>``, :func:`find_backups`).
    start : the run's starting weights (:func:`lrnbook.parking.starting_weights`), against
        which the weights are thinned.
    dest : the folder to create.

    Returns the park's record (``progress.json``): model key, run key, ``stage`` and
    ``epochs`` (the epochs of that stage it holds, up to the best), ``logged`` (the epochs
    that stage had logged), ``hours`` (the training time of every epoch it holds),
    ``stage_hours`` (the same by stage: ``{"1": h1, "2": h2}``) and the sha256 of every file as
    :func:`restore` rebuilds it.
    """
    second = (backups / parking.STAGE1_DONE).is_file()
    stage = 2 if second else 1
    saved, kept = _kept_epochs(backups / f"stage{stage}")
    if kept == 0 and not second:
        return None
    dest.mkdir(parents=True)
    files, hours = {}, {}

    def weights(source: Path, name: str) -> None:
        files[name] = parking.arrays_sha256(parking.thin(source, start, dest / name))

    def text(name: str, content: str) -> None:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(content)
        files[name] = sha256_file(dest / name)

    if second:
        weights(backups / parking.STAGE1_DONE, f"backups/{parking.STAGE1_DONE}")
        stage1, _ = _kept_epochs(backups / "stage1")
        if stage1:
            text(f"backups/stage1/{PLATEAU_JSON}", json.dumps(stage1, indent=1) + "\n")
    if kept:
        weights(backups / f"stage{stage}" / BEST_WEIGHTS, f"backups/stage{stage}/{BEST_WEIGHTS}")
        text(f"backups/stage{stage}/{PLATEAU_JSON}", json.dumps(_cut_plateau(saved, kept), indent=1) + "\n")
    for number in range(1, stage + 1):
        log = stage_log(model_dir, number)
        if number == stage:
            # by position: a second stage's log may go on from the first stage's epoch count (Keras keeps
            # the initial epoch a resumed first stage set); the restored stage numbers its epochs from 0
            log = log.iloc[:kept].assign(epoch=range(kept))
        if len(log):
            text(f"history_stage{number}.csv", log.to_csv(index=False))
            hours[str(number)] = round(float(log["seconds"].sum()) / 3600, 3)
    for name in RUN_FILES:
        if (model_dir / name).is_file():
            text(name, (model_dir / name).read_text())
    record = {"model_key": model_dir.name, "run_key": backups.name, "stage": stage, "epochs": kept,
              "logged": len(saved.get("val_losses", [])), "hours": round(sum(hours.values()), 3),
              "stage_hours": hours, "half_precision": True, "files": files}
    (dest / PROGRESS_JSON).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


def read_record(park: Path) -> dict | None:
    path = park / PROGRESS_JSON
    return json.loads(path.read_text()) if path.is_file() else None


def applies(park: Path, model_dir: Path, backups_root: Path) -> bool:
    """Whether :func:`restore` would put ``park`` back (see there)."""
    record = read_record(park)
    if record is None:
        return False
    if record["model_key"] != model_dir.name:
        print(f"[lrnbook.progress_parks] {park} belongs to another model key ({record['model_key']}); not restored",
              file=sys.stderr)
        return False
    backups = backups_root / record["run_key"]
    return not (model_dir / "model.keras").is_file() and not (backups.exists() and any(backups.iterdir()))


def restore(park: Path, model_dir: Path, backups_root: Path, start: Path) -> bool:
    """Put a progress park back into the cache; ``False`` (nothing done) when it does not apply.

    It applies when the park was taken from this model key (``model_dir``'s name) and the
    cache holds neither the finished model nor any backup of the run. Every restored file is
    checked against the sha256 recorded when it was parked; the stage goes on from the epoch
    after its best (``training_metadata.json`` as ``keras.callbacks.BackupAndRestore``
    writes it), and ``stints.json`` gains a line saying so.
    """
    if not applies(park, model_dir, backups_root):
        return False
    record = read_record(park)
    backups = backups_root / record["run_key"]
    for name, digest in record["files"].items():
        source = park / name
        target = backups / name[len("backups/"):] if name.startswith("backups/") else model_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == ".h5":
            parking.thicken(source, start, target)
            got = parking.arrays_sha256(parking.datasets(target))
        else:
            shutil.copyfile(source, target)
            got = sha256_file(target)
        if got != digest:
            raise ValueError(f"{target}, restored from {source}, does not match the sha256 parked with it")
    stage, kept = record["stage"], record["epochs"]
    folder = backups / f"stage{stage}"
    if kept:
        shutil.copyfile(folder / BEST_WEIGHTS, folder / LATEST)
        (folder / METADATA).write_text(json.dumps({"epoch": kept, "batch": 0}))
    stints = json.loads((model_dir / STINTS).read_text()) if (model_dir / STINTS).is_file() else []
    note = {"started_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "seconds": 0.0,
            "epochs": 0, "sgemm_gflops": None, "stage1_from_park": stage == 2,
            "restored_from_progress_park": {"stage": stage, "epochs": kept, "logged": record["logged"],
                                            "half_precision": True, "fresh_optimizer": True}}
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / STINTS).write_text(json.dumps(stints + [note], indent=1) + "\n")
    print(f"[lrnbook.progress_parks] {model_dir.name}: stage {stage} restored from {park} at epoch {kept} of "
          f"{record['logged']} (weights in half precision, fresh optimiser)", file=sys.stderr, flush=True)
    return True


def hours_kept(record: dict, before: dict | None, stage_end: dict | None) -> float:
    """The hours of training in park ``record`` that the repository already keeps: those of the
    run's earlier progress park ``before``, or its whole first stage when the stage-end park
    ``stage_end`` (:func:`lrnbook.parking.parked_record`) of the same model holds it."""
    kept = before["hours"] if before else 0.0
    if stage_end and stage_end.get("model_key") == record["model_key"] and record["stage"] == 2:
        kept = max(kept, record.get("stage_hours", {}).get("1", 0.0))
    return kept


def worth_parking(size_bytes: int, new_hours: float) -> bool:
    """Whether a park of ``size_bytes`` saving ``new_hours`` of training no park holds is worth writing."""
    return new_hours > 0 and size_bytes <= new_hours * MB_PER_HOUR * 1e6


def fits(profile: str):
    """``(stage, model_dir, park folder)`` of every fit of ``profile`` that trains."""
    from lrnbook.plan import plan, runs_dir
    from lrnbook.stages import components, model_key

    for stage in plan(profile):
        if stage.kind == "fit" and not stage.settings.get("model_file"):
            model_dir = cache_dir() / MODELS / model_key(components(profile, stage))
            yield stage, model_dir, progress_dir(runs_dir(profile), stage.short)


def _start(stage, dest: Path) -> Path:
    from lrn import train
    from lrnbook import runner

    return parking.starting_weights(train.TrainConfig(**runner.imagenet_config(stage.settings)), dest)


def park_all(profile: str, repo: Path) -> list[str]:
    """Park every unfinished run of ``profile`` worth parking; remove parks of finished runs.

    Returns the names of the runs parked.
    """
    parked = []
    for stage, model_dir, dest in fits(profile):
        if (model_dir / "model.keras").is_file():
            if dest.exists():
                shutil.rmtree(dest)  # finished: nothing left to go on from
            continue
        if not model_dir.is_dir():
            continue
        backups = find_backups(model_dir, cache_dir() / BACKUPS)
        if backups is None:
            continue
        before = read_record(dest)
        before = before if before and before["model_key"] == model_dir.name else None
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
            record = snapshot(model_dir, backups, _start(stage, Path(tmp) / "start.weights.h5"), Path(tmp) / "park")
            if record is None:
                continue
            if before and (before["stage"], before["epochs"]) >= (record["stage"], record["epochs"]):
                continue
            size = sum(f.stat().st_size for f in (Path(tmp) / "park").rglob("*") if f.is_file())
            stage_end = parking.parked_record(dest.parent.parent / stage.short)
            new_hours = record["hours"] - hours_kept(record, before, stage_end)
            where = f"stage {record['stage']}, epoch {record['epochs']}"
            if not worth_parking(size, new_hours):
                print(f"[lrnbook.progress_parks] {stage.name} not parked yet ({where}): {size / 1e6:.1f} MB for "
                      f"{new_hours:.1f} new hours", file=sys.stderr, flush=True)
                continue
            total = parking.committed_bytes(repo) + size
            if total > parking.HISTORY_LIMIT_BYTES:
                print(f"[lrnbook.progress_parks] {stage.name} not parked: the parks of the repository's history would "
                      f"reach {total / 1e6:.0f} MB, over {parking.HISTORY_LIMIT_BYTES / 1e6:.0f} MB",
                      file=sys.stderr, flush=True)
                continue
            if dest.exists():
                shutil.rmtree(dest)
            shutil.move(str(Path(tmp) / "park"), dest)
        print(f"[lrnbook.progress_parks] {stage.name} parked at {where} ({size / 1e6:.1f} MB, "
              f"{record['hours']:.1f} hours) in {dest}", file=sys.stderr, flush=True)
        parked.append(stage.name)
    return parked


def restore_all(profile: str) -> list[str]:
    """Restore the progress park of every run of ``profile`` the cache has lost; returns their names."""
    restored = []
    for stage, model_dir, dest in fits(profile):
        if not applies(dest, model_dir, cache_dir() / BACKUPS):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            if restore(dest, model_dir, cache_dir() / BACKUPS, _start(stage, Path(tmp) / "start.weights.h5")):
                restored.append(stage.name)
    return restored


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lrnbook.progress_parks", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("park", "restore"))
    parser.add_argument("--profile", default="cpu")
    args = parser.parse_args(argv)
    if args.action == "park":
        from lrnbook.plan import REPO

        park_all(args.profile, REPO)
    else:
        restore_all(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
