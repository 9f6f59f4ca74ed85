"""lrn.imageops: reading photos and masks, every bad input, and the three resizers."""
import io
import warnings

import numpy as np
import pytest
import scipy.io
from PIL import Image

from lrn import imageops
from lrn.errors import InputError


def rgb(h=48, w=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def save(arr, path, **kw):
    Image.fromarray(arr).save(path, **kw)
    return path


def save_mat(path, **variables):
    scipy.io.savemat(path, variables)
    return path


# ----------------------------------------------------------------------------- read_photo
def test_rgb_png_round_trip(tmp_path):
    img = rgb()
    out = imageops.read_photo(save(img, tmp_path / "a.png"))
    assert out.dtype == np.uint8 and out.shape == (48, 64, 3)
    np.testing.assert_array_equal(out, img)


def test_greyscale_photo_becomes_rgb(tmp_path):
    grey = rgb()[:, :, 0]
    out = imageops.read_photo(save(grey, tmp_path / "g.png"))
    assert out.shape == (48, 64, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], grey)


def test_greyscale_with_alpha_and_palette_and_bilevel(tmp_path):
    grey = rgb()[:, :, 0]
    la = Image.fromarray(np.dstack([grey, np.full_like(grey, 7)]), "LA")
    la.save(tmp_path / "la.png")
    np.testing.assert_array_equal(imageops.read_photo(tmp_path / "la.png")[:, :, 1], grey)

    img = rgb()
    Image.fromarray(img).quantize(16).save(tmp_path / "p.png")
    expected = np.array(Image.open(tmp_path / "p.png").convert("RGB"))
    out = imageops.read_photo(tmp_path / "p.png")
    np.testing.assert_array_equal(out, expected)

    Image.fromarray(grey > 128).save(tmp_path / "bw.png")
    out = imageops.read_photo(tmp_path / "bw.png")
    assert set(np.unique(out)) <= {0, 255}


def test_rgba_alpha_is_dropped_colour_kept(tmp_path):
    img = rgb()
    rgba = np.dstack([img, np.zeros(img.shape[:2], np.uint8)])  # fully transparent
    out = imageops.read_photo(save(rgba, tmp_path / "t.png"))
    np.testing.assert_array_equal(out, img)


def test_16bit_greyscale_is_scaled_not_clipped(tmp_path):
    values = np.zeros((40, 40), np.uint16)
    values[:, :10], values[:, 10:20], values[:, 20:30] = 65535, 257 * 100, 1000
    path = save(values, tmp_path / "deep.png")
    assert Image.open(path).mode.startswith("I")
    out = imageops.read_photo(path)
    assert out.dtype == np.uint8
    assert out[0, 0, 0] == 255 and out[0, 15, 1] == 100 and out[0, 25, 2] == 4 and out[0, 35, 0] == 0


def test_float_photo_refused(tmp_path):
    path = tmp_path / "f.tif"
    Image.fromarray(np.ones((40, 40), np.float32)).save(path)
    with pytest.raises(InputError, match="f.tif.*floating-point"):
        imageops.read_photo(path)


def test_extension_lying_about_format_still_decodes(tmp_path):
    img = rgb()
    save(img, tmp_path / "really_a_jpeg.png", format="JPEG", quality=95)
    save(img, tmp_path / "same.jpg", format="JPEG", quality=95)
    np.testing.assert_array_equal(imageops.read_photo(tmp_path / "really_a_jpeg.png"),
                                  imageops.read_photo(tmp_path / "same.jpg"))


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found.*nope.jpg"):
        imageops.read_photo(tmp_path / "nope.jpg")


def test_folder_instead_of_file(tmp_path):
    (tmp_path / "dir.jpg").mkdir()
    with pytest.raises(InputError, match="dir.jpg is not a file"):
        imageops.read_photo(tmp_path / "dir.jpg")


