"""The user cache of ``lrn`` and the one sha256 helper every cached file is checked with.

The cache holds what is expensive or fetched: the EG1800 download, training backups,
trained models of the book's runs, TensorFlow Lite conversions, third-party weights. It is
``$LRN_CACHE`` when that is set, else the platform's user cache (``~/.cache/lrn`` on Linux).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pooch


def cache_dir(override: str | Path | None = None) -> Path:
    """The cache folder: ``override``, else ``$LRN_CACHE``, else ``pooch.os_cache("lrn")``.

    The folder is not created here; callers create the subfolder they write.
    """
    if override is not None:
        return Path(override)
    env = os.environ.get("LRN_CACHE")
    return Path(env) if env else Path(pooch.os_cache("lrn"))


def sha256_file(path: str | Path) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """sha256 (hex) of ``data``."""
    return hashlib.sha256(data).hexdigest()
