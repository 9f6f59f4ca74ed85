"""Parked progress: a finished first stage of a -VGG run, kept in the repository as insurance.

A run's progress lives in the cache (:func:`lrn.cache.cache_dir`), which a machine normally
keeps from one stint of training to the next. Should the machine be lost, a -VGG run would
start over; the end of its first stage (the decoder trained on the frozen ImageNet encoder)
is where much is at stake and the weights are small, so :func:`park` copies it into
``notebooks/runs/<profile>/parked/<run>/``:

* ``stage1_done.weights.h5``: the weights stage 2 starts from, *thinned* and in half
  precision: datasets equal, bit for bit, to the run's starting weights (the frozen ImageNet
  encoder) are left out and taken from the starting weights again on :func:`unpark`; the
  rest (the decoder) is stored as float16; the optimiser state, which stage 2 never reads
  (it compiles a new Adam), is dropped;
* ``history_stage1.csv`` and ``stage1/plateau.json``: the stage's log and plateau state;
* ``parked.json``: the model key and run key they belong to and the sha256 of every file as
  :func:`unpark` rebuilds it.

A run that goes on from a park starts stage 2 from the float16-rounded decoder, not from the
exact weights: :func:`unpark` says so and the fit records it in its provenance. All the parks
ever committed stay under :data:`HISTORY_LIMIT_BYTES` in the repository's history
(:func:`committed_bytes`); a park that would pass it is not written.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

from lrn.cache import sha256_file, sha256_parts

PARKED_JSON = "parked.json"
HISTORY_LIMIT_BYTES = 150_000_000
"""The most that parked progress may ever add to the repository's history, all runs together."""
STAGE1_DONE = "stage1_done.weights.h5"
BACKUP_FILES = (STAGE1_DONE, "stage1/plateau.json")
"""Files of ``<cache>/backups/<run key>/`` that a park keeps (relative paths)."""
RUN_FILES = ("history_stage1.csv",)
"""Files of the run folder ``<cache>/models/<model key>/`` that a park keeps."""
OPTIMIZER = "optimizer/"
TAKEN_ATTR = "lrnbook_parking_taken_from_start"
"""File attribute of a thinned weights file: the dataset paths left out (JSON list)."""
DTYPE_ATTR = "lrnbook_parking_dtype"
"""Dataset attribute of a dataset stored in half precision: its dtype in the run."""


def datasets(path: Path) -> dict[str, np.ndarray]:
    """Every dataset of an HDF5 file by path."""
    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: found.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return found


def arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over the sorted names, dtypes, shapes and bytes of arrays."""
    def parts():
        for name, value in sorted(arrays.items()):
            value = np.ascontiguousarray(value)
            yield f"{name}:{value.dtype.str}:{value.shape}".encode()
            yield value.tobytes()

    return sha256_parts(parts())


def _copy_groups(source: h5py.File, dest: h5py.File) -> None:
    for key, value in source.attrs.items():
        dest.attrs[key] = value
    source.visititems(lambda name, obj: _copy_attrs(obj, dest.require_group(name))
                      if isinstance(obj, h5py.Group) else None)


def _copy_attrs(source, dest) -> None:
    for key, value in source.attrs.items():
        dest.attrs[key] = value


def thin(weights: Path, start: Path, dest: Path) -> dict[str, np.ndarray]:
    """Write ``weights`` to ``dest`` without its optimiser state and the datasets equal to
    ``start``'s, float32 datasets as float16; returns the arrays :func:`thicken` will give back."""
    reference = datasets(start)
    restored, taken = {}, []
    dest.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(weights, "r") as source, h5py.File(dest, "w") as out:
        _copy_groups(source, out)

        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset) or name.startswith(OPTIMIZER):
                return
            value = obj[()]
            if name in reference and np.asarray(reference[name]).dtype == np.asarray(value).dtype \
                    and np.array_equal(reference[name], value):
                taken.append(name)
                restored[name] = np.asarray(value)
                return
            half = np.asarray(value).dtype == np.float32
            out.create_dataset(name, data=np.asarray(value, np.float16) if half else value)
            _copy_attrs(obj, out[name])
            if half:
                out[name].attrs[DTYPE_ATTR] = "float32"
            restored[name] = np.asarray(value, np.float16).astype(np.float32) if half else np.asarray(value)

        source.visititems(visit)
        out.attrs[TAKEN_ATTR] = json.dumps(sorted(taken))
    return restored


def thicken(thinned: Path, start: Path, dest: Path) -> None:
    """Rebuild a full weights file (without optimiser state) from :func:`thin`'s output."""
    reference = datasets(start)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(thinned, "r") as source, h5py.File(dest, "w") as out:
        _copy_groups(source, out)
        del out.attrs[TAKEN_ATTR]

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                dtype = obj.attrs.get(DTYPE_ATTR)
                out.create_dataset(name, data=obj[()].astype(dtype) if dtype else obj[()])
                _copy_attrs(obj, out[name])
                if dtype:
                    del out[name].attrs[DTYPE_ATTR]

        source.visititems(visit)
        for name in json.loads(source.attrs[TAKEN_ATTR]):
            if name not in reference:
                raise ValueError(f"{thinned}: dataset {name} was taken from the starting weights, which lack it")
            out.create_dataset(name, data=reference[name])


