"""Shared fixtures: where the real EG1800 mirror lives, small temporary folders."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """Folder holding ``eg1800/``: ``LRN_DATA`` if set, else ``../shared/data`` beside the repo."""
    env = os.environ.get("LRN_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def eg1800_root() -> Path:
    root = data_root()
    if not (root / "eg1800" / "trainlist.mat").exists():
        pytest.fail(f"EG1800 mirror not found under {root}; set LRN_DATA to the folder holding eg1800/")
    return root


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Tests never write into the user's cache (~/.cache/lrn: backups, TensorFlow Lite conversions)."""
    if "LRN_CACHE" not in os.environ:
        os.environ["LRN_CACHE"] = str(tmp_path_factory.mktemp("lrn_cache"))
    yield
