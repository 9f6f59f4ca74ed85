"""lrn.data.folder (your own photos and masks) and lrn.data.mask_from_cutout."""
import warnings

import numpy as np
import pytest
import scipy.io
from PIL import Image

from lrn.data import Split, folder, mask_from_cutout
from lrn.errors import InputError


def photo(h=48, w=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def left_half(h=48, w=64, fg=255):
    m = np.zeros((h, w), np.uint8)
    m[:, : w // 2] = fg
    return m


@pytest.fixture
def dirs(tmp_path):
    """Three photos with masks named in the three accepted ways."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    Image.fromarray(photo(seed=1)).save(images / "a.jpg")
    Image.fromarray(photo(seed=2)).save(images / "b.png")
    Image.fromarray(photo(seed=3)).save(images / "c.JPG")
    Image.fromarray(left_half()).save(masks / "a.png")
    Image.fromarray(left_half(fg=1)).save(masks / "b_mask.png")
    scipy.io.savemat(masks / "c_mask.mat", {"mask": left_half(fg=1)})
    return images, masks


def load(images, masks, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the clean case must not warn
        return folder(images, masks, **kw)


def test_pairs_by_stem(dirs):
    split = load(*dirs, size=64, name="mine")
    assert isinstance(split, Split) and split.name == "mine"
    assert split.ids == ["a", "b", "c"]
    assert split.images.shape == (3, 64, 64, 3) and split.images.dtype == np.uint8
    assert split.masks.shape == (3, 64, 64) and split.masks.dtype == bool
    assert split.masks[:, :, :32].all() and not split.masks[:, :, 32:].any()


def test_photos_resized_bilinear_ignoring_aspect(dirs):
    split = load(*dirs, size=32)
    expected = np.array(Image.fromarray(photo(seed=2)).resize((32, 32), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(split.images[1], expected)


def test_manifest_hash_follows_the_files(dirs):
    first = load(*dirs, size=32).manifest_sha256
    assert load(*dirs, size=64).manifest_sha256 == first  # files, not size
    Image.fromarray(left_half(fg=1)).save(dirs[1] / "a.png")  # same mask, different bytes
    assert load(*dirs, size=32).manifest_sha256 != first


def test_same_folder_for_photos_and_masks(tmp_path):
    Image.fromarray(photo()).save(tmp_path / "p.jpg")
    Image.fromarray(left_half()).save(tmp_path / "p_mask.png")
    split = load(tmp_path, tmp_path, size=32)
    assert split.ids == ["p"] and split.masks[0, :, :16].all()


def test_missing_mask_names_the_photo(dirs):
    (dirs[1] / "b_mask.png").unlink()
    with pytest.raises(InputError, match=r"no mask for photo .*b.png.*b_mask.png"):
        folder(*dirs, size=32)


def test_two_masks_for_one_photo(dirs):
    Image.fromarray(left_half()).save(dirs[1] / "a_mask.png")
    with pytest.raises(InputError, match=r"several masks for photo .*a.jpg"):
        folder(*dirs, size=32)


def test_missing_and_empty_folders(tmp_path, dirs):
    with pytest.raises(InputError, match="images folder not found: .*nowhere"):
        folder(tmp_path / "nowhere", dirs[1])
    with pytest.raises(InputError, match="masks folder not found: .*nomasks"):
        folder(dirs[0], tmp_path / "nomasks")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hi")
    with pytest.raises(InputError, match="images folder .*empty holds no photos"):
        folder(tmp_path / "empty", dirs[1])
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is not a folder"):
        folder(tmp_path / "file", dirs[1])


def test_unused_files_are_reported(dirs):
    (dirs[0] / "readme.txt").write_text("x")
    Image.fromarray(left_half()).save(dirs[1] / "orphan.png")
    with pytest.warns(UserWarning, match=r"not used .*readme.txt.*orphan.png|not used .*orphan.png.*readme.txt"):
        split = folder(*dirs, size=32)
    assert len(split) == 3


def test_mask_of_other_size_same_aspect_is_resized(dirs):
    Image.fromarray(left_half(96, 128)).save(dirs[1] / "a.png")
    split = load(*dirs, size=32)
    assert split.masks[0, :, :16].all() and not split.masks[0, :, 16:].any()


def test_mask_of_other_aspect_is_refused(dirs):
    Image.fromarray(left_half(64, 64)).save(dirs[1] / "a.png")
    with pytest.raises(InputError, match=r"a.png is 64x64 .* photo is 64x48"):
        folder(*dirs, size=32)


def test_non_binary_mask_warns(dirs):
    soft = left_half()
    soft[:, 40:] = 60
    Image.fromarray(soft).save(dirs[1] / "a.png")
    with pytest.warns(UserWarning, match="a.png is not binary"):
        split = folder(*dirs, size=64)
    assert split.masks[0, :, :32].all() and not split.masks[0, :, 32:].any()


@pytest.mark.parametrize("value,what", [(0, "no person"), (255, "all person")])
def test_uniform_masks_kept_with_warning(dirs, value, what):
    Image.fromarray(np.full((48, 64), value, np.uint8)).save(dirs[1] / "a.png")
    with pytest.warns(UserWarning, match=f"a.png \\({what}\\)"):
        split = folder(*dirs, size=32)
    assert split.masks[0].all() == bool(value) and split.masks[0].any() == bool(value)


def test_bad_photo_named(dirs):
    (dirs[0] / "b.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match=r"b.png"):
        folder(*dirs, size=32)
    Image.fromarray(photo(20, 64)).save(dirs[0] / "b.png")
    with pytest.raises(InputError, match=r"b.png is 64x20"):
        folder(*dirs, size=32)


def test_bad_mask_named(dirs):
    scipy.io.savemat(dirs[1] / "c_mask.mat", {"labels": left_half()})
    with pytest.raises(InputError, match=r"c_mask.mat has no variable 'mask'"):
        folder(*dirs, size=32)


@pytest.mark.parametrize("size", [0, 48, 225, "64"])
def test_bad_size(dirs, size):
    with pytest.raises(InputError, match=f"size={size!r}"):
        folder(*dirs, size=size)


# ----------------------------------------------------------------------------- cut-outs
def test_mask_from_cutout(tmp_path):
    alpha = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (40, 1))  # 0..252 left to right
    rgba = np.dstack([photo(40, 64), alpha])
    Image.fromarray(rgba).save(tmp_path / "cut.png")
    out = mask_from_cutout(tmp_path / "cut.png")
    assert out.dtype == bool and out.shape == (40, 64)
    np.testing.assert_array_equal(out, alpha >= 128)
    np.testing.assert_array_equal(mask_from_cutout(tmp_path / "cut.png", alpha_threshold=1), alpha >= 1)


def test_cutout_palette_with_transparency(tmp_path):
    p = Image.fromarray(left_half(fg=1)).convert("P")  # index 1 on the left, index 0 on the right
    p.save(tmp_path / "p.png", transparency=0)  # index 0 transparent
    out = mask_from_cutout(tmp_path / "p.png")
    assert out[:, :32].all() and not out[:, 32:].any()


def test_cutout_without_alpha_refused(tmp_path):
    Image.fromarray(photo()).save(tmp_path / "opaque.png")
    with pytest.raises(InputError, match="opaque.png has no alpha channel"):
        mask_from_cutout(tmp_path / "opaque.png")
    with pytest.raises(InputError, match="missing.png"):
        mask_from_cutout(tmp_path / "missing.png")


@pytest.mark.parametrize("bad", [0, 256, 0.5, None])
def test_cutout_bad_threshold(tmp_path, bad):
    with pytest.raises(InputError, match=f"alpha_threshold={bad!r}"):
        mask_from_cutout(tmp_path / "x.png", alpha_threshold=bad)
