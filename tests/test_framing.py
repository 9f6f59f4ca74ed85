"""lrn.framing: crops of one full-body photo from the head-and-torso box out to the whole frame."""
import numpy as np
import pytest

from lrn import framing
from lrn.data import ccp
from lrn.errors import InputError


def standing(shape=(400, 300)):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return ((yy - 65) ** 2 + (xx - 150) ** 2 <= 625) | ((yy >= 90) & (yy < 360) & (abs(xx - 150) <= 40))


def test_ends_are_the_head_torso_box_and_the_frame():
    mask = standing()
    first, middle, last = framing.windows(mask)
    assert first == ccp.head_torso_box(mask)
    assert last == (0, 0, 400, 300)
    top, left, h, w = middle
    assert 0 <= top <= first[0] and 0 <= left <= first[1]
    assert first[2] <= h <= 400 and first[3] <= w <= 300


def test_each_wider_framing_contains_the_narrower_one_and_shows_less_of_the_frame_as_person():
    mask = standing()
    boxes = framing.windows(mask, (0.0, 0.25, 0.5, 0.75, 1.0))
    shares = [framing.crop(mask, b).mean() for b in boxes]
    for (t0, l0, h0, w0), (t1, l1, h1, w1) in zip(boxes, boxes[1:]):
        assert t1 <= t0 and l1 <= l0 and t1 + h1 >= t0 + h0 and l1 + w1 >= l0 + w0
    assert shares == sorted(shares, reverse=True)


def test_out_of_range_framing_is_refused():
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        framing.windows(standing(), (1.5,))
    with pytest.raises(InputError, match="no person"):
        framing.windows(np.zeros((40, 30), bool))