def test_empty_file(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(InputError, match="empty.jpg is empty"):
        imageops.read_photo(tmp_path / "empty.jpg")


def test_unreadable_garbage(tmp_path):
    (tmp_path / "junk.jpg").write_bytes(b"this is not an image at all" * 10)
    with pytest.raises(InputError, match="cannot decode photo .*junk.jpg: cannot identify image file;") as error:
        imageops.read_photo(tmp_path / "junk.jpg")
    assert "<_io." not in str(error.value)  # Pillow names the in-memory buffer: noise to the user


@pytest.mark.parametrize("fmt,suffix", [("JPEG", ".jpg"), ("PNG", ".png")])
def test_truncated_file(tmp_path, fmt, suffix):
    buf = io.BytesIO()
    Image.fromarray(rgb(200, 200)).save(buf, format=fmt)
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(InputError, match=f"cut{suffix}"):
        imageops.read_photo(path)


@pytest.mark.parametrize("h,w", [(31, 64), (64, 31), (10, 10)])
def test_too_small_photo(tmp_path, h, w):
    path = save(rgb(h, w), tmp_path / "tiny.png")
    with pytest.raises(InputError, match=rf"tiny.png is {w}x{h} .*at least 32"):
        imageops.read_photo(path)


def test_smallest_accepted_photo(tmp_path):
    assert imageops.read_photo(save(rgb(32, 32), tmp_path / "ok.png")).shape == (32, 32, 3)


def test_photo_from_given_bytes_names_path_in_errors(tmp_path):
    with pytest.raises(InputError, match="cannot decode photo some/name.jpg"):
        imageops.read_photo("some/name.jpg", b"garbage")


# ----------------------------------------------------------------------------- read_mask
def half_mask(h=48, w=64):
    m = np.zeros((h, w), np.uint8)
    m[:, : w // 2] = 1
    return m


def test_mat_mask(tmp_path):
    path = save_mat(tmp_path / "m_mask.mat", mask=half_mask())
    out = imageops.read_mask(path)
    assert out.dtype == bool and out.shape == (48, 64)
    np.testing.assert_array_equal(out, half_mask() == 1)


def test_mat_mask_double_and_int32_0_255(tmp_path):
    np.testing.assert_array_equal(
        imageops.read_mask(save_mat(tmp_path / "d.mat", mask=half_mask().astype(float))), half_mask() == 1
    )
    np.testing.assert_array_equal(
        imageops.read_mask(save_mat(tmp_path / "i.mat", mask=half_mask().astype(np.int32) * 255)), half_mask() == 1
    )


def test_mat_without_mask_key(tmp_path):
    path = save_mat(tmp_path / "nokey.mat", seg=half_mask())
    with pytest.raises(InputError, match=r"nokey.mat has no variable 'mask' \(found: \['seg'\]\)"):
        imageops.read_mask(path)


def test_mat_unreadable(tmp_path):
    (tmp_path / "bad.mat").write_bytes(b"MATLAB 5.0 MAT-file nonsense" + bytes(200))
    with pytest.raises(InputError, match="bad.mat"):
        imageops.read_mask(tmp_path / "bad.mat")


@pytest.mark.parametrize(
    "values,match",
    [
        (np.zeros((4, 4, 3)), "shape"),
        (np.full((40, 40), np.nan), "NaN"),
        (-np.ones((40, 40), np.int32), "integer values -1"),
    ],
)
def test_mat_bad_values(tmp_path, values, match):
    path = save_mat(tmp_path / "weird.mat", mask=values)
    with pytest.raises(InputError, match=f"weird.mat.*{match}|{match}.*weird.mat"):
        imageops.read_mask(path)


@pytest.mark.parametrize("fg", [1, 255])
def test_png_mask_binary_values_taken_as_is(tmp_path, fg):
    path = save(half_mask() * fg, tmp_path / "m.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(imageops.read_mask(path), half_mask() == 1)


def test_16bit_mask(tmp_path):
    path = save(half_mask().astype(np.uint16) * 65535, tmp_path / "m16.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(imageops.read_mask(path), half_mask() == 1)


def test_bilevel_mask(tmp_path):
    path = tmp_path / "bw.png"
    Image.fromarray(half_mask() == 1).save(path)
    np.testing.assert_array_equal(imageops.read_mask(path), half_mask() == 1)


def test_non_binary_mask_warns_and_thresholds(tmp_path):
    values = np.zeros((40, 40), np.uint8)
    values[:, 10:20], values[:, 20:30], values[:, 30:] = 100, 128, 255
    path = save(values, tmp_path / "soft.png")
    with pytest.warns(UserWarning, match=r"soft.png is not binary .*> 127"):
        out = imageops.read_mask(path)
    np.testing.assert_array_equal(out, values > 127)


def test_non_binary_16bit_and_float_masks(tmp_path):
    v16 = np.array([[0, 1000, 40000, 65535]] * 40, np.uint16).repeat(10, axis=1)
    with pytest.warns(UserWarning, match=r"m16.png .*> 32767"):
        out = imageops.read_mask(save(v16, tmp_path / "m16.png"))
    np.testing.assert_array_equal(out, v16 > 32767)
    vf = np.array([[0.0, 0.2, 0.7, 1.0]] * 4)
    with pytest.warns(UserWarning, match=r"f.mat .*> 0.5"):
        out = imageops.read_mask(save_mat(tmp_path / "f.mat", mask=vf))
    np.testing.assert_array_equal(out, vf > 0.5)


def test_colour_mask_uses_brightest_channel(tmp_path):
    red = np.zeros((40, 40, 3), np.uint8)
    red[:20, :, 0] = 255  # pure red person on black: luminance would be 76
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = imageops.read_mask(save(red, tmp_path / "red.png"))
    assert out[:20].all() and not out[20:].any()


@pytest.mark.filterwarnings("error")
def test_uniform_masks_are_returned_as_read(tmp_path):
    assert not imageops.read_mask(save(np.zeros((40, 40), np.uint8), tmp_path / "z.png")).any()
    assert imageops.read_mask(save(np.full((40, 40), 255, np.uint8), tmp_path / "o.png")).all()
    assert imageops.read_mask(save_mat(tmp_path / "o.mat", mask=np.ones((40, 40), np.uint8))).all()


def test_mask_missing_and_corrupt(tmp_path):
    with pytest.raises(InputError, match="gone_mask.png"):
        imageops.read_mask(tmp_path / "gone_mask.png")
    (tmp_path / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(50))
    with pytest.raises(InputError, match="cannot decode mask .*c.png"):
        imageops.read_mask(tmp_path / "c.png")


# ----------------------------------------------------------------------------- resizing
def test_resize_photo_shapes_and_checks():
    img = rgb(100, 80)
    assert imageops.resize_photo(img, 64).shape == (64, 64, 3)
    out = imageops.resize_photo(img, (32, 96))
    assert out.shape == (32, 96, 3) and out.dtype == np.uint8
    same = imageops.resize_photo(img, (100, 80))
    np.testing.assert_array_equal(same, img)
    assert same is not img
    flat = np.full((100, 80, 3), 77, np.uint8)
    np.testing.assert_array_equal(imageops.resize_photo(flat, 224), 77)
    with pytest.raises(InputError, match="float64"):
        imageops.resize_photo(img.astype(float), 64)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "224", (10,), (10, 0), True])
def test_bad_sizes_named(bad):
    with pytest.raises(InputError, match="size=" + repr(bad).replace("(", r"\(").replace(")", r"\)")):
        imageops.resize_photo(rgb(), bad)


def test_resize_mask_nearest_keeps_blocks():
    m = np.array([[True, False], [False, True]])
    out = imageops.resize_mask(m, 4)
    assert out.dtype == bool
    np.testing.assert_array_equal(out, np.kron(m, np.ones((2, 2), bool)))
    np.testing.assert_array_equal(imageops.resize_mask(out, 2), m)
    with pytest.raises(InputError, match="expected bool"):
        imageops.resize_mask(m.astype(np.uint8), 4)


def test_resize_prob_upsamples_7_to_224_and_any_size():
    prob = np.random.default_rng(0).uniform(size=(7, 7)).astype(np.float32)
    out = imageops.resize_prob(prob, (224, 224))
    assert out.dtype == np.float32 and out.shape == (224, 224)
    assert prob.min() - 1e-6 <= out.min() and out.max() <= prob.max() + 1e-6
    # pixel centres aligned: each 32x32 block's centre pair averages to about the source value
    np.testing.assert_allclose(out[15:17, 15:17].mean(), prob[0, 0], atol=0.02)
    assert imageops.resize_prob(prob[:, :, None], 9).shape == (9, 9)
    assert imageops.resize_prob(np.ones((224, 224)), (13, 31)).shape == (13, 31)
    np.testing.assert_allclose(imageops.resize_prob(np.full((5, 3), 0.25), (50, 70)), 0.25, atol=1e-6)


def test_resize_prob_is_bilinear_with_half_pixel_centres():
    out = imageops.resize_prob(np.array([[0.0, 1.0]]), (1, 4))
    np.testing.assert_allclose(out[0], [0.0, 0.25, 0.75, 1.0], atol=1e-6)


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 2)), np.zeros((0, 3)), np.array([[np.nan, 0.0]]), np.zeros(5)])
def test_resize_prob_bad_input(bad):
    with pytest.raises(InputError, match="probability map"):
        imageops.resize_prob(bad, 8)