def committed_bytes(repo: Path) -> int:
    """Bytes of every file version under ``notebooks/runs/*/parked/`` in the history of ``repo``."""
    try:
        listing = subprocess.run(["git", "rev-list", "--all", "--objects", "--", "notebooks/runs"], cwd=repo,
                                 capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return 0  # not a git checkout: nothing was committed from here
    blobs = [line.split(" ", 1)[0] for line in listing.splitlines() if "/parked/" in line]
    if not blobs:
        return 0
    sizes = subprocess.run(["git", "cat-file", "--batch-check=%(objecttype) %(objectsize)"], cwd=repo,
                           input="\n".join(blobs) + "\n", capture_output=True, text=True, check=True).stdout
    return sum(int(size) for kind, size in (line.split() for line in sizes.splitlines()) if kind == "blob")


def park(model_dir: Path, backups: Path, start: Path, dest: Path, run_key: str, repo: Path) -> dict | None:
    """Copy a run's finished first stage from the cache into ``dest``; ``None`` when it is not parked.

    Nothing is parked before stage 1 is finished, or when the park would take the parks of the
    repository's history past :data:`HISTORY_LIMIT_BYTES` (a message says so).

    Parameters
    ----------
    model_dir : the run folder (``<cache>/models/<model key>``; its name is the model key).
    backups : ``<cache>/backups/<run key>`` (:func:`lrn.train.train`).
    start : the run's starting weights (:func:`starting_weights`).
    dest : ``notebooks/runs/<profile>/parked/<run>``.
    repo : the repository whose history the limit counts.
    """
    if not (backups / STAGE1_DONE).is_file():
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        staged = Path(tmp) / "parked"
        files = {}
        for name in BACKUP_FILES:
            source, target = backups / name, staged / "backups" / name
            if not source.is_file():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.suffix == ".h5":
                files[f"backups/{name}"] = arrays_sha256(thin(source, start, target))
            else:
                shutil.copyfile(source, target)
                files[f"backups/{name}"] = sha256_file(source)
        for name in RUN_FILES:
            if (model_dir / name).is_file():
                shutil.copyfile(model_dir / name, staged / name)
                files[name] = sha256_file(model_dir / name)
        record = {"model_key": model_dir.name, "run_key": run_key, "stage1_done": True, "half_precision": True,
                  "files": files}
        (staged / PARKED_JSON).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        size = sum(f.stat().st_size for f in staged.rglob("*") if f.is_file())
        before = committed_bytes(repo)
        if before + size > HISTORY_LIMIT_BYTES:
            print(f"[lrnbook.parking] not parked: {size / 1e6:.0f} MB would take the parks of the repository's "
                  f"history to {(before + size) / 1e6:.0f} MB, over {HISTORY_LIMIT_BYTES / 1e6:.0f} MB",
                  file=sys.stderr, flush=True)
            return None
        if dest.exists():
            shutil.rmtree(dest)
        shutil.move(str(staged), dest)
    print(f"[lrnbook.parking] stage 1 parked in {dest} ({size / 1e6:.1f} MB)", file=sys.stderr, flush=True)
    return record


def parked_record(parked: Path) -> dict | None:
    """The ``parked.json`` of a park folder, if any."""
    path = parked / PARKED_JSON
    return json.loads(path.read_text()) if path.is_file() else None


def unpark(parked: Path, model_dir: Path, backups: Path, start: Path, run_key: str) -> bool:
    """Put a parked first stage back into the cache; ``False`` (nothing done) when it does not apply.

    It applies when ``parked/parked.json`` names this model key and run key and the cache holds
    neither a finished model nor a backup of this run. Every restored file is checked against
    the sha256 recorded when it was parked.
    """
    record = parked_record(parked)
    if record is None:
        return False
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
            got = arrays_sha256(datasets(target))
        else:
            shutil.copyfile(source, target)
            got = sha256_file(target)
        if got != digest:
            raise ValueError(f"{target}, restored from {source}, does not match the sha256 parked with it")
    print(f"[lrnbook.parking] stage 1 restored from {parked} (decoder in half precision)", file=sys.stderr,
          flush=True)
    return True


def starting_weights(config, dest: Path) -> Path:
    """Save the starting weights of a :class:`lrn.train.TrainConfig` (seeded build, ImageNet encoder) to ``dest``."""
    from lrn import train  # TensorFlow only here: lrnbook.plan imports this module for its constants

    train.build(config).save_weights(dest)
    return dest
