"""lrn.data.synthetic, and the Split container it returns."""
import time

import numpy as np
import pytest

from lrn.data import Split, synthetic
from lrn.data.split import check_size
from lrn.errors import InputError


@pytest.fixture(scope="module")
def batch():
    return synthetic(64, size=224, seed=0)


def test_shapes_dtypes_ids(batch):
    assert isinstance(batch, Split) and batch.name == "synthetic" and len(batch) == 64
    assert batch.images.shape == (64, 224, 224, 3) and batch.images.dtype == np.uint8
    assert batch.masks.shape == (64, 224, 224) and batch.masks.dtype == bool
    assert batch.ids[:2] == ["syn00000", "syn00001"] and len(set(batch.ids)) == 64
    assert len(batch.manifest_sha256) == 64


def test_figures_are_head_and_torso(batch):
    fraction = batch.masks.mean(axis=(1, 2))
    assert fraction.min() > 0.1 and fraction.max() < 0.9
    assert batch.masks[:, -1, :].any(axis=1).all(), "torso must reach the bottom edge"
    assert not batch.masks[:, 0, :].all(axis=1).any(), "top row is never all person"
    # the head is narrower than the torso: the widest row is in the bottom half
    widest = batch.masks.sum(axis=2).argmax(axis=1)
    assert (widest >= 112).all()


def test_images_are_varied_and_busy(batch):
    inside = np.array([img[m].mean(axis=0) for img, m in zip(batch.images, batch.masks)])
    outside = np.array([img[~m].mean(axis=0) for img, m in zip(batch.images, batch.masks)])
    assert inside.std(axis=0).min() > 15 and outside.std(axis=0).min() > 15
    assert batch.images.reshape(64, -1, 3)[:, :, 0].std(axis=1).min() > 10  # not flat
    assert not np.array_equal(batch.images[0], batch.images[1])


def test_deterministic_and_prefix_stable(batch):
    again = synthetic(8, size=224, seed=0)
    np.testing.assert_array_equal(again.images, batch.images[:8])
    np.testing.assert_array_equal(again.masks, batch.masks[:8])
    other = synthetic(8, size=224, seed=1)
    assert not np.array_equal(other.masks, again.masks)
    assert other.manifest_sha256 != again.manifest_sha256


def test_fast_enough():
    start = time.process_time()
    synthetic(64, size=224, seed=3)
    assert time.process_time() - start < 2.5


def test_small_sizes():
    s = synthetic(3, size=32, seed=0)
    assert s.images.shape == (3, 32, 32, 3) and s.masks.any(axis=(1, 2)).all()


@pytest.mark.parametrize("kwargs,named", [
    ({"n": 0}, "n=0"), ({"n": 2.0}, "n=2.0"), ({"n": 2, "size": 100}, "size=100"),
    ({"n": 2, "size": 0}, "size=0"), ({"n": 2, "seed": -1}, "seed=-1"),
])
def test_bad_arguments(kwargs, named):
    with pytest.raises(InputError, match=named):
        synthetic(**kwargs)


# ----------------------------------------------------------------------------- Split
def small_split(n=4, s=32):
    ids = [f"i{k}" for k in range(n)]
    return Split("x", np.zeros((n, s, s, 3), np.uint8), np.zeros((n, s, s), bool), ids, "0" * 64)


def test_split_subset_and_len():
    split = small_split()
    split.images[2] = 9
    sub = split.subset([2, 0])
    assert len(sub) == 2 and sub.ids == ["i2", "i0"] and sub.name == "x"
    assert (sub.images[0] == 9).all() and sub.manifest_sha256 == split.manifest_sha256
    assert len(split.subset([])) == 0
    assert split.subset(np.array([1]), name="y").name == "y"
    with pytest.raises(InputError, match="index 4 out of range"):
        split.subset([4])
    with pytest.raises(InputError, match="duplicate ids"):
        split.subset([1, 1])


@pytest.mark.parametrize("change,named", [
    ({"images": np.zeros((4, 32, 32, 3), np.float32)}, "images have shape"),
    ({"images": np.zeros((4, 32, 32), np.uint8)}, "images have shape"),
    ({"masks": np.zeros((4, 32, 32), np.uint8)}, "masks have shape"),
    ({"masks": np.zeros((3, 32, 32), bool)}, "masks have shape"),
    ({"ids": ["a", "b"]}, "2 ids for 4 images"),
    ({"ids": ["a", "a", "b", "c"]}, "duplicate ids"),
    ({"manifest_sha256": "abc"}, "manifest_sha256='abc'"),
    ({"name": ""}, "name=''"),
])
def test_split_validation(change, named):
    base = small_split()
    fields = {"name": base.name, "images": base.images, "masks": base.masks, "ids": base.ids,
              "manifest_sha256": base.manifest_sha256, **change}
    with pytest.raises(InputError, match=named):
        Split(**fields)


@pytest.mark.parametrize("bad", [0, 31, 100, -32, 224.0, "224", None, True])
def test_check_size(bad):
    with pytest.raises(InputError, match="size=" + repr(bad).replace("(", r"\(")):
        check_size(bad)
    assert check_size(64) == 64 and check_size(np.int64(224)) == 224
