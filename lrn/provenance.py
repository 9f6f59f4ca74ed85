"""Where a result came from: ``lrn`` version, git commit, seed, settings, data manifest.

Every file ``lrn`` writes as a result carries this record: per-image CSVs as ``#`` comment
lines at the top (``pandas.read_csv(path, comment="#")`` still reads them), summary JSONs
under the key ``"provenance"``, and saved ``.keras`` models as an extra member
``lrn_provenance.json`` of the archive (Keras ignores it when loading).
"""
from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
import zipfile
from pathlib import Path

import pandas as pd

import lrn

MODEL_MEMBER = "lrn_provenance.json"
CSV_PREFIX = "# lrn-provenance: "


def git_commit(path: Path | None = None) -> str:
    """The commit of the checkout holding ``lrn`` (``+dirty`` if it has changes), or ``"unknown"``."""
    where = path or Path(lrn.__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def record(seed=None, settings: dict | None = None, manifest_sha256: str | None = None) -> dict:
    """The provenance record of a result (a JSON-serialisable dict)."""
    import keras
    import tensorflow as tf

    return {
        "lrn_version": lrn.__version__,
        "git_commit": git_commit(),
        "seed": seed,
        "settings": settings or {},
        "data_manifest_sha256": manifest_sha256,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def write_csv(table: pd.DataFrame, path, provenance: dict) -> Path:
    """Write ``table`` to CSV with the provenance as a leading comment line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write(CSV_PREFIX + json.dumps(provenance, sort_keys=True) + "\n")
        table.to_csv(f, index=False)
    return path


def read_csv(path) -> tuple[pd.DataFrame, dict]:
    """Read a CSV written by :func:`write_csv`: ``(table, provenance)``."""
    with open(path) as f:
        first = f.readline()
    provenance = json.loads(first[len(CSV_PREFIX):]) if first.startswith(CSV_PREFIX) else {}
    return pd.read_csv(path, comment="#", dtype={"id": str}), provenance


def write_json(data: dict, path, provenance: dict) -> Path:
    """Write ``data`` plus ``{"provenance": ...}`` as indented JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**data, "provenance": provenance}, indent=2, sort_keys=True) + "\n")
    return path


def save_model(model, path, provenance: dict) -> Path:
    """``model.save(path)`` (a ``.keras`` file) with the provenance added to the archive."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(MODEL_MEMBER, json.dumps(provenance, indent=2, sort_keys=True))
    return path


def read_model_provenance(path) -> dict:
    """The provenance stored in a ``.keras`` file by :func:`save_model` (``{}`` if none)."""
    with zipfile.ZipFile(path) as archive:
        if MODEL_MEMBER not in archive.namelist():
            return {}
        return json.loads(archive.read(MODEL_MEMBER))
