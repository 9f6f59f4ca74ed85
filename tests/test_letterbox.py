"""lrn.letterbox: a photo keeps its aspect ratio in the square input, and maps go back to the photo."""
import numpy as np
import pytest

from lrn import imageops, letterbox
from lrn.errors import InputError


def test_tall_photo_fills_the_height_and_is_centred():
    box = letterbox.fit_square(800, 600, 224)
    assert (box.inner_height, box.inner_width) == (224, 168)
    assert (box.top, box.left) == (0, 28)


def test_wide_and_odd_leftovers_go_to_the_far_pad():
    box = letterbox.fit_square(100, 301, 224)
    assert box.inner_width == 224 and box.inner_height == round(100 * 224 / 301) == 74
    assert box.top == (224 - 74) // 2 and box.left == 0


def test_a_square_photo_is_only_resized():
    photo = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    square, box = letterbox.letterbox_photo(photo, 32)
    assert (box.top, box.left, box.inner_height, box.inner_width) == (0, 0, 32, 32)
    np.testing.assert_array_equal(square, imageops.resize_photo(photo, 32))


def test_pad_is_the_fill_colour_and_background():
    photo = np.zeros((80, 40, 3), np.uint8)
    mask = np.ones((80, 40), bool)
    square, box = letterbox.letterbox_photo(photo, 64)
    padded = letterbox.letterbox_mask(mask, box)
    assert (square[:, :box.left] == letterbox.FILL).all() and (square[:, box.left + box.inner_width:] == letterbox.FILL).all()
    assert not padded[:, :box.left].any() and padded[box.inner].all()
    assert padded.sum() == box.inner_height * box.inner_width


def test_unletterbox_undoes_the_placement():
    """A map that is the letterboxed mask comes back as the photo's mask (up to resampling at the edge)."""
    yy, xx = np.mgrid[:300, :200]
    mask = (yy - 150) ** 2 / 100 ** 2 + (xx - 80) ** 2 / 60 ** 2 <= 1
    box = letterbox.fit_square(300, 200, 224)
    back = letterbox.unletterbox(letterbox.letterbox_mask(mask, box).astype(np.float32), box) > 0.5
    assert back.shape == mask.shape
    assert (back != mask).mean() < 0.01


def test_unletterbox_of_a_coarse_level_and_to_another_shape():
    box = letterbox.fit_square(800, 600, 224)
    coarse = np.zeros((7, 7), np.float32)
    coarse[:, 1:6] = 1.0  # the photo spans columns 28..196 of 224, i.e. 0.875..6.125 of 7
    out = letterbox.unletterbox(coarse, box, (224, 224))
    assert out.shape == (224, 224) and out.min() >= 0 and out.max() <= 1
    assert out[:, 112].min() == pytest.approx(1.0)


@pytest.mark.parametrize("args", [(0, 10, 224), (10, -1, 224), (10, 10, 0), (1.5, 10, 224)])
def test_bad_sizes_are_refused(args):
    with pytest.raises(InputError):
        letterbox.fit_square(*args)


def test_bad_inputs_are_refused():
    with pytest.raises(InputError, match="uint8"):
        letterbox.letterbox_photo(np.zeros((10, 10), np.uint8), 32)
    box = letterbox.fit_square(10, 20, 32)
    with pytest.raises(InputError, match="its photo was"):
        letterbox.letterbox_mask(np.zeros((20, 10), bool), box)
    with pytest.raises(InputError, match="square"):
        letterbox.unletterbox(np.zeros((7, 8)), box)
