"""The guided filter: edges of a coarse map snap to the photo's edges."""
import numpy as np
import pytest
from scipy import ndimage

from lrn import refine
from lrn.errors import InputError


def step_photo(h=120, w=160, at=80):
    photo = np.full((h, w, 3), 30, np.uint8)
    photo[:, at:] = 220
    return photo


def edge(prob, row=60):
    return int(np.argmax(prob[row] > 0.5))


def test_a_misplaced_soft_edge_moves_to_the_photo_edge():
    photo = step_photo()
    xx = np.mgrid[:120, :160][1]
    prob = ndimage.gaussian_filter((xx >= 86).astype(np.float32), 3)  # 6 px off, blurred
    out = refine.guided_filter(photo, prob, radius=16, eps=1e-3)
    assert out.shape == prob.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert edge(prob) == 86 and abs(edge(out) - 80) <= 2


def test_flat_maps_stay_flat_and_subsampling_stays_close():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    np.testing.assert_allclose(refine.guided_filter(photo, np.full((64, 48), 0.3, np.float32), 4), 0.3, atol=1e-4)
    xx = np.mgrid[:120, :160][1]
    prob = ndimage.gaussian_filter((xx >= 84).astype(np.float32), 3)
    exact = refine.guided_filter(step_photo(), prob, 16, 1e-3)
    fast = refine.guided_filter(step_photo(), prob, 16, 1e-3, subsample=4)
    assert np.abs(fast - exact).mean() < 0.01 and abs(edge(fast) - edge(exact)) <= 1


def test_the_cofactor_solve_matches_numpy():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(5, 4, 3, 3))
    m = m @ np.swapaxes(m, -1, -2) + np.eye(3)
    v = rng.normal(size=(5, 4, 3))
    np.testing.assert_allclose(refine._solve_symmetric3(m, v), np.linalg.solve(m, v[..., None])[..., 0], rtol=1e-6)


@pytest.mark.parametrize("kwargs, needle", [({"radius": 0}, "radius > 0"), ({"eps": 0.0}, "eps > 0"),
                                            ({"subsample": 0}, "subsample")])
def test_bad_settings_are_named(kwargs, needle):
    photo = step_photo()
    with pytest.raises(InputError, match=needle):
        refine.guided_filter(photo, np.zeros(photo.shape[:2], np.float32), **{"radius": 4, **kwargs})
    with pytest.raises(InputError, match="does not match"):
        refine.guided_filter(photo, np.zeros((3, 3), np.float32))
