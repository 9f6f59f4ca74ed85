"""The bad-input corpus: every case gives a clear error naming the file or value, or the
documented conversion. Each case goes through a public entry point (a loader, a builder,
the command line or a notebook run), never reaching a stack trace from deep inside
TensorFlow or NumPy.
"""
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from lrn import cli, data, imageops, models, train
from lrnbook import fit as fit_stage
from lrnbook import plan, stages
from lrn.errors import InputError

RNG = np.random.default_rng(0)


def photo_array(h=64, w=48):
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def mask_array(h=64, w=48):
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4:, w // 4: 3 * w // 4] = 255
    return mask


def pair_folder(tmp_path, photo=None, mask=None, photo_name="a.png", mask_name="a.png"):
    """images/ and masks/ folders with one pair, either side replaceable by raw bytes or an array."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(exist_ok=True)
    masks.mkdir(exist_ok=True)
    for folder, name, content, default in ((images, photo_name, photo, photo_array),
                                           (masks, mask_name, mask, mask_array)):
        if content is None:
            content = default()
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        elif content is not False:
            Image.fromarray(content).save(folder / name, format="PNG")
    return images, masks


def jpeg_bytes(array):
    import io

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG")
    return buffer.getvalue()


# (case id, function(tmp_path) -> callable that must raise, expected substring in the message)
ERRORS = [
    ("corrupt_jpeg", lambda t: lambda: data.folder(*pair_folder(t, photo=b"\xff\xd8\xff\xe0garbage",
                                                                  photo_name="a.jpg"), size=32), "a.jpg"),
    ("truncated_jpeg", lambda t: lambda: data.folder(*pair_folder(t, photo=jpeg_bytes(photo_array(256, 256))[:600],
                                                                    photo_name="a.jpg"), size=32), "a.jpg"),
    ("empty_photo_file", lambda t: lambda: data.folder(*pair_folder(t, photo=b""), size=32), "a.png"),
    ("text_named_png", lambda t: lambda: imageops.read_photo(write(t / "notes.png", b"hello, not an image")),
     "notes.png"),
    ("photo_smaller_than_32", lambda t: lambda: data.folder(*pair_folder(t, photo=photo_array(20, 40),
                                                                           mask=mask_array(20, 40)), size=32), "20"),
    ("missing_photo_file", lambda t: lambda: imageops.read_photo(t / "nowhere.jpg"), "nowhere.jpg"),
    ("mask_other_aspect", lambda t: lambda: data.folder(*pair_folder(t, mask=mask_array(64, 64)), size=32), "a.png"),
    ("mat_without_mask_key", lambda t: lambda: imageops.read_mask(write_mat(t / "m.mat", {"label": np.ones((4, 4))})),
     "m.mat"),
    ("missing_mask", lambda t: lambda: data.folder(*pair_folder(t, mask=False), size=32), "a.png"),
    ("missing_images_folder", lambda t: lambda: data.folder(t / "no_images", t, size=32), "no_images"),
    ("missing_masks_folder", lambda t: lambda: data.folder(pair_folder(t)[0], t / "no_masks", size=32), "no_masks"),
    ("empty_images_folder", lambda t: lambda: data.folder(mkdir(t / "empty"), mkdir(t / "m"), size=32), "empty"),
    ("eg1800_root_without_data", lambda t: lambda: data.eg1800(root=t, size=32), str(Path("eg1800"))),
    ("unknown_protocol", lambda t: lambda: data.eg1800(root=t, protocol="tiny"), "tiny"),
    ("size_not_multiple_of_32", lambda t: lambda: data.synthetic(2, size=100), "100"),
    ("size_zero", lambda t: lambda: data.synthetic(2, size=0), "size=0"),
    ("model_shape_not_multiple_of_32", lambda t: lambda: models.build_unet((200, 224, 3)), "200"),
    ("width_zero", lambda t: lambda: models.build_lrn((64, 64, 3), width=0), "width"),
    ("unknown_variant_builder", lambda t: lambda: models.build_model("lrn2"), "lrn2"),
    ("negative_learning_rate", lambda t: lambda: train.TrainConfig(learning_rate=-0.1), "learning_rate"),
    ("zoom_out_of_range", lambda t: lambda: train.TrainConfig(zoom=1.5), "zoom"),
    ("unknown_supervision", lambda t: lambda: train.TrainConfig(supervision="some"), "some"),
    ("model_file_not_keras", lambda t: lambda: models.load(write(t / "model.keras", b"plain text")), "model.keras"),
    ("unknown_profile", lambda t: lambda: plan.plan("laptop"), "laptop"),
    ("unknown_notebook_parameter", lambda t: lambda: stages.execute_page(
        "bad", plan.Stage("page/train_lrn", "page", {"variant": "lrn", "widht": 0.5}, notebook="train.ipynb"),
        "key"), "widht"),
]


def write(path, content: bytes):
    path.write_bytes(content)
    return path


def write_mat(path, content: dict):
    scipy.io.savemat(path, content)
    return path


def mkdir(path):
    path.mkdir()
    return path


@pytest.mark.parametrize("make, needle", [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS])
def test_bad_input_gives_a_clear_error(make, needle, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError) as error:
            make(tmp_path)()
    assert needle in str(error.value)


# Documented conversions: the input is accepted and turned into what the loaders promise.
def test_greyscale_photo_becomes_rgb(tmp_path):
    grey = RNG.integers(0, 256, (40, 36), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    rgb = imageops.read_photo(tmp_path / "g.png")
    assert rgb.shape == (40, 36, 3) and np.array_equal(rgb[..., 0], grey) and np.array_equal(rgb[..., 2], grey)


def test_rgba_photo_drops_alpha(tmp_path):
    rgba = np.dstack([photo_array(40, 36), np.full((40, 36), 7, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    rgb = imageops.read_photo(tmp_path / "a.png")
    assert np.array_equal(rgb, rgba[..., :3])


def test_16_bit_photo_is_scaled_to_8_bit(tmp_path):
    deep = (np.arange(40 * 36, dtype=np.uint16).reshape(40, 36) * 45).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "d.png")
    rgb = imageops.read_photo(tmp_path / "d.png")
    assert rgb.dtype == np.uint8 and rgb.shape == (40, 36, 3)
    assert rgb.max() > 200 and rgb.min() < 10


def test_png_with_a_jpg_extension_still_decodes(tmp_path):
    picture = photo_array(40, 36)
    Image.fromarray(picture).save(tmp_path / "liar.jpg", format="PNG")
    assert np.array_equal(imageops.read_photo(tmp_path / "liar.jpg"), picture)


def test_mask_of_same_aspect_other_size_is_resized(tmp_path):
    split = data.folder(*pair_folder(tmp_path, photo=photo_array(64, 48), mask=mask_array(128, 96)), size=32)
    assert split.masks.shape == (1, 32, 32) and split.masks.any()


def test_non_binary_mask_is_thresholded_with_a_warning(tmp_path):
    ramp = np.tile(np.linspace(0, 255, 48).astype(np.uint8), (64, 1))
    with pytest.warns(UserWarning, match="a.png"):
        split = data.folder(*pair_folder(tmp_path, mask=ramp), size=32)
    assert split.masks.dtype == bool
    assert 0.4 < split.masks.mean() < 0.6  # half the ramp is above the threshold


@pytest.mark.parametrize("value", [0, 255], ids=["all_zero", "all_one"])
def test_uniform_masks_are_kept_and_reported(tmp_path, value):
    with pytest.warns(UserWarning, match="a.png"):
        split = data.folder(*pair_folder(tmp_path, mask=np.full((64, 48), value, np.uint8)), size=32)
    assert split.masks.all() == bool(value) and len(split) == 1


# The command line: argparse or InputError, exit code 2, the value named on stderr.
@pytest.mark.parametrize("argv, needle", [
    (["train", "--variant", "bogus", "-o", "x"], "bogus"),
    (["train", "--variant", "lrn", "--width", "0", "-o", "x"], "'0'"),
    (["train", "--variant", "lrn", "--lr", "fast", "-o", "x"], "fast"),
    (["train", "--variant", "lrn", "--batch-size", "-4", "-o", "x"], "-4"),
    (["frobnicate"], "frobnicate"),
], ids=["cli_unknown_variant", "cli_width_zero", "cli_lr_not_a_number", "cli_negative_batch", "cli_unknown_command"])
def test_cli_refuses_bad_arguments(argv, needle, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2 and needle in capsys.readouterr().err


def test_cli_names_a_missing_photo(tmp_path, capsys):
    model = models.build_lrn((32, 32, 3), width=0.0625)
    model.save(tmp_path / "m.keras")
    assert cli.main(["whiten", str(tmp_path / "ghost.jpg"), "--model", str(tmp_path / "m.keras"),
                     "-o", str(tmp_path)]) == 2
    assert "ghost.jpg" in capsys.readouterr().err


def test_out_of_range_fit_setting_fails_the_fit_with_its_name_and_writes_nothing(tmp_path):
    """width=-1 in a profile's fit settings: the fit stops before training and says why."""
    settings = {"variant": "lrn", "protocol": "paper", "split_seed": 0, "config": {"variant": "lrn", "width": -1.0}}
    with pytest.raises(InputError, match=r"width.*-1"):
        fit_stage.run({"settings": settings, "model_dir": str(tmp_path / "model"), "out_dir": str(tmp_path / "out")})
    assert not (tmp_path / "out").exists() and not (tmp_path / "model").exists()
