"""The user cache of ``lrn``, its sub-folders, and the one sha256 helper every digest goes through.

The cache holds what is expensive or fetched: the EG1800 download, training backups,
trained models of the book's runs, TensorFlow Lite conversions, third-party weights. It is
``$LRN_CACHE`` when that is set, else the platform's user cache (``~/.cache/lrn`` on Linux).
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import pooch

BACKUPS = "backups"
"""Per-epoch training backups, by run key (:func:`lrn.train.train`)."""
MODELS = "models"
"""Trained models of the book's runs, by model key."""
TFLITE = "tflite"
"""TensorFlow Lite conversions of ``.keras`` models."""
VGG16 = "vgg16"
"""Converted ImageNet VGG-16 weights (:mod:`lrn.vgg_weights`)."""


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
    with open(path, "rb") as handle:
        return sha256_parts(iter(lambda: handle.read(1 << 20), b""))


def sha256_bytes(data: bytes) -> str:
    """sha256 (hex) of ``data``."""
    return sha256_parts([data])


def sha256_parts(parts: Iterable[bytes]) -> str:
    """sha256 (hex) of the concatenation of ``parts``, without joining them in memory."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def write_sha256_line(record: str | Path, digest: str, name: str) -> None:
    """Write ``record`` in ``sha256sum``'s format: ``<digest>  <name>``, the digest of the file ``name``.

    Beside a file ``x``, ``x.sha256`` records either ``x``'s own digest or the digest of the file
    ``x`` was made from (then ``name`` says which).
    """
    Path(record).write_text(f"{digest}  {name}\n")


def read_sha256_line(record: str | Path) -> tuple[str, str] | None:
    """``(digest, name)`` of a :func:`write_sha256_line` file, ``None`` when there is none."""
    record = Path(record)
    if not record.is_file():
        return None
    digest, _, name = record.read_text().strip().partition("  ")
    return digest, name


def sha256_text(text: str) -> str:
    """sha256 (hex) of ``text`` encoded as UTF-8."""
    return sha256_bytes(text.encode())