# ----------------------------------------------------------------------------- match_mask_to_photo
def test_match_same_size_is_unchanged():
    m = half_mask() == 1
    assert imageops.match_mask_to_photo(m, (48, 64, 3), "m.png") is m


@pytest.mark.parametrize("shape", [(24, 32), (96, 128), (48, 65)])  # last: 1.6 % off, within tolerance
def test_match_same_aspect_is_resized(shape):
    m = imageops.resize_mask(half_mask() == 1, shape)
    out = imageops.match_mask_to_photo(m, (48, 64), "m.png")
    assert out.shape == (48, 64) and out.dtype == bool
    assert out[:, :30].all() and not out[:, 34:].any()


def test_match_other_aspect_refused():
    with pytest.raises(InputError, match=r"mask /x/m_mask.png is 64x64 .* photo is 64x48"):
        imageops.match_mask_to_photo(np.zeros((64, 64), bool), (48, 64, 3), "/x/m_mask.png")
    with pytest.raises(InputError, match="66x48 .*3.1%"):  # just outside the 2 % tolerance
        imageops.match_mask_to_photo(np.zeros((48, 66), bool), (48, 64, 3), "m.png")
    with pytest.raises(InputError, match="600x800"):  # transposed
        imageops.match_mask_to_photo(np.zeros((600, 800), bool), (800, 600), "t.mat")
