"""lrn.cutout_model: a network with its feed and cleaning, and the facts the CLI and the book share."""
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from lrn import cutout
from lrn.cutout_model import DEFAULT_FEED, FEEDS, SOFT_EDGE, CutoutModel, check_feed
from lrn.errors import InputError


class LiteLike:
    """What CutoutModel needs of an lrn.lite.LiteModel: input_size and a forward."""

    input_size = (16, 16)

    def __call__(self, x):
        return np.full((1, 16, 16, 1), 0.25, np.float32)


class KerasLike:
    """What CutoutModel needs of a keras.Model: its input shape and predict_on_batch (six outputs)."""

    input = SimpleNamespace(shape=(None, 32, 24, 3))

    def predict_on_batch(self, x):
        return [np.zeros((1, 4, 3, 1))] * 5 + [np.full((1, 32, 24, 1), 0.75, np.float32)]


def test_feeds_and_their_check():
    assert set(FEEDS) == {"pad", "squash"} and DEFAULT_FEED in FEEDS and 0 <= SOFT_EDGE[0] < SOFT_EDGE[1] <= 1
    assert check_feed("pad") == "pad"
    with pytest.raises(InputError, match="feed='stretch'"):
        check_feed("stretch")
    with pytest.raises(InputError, match="feed="):
        CutoutModel(LiteLike(), feed="stretch")


def test_a_cutout_model_knows_its_size_and_runs_either_network():
    lite_model, keras_model = CutoutModel(LiteLike()), CutoutModel(KerasLike(), "pad", clean=False)
    assert lite_model.input_size == (16, 16) and keras_model.input_size == (32, 24)
    x = np.zeros((1, 16, 16, 3), np.float32)
    assert float(lite_model(x).max()) == 0.25
    assert keras_model(x).shape == (1, 32, 24, 1) and float(keras_model(x).max()) == 0.75, "the finest output"
    assert (lite_model.feed, lite_model.clean) == (DEFAULT_FEED, True)


def test_segment_and_cut_out_read_feed_and_cleaning_from_the_model(monkeypatch):
    bare = LiteLike()
    assert cutout.as_cutout_model(bare).feed == DEFAULT_FEED
    carried = CutoutModel(bare, "pad", clean=False)
    assert cutout.as_cutout_model(carried) is carried
    assert cutout.as_cutout_model(carried, "squash").feed == "squash" and carried.feed == "pad"
    seen = []
    monkeypatch.setattr(cutout, "clean_probability", lambda prob: seen.append("cleaned") or prob)
    photo = np.zeros((20, 10, 3), np.uint8)
    cutout.cut_out(carried, photo, refinement=None)
    assert seen == [], "the model says: raw"
    cutout.cut_out(CutoutModel(bare), photo, refinement=None)
    assert seen == ["cleaned"], "a model that says nothing is cleaned"
    assert cutout.segment(carried, photo).shape == (20, 10)


def test_the_cli_reads_these_facts_without_importing_numpy():
    code = "import sys, lrn.cli; print('numpy' in sys.modules, 'tensorflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "False"], done.stderr
