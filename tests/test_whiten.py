"""lrn whiten as people use it: modes, folders, pipes, upright photos, start-up without TensorFlow."""
import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO
from lrn import cli, cutout, imageops, lite, metrics, packing, shipped

pytestmark = pytest.mark.skipif(not shipped.MODEL_FILE.is_file(), reason="the shipped model is missing")


@pytest.fixture(scope="module", autouse=True)
def shipped_conversion():
    """The shipped model's .tflite, made once here if it was packed without one (as a first call would)."""
    return shipped.tflite_file(verbose=False)


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory):
    """A 150x120 photo: a bright blob (a 'person') on a textured background."""
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 90, (150, 120, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:150, :120]
    photo[((yy - 90) / 55) ** 2 + ((xx - 60) / 40) ** 2 < 1] = (210, 170, 150)
    path = tmp_path_factory.mktemp("photos") / "person.png"
    Image.fromarray(photo).save(path)
    return path


def whiten(*args):
    return cli.main(["whiten", *map(str, args)])


def test_every_mode_writes_the_photo_size_and_the_api_gives_the_same_pixels(photo_file, tmp_path):
    photo = imageops.read_photo(photo_file)
    model, how = cutout.load()
    assert how.startswith("LiteRT") or how.startswith("tf.lite")
    for flags, mode, colour, name in ((), "white", cutout.WHITE, "person_white.png"),\
            (("--background", "#00ff00"), "colour", (0, 255, 0), "person_bg.png"),\
            (("--background", "transparent"), "transparent", cutout.WHITE, "person_cutout.png"),\
            (("--mask",), "mask", cutout.WHITE, "person_mask.png"):
        assert whiten(photo_file, "-o", tmp_path, *flags) == 0
        written = np.asarray(Image.open(tmp_path / name))
        expected = cutout.cut_out(model, photo, mode, colour)
        np.testing.assert_array_equal(written, expected)
        assert written.shape[:2] == photo.shape[:2]
    assert np.asarray(Image.open(tmp_path / "person_cutout.png")).shape[2] == 4  # RGBA
    mask = np.asarray(Image.open(tmp_path / "person_mask.png"))
    assert mask.ndim == 2 and mask.dtype == np.uint8
    green = np.asarray(Image.open(tmp_path / "person_bg.png"))
    assert np.all(green[mask == 0] == (0, 255, 0))


def test_refinement_none_keeps_the_soft_ramp_of_the_raw_map(photo_file, tmp_path):
    assert whiten(photo_file, "-o", tmp_path, "--refine", "none", "--mask") == 0
    model, _ = cutout.load()
    photo = imageops.read_photo(photo_file)
    expected = cutout.cut_out(model, photo, "mask", refinement=None)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "person_mask.png")), expected)


