"""Shared fixtures: the EG1800 data found as ``lrn`` finds it, a private cache.

The data are resolved in ``lrn``'s own order (:func:`lrn.data.eg1800.eg1800`): the
``LRN_DATA`` environment variable, else the user cache with its pinned, checked download
(:func:`lrn.data.download.fetch_eg1800`). Where none is reachable the data tests are
skipped with :data:`NO_DATA` in the reason; ``.ci/run`` turns such a skip into a failure.
"""
import os
from pathlib import Path

import pytest

from lrn.data.download import fetch_eg1800
from lrn.errors import InputError

REPO = Path(__file__).resolve().parents[1]
NO_DATA = "EG1800 data not found"
_USER_CACHE = os.environ.get("LRN_CACHE")  # before the private cache below replaces it


def find_data_root() -> tuple[Path | None, str]:
    """The folder holding ``eg1800/`` and where it came from, or ``None`` and why not."""
    env = os.environ.get("LRN_DATA")
    if env:
        root = Path(env)
        if (root / "eg1800" / "trainlist.mat").is_file():
            return root, "LRN_DATA"
        return None, f"LRN_DATA={env} holds no eg1800/trainlist.mat"
    try:
        return fetch_eg1800(cache_dir=_USER_CACHE), "the lrn cache"
    except InputError as error:
        return None, str(error).splitlines()[0]


@pytest.fixture(scope="session")
def eg1800_root() -> Path:
    root, why = find_data_root()
    if root is None:
        pytest.skip(f"{NO_DATA}: {why}")
    return root


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Tests never write into the user's cache (~/.cache/lrn: backups, TensorFlow Lite conversions)."""
    if "LRN_CACHE" not in os.environ:
        os.environ["LRN_CACHE"] = str(tmp_path_factory.mktemp("lrn_cache"))
    yield


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The folder holding CCP's mirror (``LRN_DATA``); the test is skipped without it."""
    root = Path(os.environ.get("LRN_DATA", "."))
    if not (root / "ccp" / "label_list.mat").exists():
        pytest.skip(f"CCP mirror not found under {root}: set LRN_DATA to a folder holding ccp/")
    return root


def decisive_lrn(input_shape=(64, 64, 3), width=0.125, gain=20.0, seed=0):
    """A small LRN with seeded random weights whose finest map is decisive: the s6 layer's
    kernel and bias are scaled by ``gain``, so that few pixels lie near 0.5, where a rounding
    of the weights (half precision, int8) could flip them. For tests that compare a model
    with a lower-precision copy of itself."""
    import keras

    from lrn import models

    keras.utils.set_random_seed(seed)
    model = models.build_lrn(input_shape, width=width)
    layer = model.get_layer("s6")
    layer.set_weights([w * gain for w in layer.get_weights()])
    return model
