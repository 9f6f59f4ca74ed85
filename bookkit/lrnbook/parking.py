"""Parked training progress: a -VGG run's backups kept in the repository between machines.

A -VGG fit takes longer than one working session on 2 cores, and every session starts on a
fresh machine whose cache (:func:`lrn.cache.cache_dir`) is empty. :func:`park` copies what a
resumed run needs from the cache into ``notebooks/runs/<profile>/parked/<run>/``:

* the stage backups (``stage<k>/latest.weights.h5`` + ``training_metadata.json``, written by
  ``keras.callbacks.BackupAndRestore`` after every epoch) and ``stage1_done.weights.h5``
  (without its optimiser state, which stage 2 never reads);
* the run folder's ``history_stage<k>.csv`` and ``train.log``;
* ``parked.json``: the model key and run key they belong to, the last finished epoch of
  each stage, and the sha256 of every restored file.

Weight files are stored *thinned*: a dataset equal, bit for bit, to the same dataset of the
run's starting weights (the ImageNet encoder while it is frozen) is left out and taken from
the starting weights again on :func:`unpark`, which rebuilds each file and checks its sha256
of datasets. So a stage-1 park holds the decoder and its optimiser state only, and the
ImageNet weights are never committed. Parked progress is used only by the run with the same
model key and run key, and only when the cache holds no backup of its own.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

PARKED_JSON = "parked.json"
TAKEN_ATTR = "lrnbook_parking_taken_from_start"
"""File attribute of a thinned weights file: the dataset paths left out (JSON list)."""

RUN_FILES = ("history_stage1.csv", "history_stage2.csv", "train.log")
BACKUP_FILES = ("stage1_done.weights.h5", "stage1/latest.weights.h5", "stage1/training_metadata.json",
                "stage2/latest.weights.h5", "stage2/training_metadata.json")


def datasets(path: Path) -> dict[str, np.ndarray]:
    """Every dataset of an HDF5 file by path."""
    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: found.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return found


def datasets_sha256(path: Path, without: str | None = None) -> str:
    """sha256 over the sorted dataset paths, dtypes, shapes and bytes of an HDF5 file
    (``without``: leaving out the datasets under that prefix)."""
    h = hashlib.sha256()
    for name, value in sorted(datasets(path).items()):
        if without and name.startswith(without):
            continue
        value = np.asarray(value)
        h.update(f"{name}:{value.dtype.str}:{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()


def _copy_structure(source: h5py.File, dest: h5py.File, keep) -> None:
    for key, value in source.attrs.items():
        dest.attrs[key] = value

    def visit(name, obj):
        if isinstance(obj, h5py.Group):
            group = dest.require_group(name)
            for key, value in obj.attrs.items():
                group.attrs[key] = value
        elif keep(name, obj):
            dest.create_dataset(name, data=obj[()])
            for key, value in obj.attrs.items():
                dest[name].attrs[key] = value

    source.visititems(visit)


OPTIMIZER = "optimizer/"
STATELESS = ("stage1_done.weights.h5",)
"""Weight files whose optimiser state is never read: stage 2 compiles a new Adam."""


def thin(weights: Path, start: Path, dest: Path, optimizer: bool = True) -> list[str]:
    """Write ``weights`` to ``dest`` without the datasets equal to ``start``'s (and, with
    ``optimizer=False``, without the optimiser's); returns the paths taken from ``start``."""
    reference = datasets(start)
    taken = []

    def keep(name, obj):
        if not optimizer and name.startswith(OPTIMIZER):
            return False
        value = obj[()]
        same = name in reference and np.asarray(reference[name]).dtype == np.asarray(value).dtype \
            and np.array_equal(reference[name], value)
        if same:
            taken.append(name)
        return not same

    dest.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(weights, "r") as source, h5py.File(dest, "w") as out:
        _copy_structure(source, out, keep)
        out.attrs[TAKEN_ATTR] = json.dumps(sorted(taken))
    return taken