def test_a_folder_gives_every_photo_in_it(photo_file, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.jpg"):
        Image.open(photo_file).convert("RGB").save(folder / name)
    (folder / "notes.txt").write_text("not a photo")
    assert whiten(folder, "-o", tmp_path / "out") == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_white.png", "b_white.png"]


def other_photo(photo_file, seed):
    """``photo_file``'s photo with its background drawn again: a different photo of the same size."""
    photo = np.asarray(Image.open(photo_file).convert("RGB")).copy()
    background = np.all(photo != (210, 170, 150), axis=2)
    photo[background] = np.random.default_rng(seed).integers(0, 90, (int(background.sum()), 3), dtype=np.uint8)
    return Image.fromarray(photo)


def test_photos_that_would_share_an_output_name_each_get_their_own(photo_file, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    Image.open(photo_file).convert("RGB").save(first / "a.jpg", quality=95)
    other_photo(photo_file, 1).save(first / "a.png")
    other_photo(photo_file, 2).save(second / "a.jpg", quality=95)
    other_photo(photo_file, 3).save(first / "b.png")
    out = tmp_path / "out"
    assert whiten(first, second, "-o", out) == 0
    written = {"a.jpg_white.png": first / "a.jpg", "a.png_white.png": first / "a.png",
               "a.jpg-2_white.png": second / "a.jpg", "b_white.png": first / "b.png"}  # b: no clash, usual name
    assert sorted(p.name for p in out.iterdir()) == sorted(written)
    model, _ = cutout.load()
    images = {name: np.asarray(Image.open(out / name)) for name in written}
    for name, source in written.items():  # each output is its own photo's cut-out
        np.testing.assert_array_equal(images[name], cutout.cut_out(model, imageops.read_photo(source)))
    assert not np.array_equal(images["a.jpg_white.png"], images["a.png_white.png"])
    assert not np.array_equal(images["a.jpg_white.png"], images["a.jpg-2_white.png"])


def test_a_cut_out_never_replaces_an_input_photo(photo_file, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.open(photo_file).save(folder / "a.png")
    assert whiten(folder, "-o", folder) == 0  # the first run writes a_white.png beside its photo
    before = (folder / "a_white.png").read_bytes()
    capsys.readouterr()
    assert whiten(folder, "-o", folder) == 2, "the second run would cut out a.png over the earlier a_white.png"
    err = capsys.readouterr().err
    assert f"the cut-out of {folder / 'a.png'} would overwrite the input photo {folder / 'a_white.png'}" in err
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "a_white.png"]
    assert (folder / "a_white.png").read_bytes() == before, "nothing is written"
    assert whiten(folder, "-o", tmp_path / "out") == 0, "another folder is fine"


def test_a_photo_named_twice_is_cut_out_once(photo_file, tmp_path):
    assert whiten(photo_file, photo_file.parent, "-o", tmp_path / "out") == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["person_white.png"]


def test_a_broken_photo_in_a_folder_is_named_and_the_others_are_written(photo_file, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.open(photo_file).save(folder / "a.png")
    (folder / "b.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")  # sorted between the two good ones
    other_photo(photo_file, 1).save(folder / "c.png")
    out = tmp_path / "out"
    assert whiten(folder, "-o", out) == 1
    assert sorted(p.name for p in out.iterdir()) == ["a_white.png", "c_white.png"]
    err = capsys.readouterr().err.splitlines()
    skipped = [line for line in err if line.startswith(f"lrn whiten: skipped {folder / 'b.jpg'}: cannot decode")]
    assert len(skipped) == 1, err
    assert err[-1] == f"lrn whiten: 2 of 3 photos written to {out}; 1 failed ({folder / 'b.jpg'})"


def test_a_lone_broken_photo_fails_with_its_name(tmp_path, capsys):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    assert whiten(tmp_path / "broken.jpg", "-o", tmp_path / "out") == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(f"lrn: error: cannot decode photo {tmp_path / 'broken.jpg'}")
    assert not list((tmp_path / "out").iterdir())


def test_a_call_prints_only_the_licence_on_stderr(photo_file, tmp_path):
    done = subprocess.run([sys.executable, "-m", "lrn.cli", "whiten", str(photo_file), "-o", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "XNNPACK" not in done.stderr
    assert done.stderr.splitlines() == [f"lrn whiten: the shipped model ({shipped.NAME}). {shipped.TERMS}"]
    assert done.stdout.splitlines() == [str(tmp_path / "person_white.png")]


def test_an_exif_rotated_phone_photo_comes_out_upright(photo_file, tmp_path):
    stored = np.asarray(Image.open(photo_file).convert("RGB"))  # 150 x 120 as stored
    image = Image.fromarray(np.ascontiguousarray(np.swapaxes(stored, 0, 1)[::-1]))  # lying on its side
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    image.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    assert whiten(tmp_path / "phone.jpg", "-o", tmp_path) == 0
    assert np.asarray(Image.open(tmp_path / "phone_white.png")).shape == (150, 120, 3)


def test_a_pipe_reads_standard_input_and_writes_standard_output_without_tensorflow(photo_file):
    code = ("import sys; from lrn import cli; code = cli.main(['whiten', '-']); "
            "print('tensorflow' in sys.modules, file=sys.stderr); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code], input=photo_file.read_bytes(), capture_output=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    out = Image.open(io.BytesIO(done.stdout))
    assert out.format == "PNG" and out.size == (120, 150)
    err = done.stderr.decode().splitlines()
    assert err[-1] == "False"  # TensorFlow was never imported
    assert not [line for line in err if line.startswith("E0") or "error" in line.lower()], err


@pytest.mark.parametrize("args, needle", [
    (["-", "x.png"], "must be the only photo"),
    (["{photo}", "{tmp}/second/copy.png", "-o", "-"], "2 photos were given"),
    (["{photo}"], "name an output folder with -o"),
    (["{photo}", "-o", "{tmp}/out", "--background", "chartreuse-ish"], "cannot read the colour"),
    (["{photo}", "-o", "{tmp}/out", "--low", "0.8", "--high", "0.2"], "--low < --high"),
    (["{photo}", "-o", "{tmp}/second/copy.png"], "is a file"),
    (["{tmp}/missing.jpg", "-o", "{tmp}/out"], "missing.jpg: no such file"),
    (["{tmp}", "-o", "{tmp}/out"], "is a folder with no photos"),
])
def test_bad_inputs_are_named_before_anything_is_written(args, needle, photo_file, tmp_path, capsys):
    (tmp_path / "second").mkdir()
    (tmp_path / "second" / "copy.png").write_bytes(photo_file.read_bytes())
    argv = [a.format(photo=photo_file, tmp=tmp_path) for a in args]
    assert whiten(*argv) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_shipped_conversion_is_the_shipped_model_and_a_stale_one_is_not_used(tmp_path):
    model, _ = cutout.load()
    keras_model = shipped.pretrained()
    photo = np.random.default_rng(3).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    lite_map, keras_map = cutout.segment(model, photo), cutout.segment(keras_model, photo)
    if shipped.card_packing(shipped.card()).tflite == "float32":
        np.testing.assert_allclose(lite_map, keras_map, atol=1e-4)
    else:  # half-precision or int8 weights: the packing tolerance, as make model checked it
        assert metrics.jaccard(keras_map >= 0.5, lite_map >= 0.5) >= packing.MASK_JACCARD_MIN
        assert np.abs(lite_map - keras_map).mean() <= packing.MAP_MEAN_ABS_MAX
    copy = tmp_path / "m.keras"
    copy.write_bytes(shipped.MODEL_FILE.read_bytes() + b"")
    (tmp_path / "m.tflite").write_bytes(shipped.tflite_file().read_bytes())
    (tmp_path / "m.tflite.sha256").write_text("0" * 64 + "  m.keras\n")  # made from another file
    assert lite.cached_conversion(copy, cache=tmp_path / "cache") is None


def test_lrn_segment_gives_the_mask_the_command_writes(photo_file, tmp_path):
    import lrn

    assert whiten(photo_file, "-o", tmp_path, "--mask") == 0
    model, _ = cutout.load()
    photo = imageops.read_photo(photo_file)
    matte = lrn.segment(model, photo)
    for step in cutout.WHITEN_STEPS:  # the card's order of cleaning and refinement, then the ramp
        matte = cutout.DEFAULT_REFINEMENT.apply(photo, matte) if step == "refine" else cutout.clean_probability(matte)
    expected = cutout.edge_alpha(matte)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "person_mask.png")),
                                  np.rint(expected * 255).astype(np.uint8))
    np.testing.assert_array_equal(cutout.opacity(model, photo), expected.astype(np.float32))
