"""Where the local data folder is: the ``root`` argument of a loader, else ``$LRN_DATA``.

The folder holds one sub-folder per data set (``eg1800/``, ``ccp/``); each loader decides
what happens when neither names it (EG1800 downloads into the cache, CCP cannot).
"""
from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "LRN_DATA"
"""The environment variable naming the data folder."""


def given_root(root: str | Path | None) -> tuple[Path, str] | None:
    """The data folder and a phrase saying where it came from (for messages), or ``None``.

    ``root`` if it is not ``None`` ("the root argument"), else ``$LRN_DATA`` if set and not
    empty ("the LRN_DATA environment variable"), else ``None``.
    """
    if root is not None:
        return Path(root), "the root argument"
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env), f"the {DATA_ENV} environment variable"
    return None
