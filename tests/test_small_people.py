"""lrn.data.small_people: a person cut out, scaled down and pasted onto another photo's background."""

import numpy as np
import pytest

from lrn.data import ccp
from lrn.data import small_people as sp
from lrn.errors import InputError


def street(seed, person_cols=(200, 320), rows=830, cols=550):
    """A fake CCP photo: a noisy street, a red standing person in the given columns."""
    rng = np.random.default_rng(seed)
    photo = rng.integers(0, 120, (rows, cols, 3), dtype=np.uint8)
    mask = np.zeros((rows, cols), bool)
    mask[200:800, person_cols[0]:person_cols[1]] = True
    photo[mask] = (230, 20, 20)
    return photo, mask


def test_the_background_loses_exactly_the_columns_of_its_person():
    photo, mask = street(0)
    background = sp.background_without_person(photo, mask, margin=10)
    assert background.shape == (830, 550 - (120 + 20), 3)
    assert not (background == (230, 20, 20)).all(axis=-1).any()  # no red person left
    with pytest.raises(InputError, match="no person"):
        sp.background_without_person(photo, np.zeros_like(mask))


def test_a_pasted_person_covers_the_asked_share_and_its_truth_is_where_it_is():
    rng = np.random.default_rng(1)
    background = np.full((640, 480, 3), 50, np.uint8)
    person, person_mask = sp.cut_person(*street(2))
    photo, truth = sp.paste(background, person, person_mask, 0.03, rng)
    assert truth.shape == (640, 480) and abs(truth.mean() - 0.03) < 0.003
    red = (photo[..., 0] > 200) & (photo[..., 1] < 60)
    assert (red == truth).mean() > 0.995  # the truth is the pasted person, pixel for pixel but the rim
    rows = np.flatnonzero(truth.any(axis=1))
    assert rows[-1] >= 640 // 2 - 1  # feet in the lower half


def test_made_sets_are_deterministic_small_and_never_paste_a_person_on_its_own_photo():
    pairs = [street(k, person_cols=(150 + 10 * k, 300 + 10 * k)) for k in range(5)]
    ids = [f"{k:04d}" for k in range(5)]
    made = sp.make(pairs, ids, n=8, seed=3)
    again = sp.make(pairs, ids, n=8, seed=3)
    assert made.ids == again.ids and all(np.array_equal(a[0], b[0]) for a, b in zip(made.pairs, again.pairs))
    assert len(made) == 8 and all(p.shape == (640, 480, 3) and m.shape == (640, 480) for p, m in made.pairs)
    assert all(person != background for person, background in (i.split("@") for i in made.ids))
    low, high = sp.AREA_RANGE
    assert all(0.8 * low < a < 1.2 * high for a in made.areas) and max(made.areas) < 0.2
    assert sp.make(pairs, ids, n=8, seed=4).ids != made.ids
    with pytest.raises(InputError, match="two photos"):
        sp.make(pairs[:1], ids[:1], n=1, seed=0)
    every = sp.make(pairs, ids, n=20, seed=0)  # 5 backgrounds x 4 other persons: each pair once
    assert len(set(every.ids)) == 20
    with pytest.raises(InputError, match="more photos than"):
        sp.make(pairs, ids, n=21, seed=0)


def test_the_real_validation_set_comes_from_ccp_validation_photos_only(mirror):
    made = sp.small_people("val", n=10, seed=0, root=mirror)
    val = set(ccp.split_ids(ccp.manifest_ids())["val"])
    assert len(made) == 10 and all(set(i.split("@")) <= val for i in made.ids)
    assert all(0 < a < 0.2 for a in made.areas)
    with pytest.raises(InputError, match="split"):
        sp.small_people("validation", root=mirror)