def thicken(thinned: Path, start: Path, dest: Path) -> None:
    """Rebuild the full weights file that :func:`thin` made ``thinned`` from."""
    reference = datasets(start)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(thinned, "r") as source, h5py.File(dest, "w") as out:
        taken = json.loads(source.attrs[TAKEN_ATTR])
        _copy_structure(source, out, lambda name, obj: True)
        del out.attrs[TAKEN_ATTR]
        for name in taken:
            if name not in reference:
                raise ValueError(f"{thinned}: dataset {name} was taken from the starting weights, which lack it")
            out.create_dataset(name, data=reference[name])


def _sha256(path: Path) -> str:
    if path.suffix == ".h5":
        return datasets_sha256(path, without=OPTIMIZER if path.name in STATELESS else None)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def park(model_dir: Path, backups: Path, start: Path, dest: Path, run_key: str) -> dict:
    """Copy a run's progress from the cache into ``dest`` (replacing what was parked there).

    Parameters
    ----------
    model_dir : the run folder (``<cache>/models/<model key>``; its name is the model key).
    backups : ``<cache>/backups/<run key>`` (:func:`lrn.train.train`).
    start : the run's starting weights (:func:`starting_weights`).
    dest : ``notebooks/runs/<profile>/parked/<run>``.
    """
    with tempfile.TemporaryDirectory(dir=dest.parent if dest.parent.exists() else None) as tmp:
        staged = Path(tmp) / "parked"
        files = {}
        for name in BACKUP_FILES:
            source = backups / name
            if source.is_file():
                target = staged / "backups" / name
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.suffix == ".h5":
                    thin(source, start, target, optimizer=source.name not in STATELESS)
                else:
                    shutil.copyfile(source, target)
                files[f"backups/{name}"] = _sha256(source)
        for name in RUN_FILES:
            source = model_dir / name
            if source.is_file():
                staged.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, staged / name)
                files[name] = _sha256(source)
        if not files:
            raise FileNotFoundError(f"nothing to park: no backups in {backups} and no run files in {model_dir}")
        epochs = {}
        for stage in (1, 2):
            meta = backups / f"stage{stage}" / "training_metadata.json"
            if meta.is_file():
                epochs[f"stage{stage}"] = int(json.loads(meta.read_text())["epoch"])
        record = {"model_key": model_dir.name, "run_key": run_key, "stage1_done": (backups / BACKUP_FILES[0]).is_file(),
                  "finished_epochs": epochs, "files": files}
        (staged / PARKED_JSON).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), dest)
    return record


def unpark(parked: Path, model_dir: Path, backups: Path, start: Path, run_key: str) -> bool:
    """Put parked progress back into the cache; ``False`` (nothing done) when it does not apply.

    It applies when ``parked/parked.json`` names this model key and run key and the cache
    holds neither a finished model nor a backup of this run. Every restored file is checked
    against the sha256 recorded when it was parked.
    """
    record_path = parked / PARKED_JSON
    if not record_path.is_file():
        return False
    record = json.loads(record_path.read_text())
    if record["model_key"] != model_dir.name or record["run_key"] != run_key:
        print(f"[lrnbook.parking] {parked} belongs to another run (model {record['model_key']}, run "
              f"{record['run_key']}); training from the start", file=sys.stderr)
        return False
    if (model_dir / "model.keras").is_file() or (backups.exists() and any(backups.iterdir())):
        return False
    for name, digest in record["files"].items():
        source = parked / name
        target = backups / name[len("backups/"):] if name.startswith("backups/") else model_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == ".h5":
            thicken(source, start, target)
        else:
            shutil.copyfile(source, target)
        if _sha256(target) != digest:
            raise ValueError(f"{target}, restored from {source}, does not match the sha256 parked with it")
    print(f"[lrnbook.parking] resumed from {parked}: {record['finished_epochs']}", file=sys.stderr, flush=True)
    return True


def starting_weights(settings: dict, dest: Path) -> Path:
    """Save the starting weights of a fit's config (seeded build, ImageNet encoder) to ``dest``."""
    from lrn import train

    model = train.build(train.TrainConfig(**settings["config"]))
    model.save_weights(dest)
    return dest


def run_key(settings: dict) -> str:
    """The run key of a fit's settings (:func:`lrn.train.run_key`): it names its backups."""
    from lrn import data, train

    config = train.TrainConfig(**settings["config"])
    splits = data.eg1800(protocol=settings["protocol"], size=config.size, seed=settings["split_seed"])
    return train.run_key(config, splits.train, splits.val)
