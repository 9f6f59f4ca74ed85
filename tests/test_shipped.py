"""The shipped model: install checks, ``lrn.pretrained()``, ``lrn whiten`` without ``--model``."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import lrn
from conftest import decisive_lrn
from lrn import cli, cutout, models, provenance, shipped
from lrn.cutout_model import CutoutModel
from lrn.errors import InputError


@pytest.fixture
def package_folder(tmp_path, monkeypatch):
    """Point the shipped-model paths at an empty temporary folder (the real files are untouched:
    checked after the test)."""
    real = {path: path.read_bytes() for path in sorted(shipped.FOLDER.iterdir()) if path.is_file()}
    folder = tmp_path / "pretrained"
    monkeypatch.setattr(shipped, "FOLDER", folder)
    monkeypatch.setattr(shipped, "MODEL_FILE", folder / "tiny.keras")
    monkeypatch.setattr(shipped, "CARD_FILE", folder / "tiny.json")
    monkeypatch.setattr(shipped, "TFLITE_FILE", folder / "tiny.tflite")
    yield folder
    changed = [path.name for path, content in real.items() if path.read_bytes() != content]
    assert not changed, f"a test wrote into the package's shipped model: {changed}"


def tiny_run(run_dir, builder=None):
    """A run folder as ``lrn train`` leaves it: a compiled model with Adam's state, and provenance
    (an LRN with a decisive map unless ``builder`` is given)."""
    from lrn import train

    model = decisive_lrn() if builder is None else builder((64, 64, 3), width=0.125)
    train.compile_model(model, 1e-3)
    model.optimizer.build(model.trainable_variables)
    provenance.save_model(model, run_dir / "model.keras", provenance.record(0, {"variant": "tiny"}))
    return model


def optimizer_state(path) -> bool:
    """Whether a .keras archive stores optimizer variables."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as weights:
        return "optimizer" in weights and len(weights["optimizer"].get("vars", {})) > 0


def test_install_then_pretrained_and_card(package_folder, tmp_path):
    with pytest.raises(InputError, match="missing from this installation.*make model"):
        shipped.pretrained()
    original = tiny_run(tmp_path / "run")
    path = shipped.install(tmp_path / "run", train_seconds=12.5, note="test")
    assert path == shipped.MODEL_FILE and path.is_file()
    loaded = lrn.pretrained().network
    assert models.is_lrn(loaded) and loaded.count_params() == original.count_params()
    card = shipped.card()
    assert card["train_seconds"] == 12.5 and card["parameters"] == original.count_params()
    assert card["provenance"]["settings"]["variant"] == "tiny"
    assert "academic exchange only" in card["terms"] and card["bytes"] == path.stat().st_size
    assert card["packing"] == {"keras": "float32", "tflite": "float32"} and shipped.card_packing(card) == (
        "float32", "float32"), "a model that fits at full precision is shipped at full precision"
    assert card["package_bytes"] == path.stat().st_size + shipped.TFLITE_FILE.stat().st_size
    assert card["packing_fidelity"]["tflite"]["mask_jaccard_min"] == 100.0
    # the optimizer's state is not shipped: the file is smaller than the trained one, same predictions
    assert path.stat().st_size < (tmp_path / "run" / "model.keras").stat().st_size
    assert not optimizer_state(path) and optimizer_state(tmp_path / "run" / "model.keras")
    x = np.random.default_rng(0).uniform(0, 255, (1, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict_on_batch(x)[-1], original.predict_on_batch(x)[-1], atol=1e-6)
    assert provenance.read_model_provenance(path)["settings"]["variant"] == "tiny"


def test_install_refuses_what_must_not_ship(package_folder, tmp_path, monkeypatch):
    with pytest.raises(InputError, match="no trained model at"):
        shipped.install(tmp_path / "nothing")
    tiny_run(tmp_path / "unet", models.build_unet)
    with pytest.raises(InputError, match="not an LRN"):
        shipped.install(tmp_path / "unet")
    tiny_run(tmp_path / "big")
    monkeypatch.setattr(shipped, "MAX_BYTES", 1000)
    with pytest.raises(InputError, match="fits in no packing within the 0 MB .*the .keras file alone is"):
        shipped.install(tmp_path / "big")
    assert not shipped.MODEL_FILE.exists()


def test_install_packs_smaller_when_the_full_precision_files_do_not_fit(package_folder, tmp_path, monkeypatch):
    import keras

    from lrn import packing

    tiny_run(tmp_path / "run")
    bare = keras.saving.load_model(tmp_path / "run" / "model.keras", compile=False)
    full_keras = provenance.save_model(bare, tmp_path / "bare.keras", {}).stat().st_size
    monkeypatch.setattr(shipped, "MAX_BYTES", full_keras - 1)  # the float32 .keras file alone no longer fits
    with monkeypatch.context() as strict:
        strict.setattr(packing, "MASK_JACCARD_MIN", 100.1)  # nothing but identical masks would do
        with pytest.raises(InputError, match=r"no packing within .*\.keras float32 \+ \.tflite float32: the \.keras "
                                             r"file alone is .*\.keras float16 \+ \.tflite int8: outside the tolerance "
                                             r"\(\.keras file's masks as close as Jaccard [\d.]+ % on the worst of"):
            shipped.install(tmp_path / "run")
    assert not shipped.MODEL_FILE.exists()

    shipped.install(tmp_path / "run")
    card = shipped.card()
    assert card["packing"] == {"keras": "float16", "tflite": "float16"} and card["package_bytes"] < full_keras
    assert len(card["packings_refused"]) == 1 and card["packings_refused"][0].startswith(
        ".keras float32 + .tflite float32: the .keras file alone is")
    assert card["package_bytes"] == shipped.MODEL_FILE.stat().st_size + shipped.TFLITE_FILE.stat().st_size
    assert packing.weights_dtype(shipped.MODEL_FILE) == "float16"
    assert all(packing.within_tolerance(card["packing_fidelity"][kind]) for kind in ("keras", "tflite"))
    model, how = cutout.load()
    assert "converted file" in how, "lrn whiten runs the packed .tflite beside the .keras file"
    photo = np.random.default_rng(5).integers(0, 256, (80, 60, 3), dtype=np.uint8)
    np.testing.assert_allclose(lrn.segment(model, photo), lrn.segment(lrn.pretrained(), photo), atol=0.05)
    assert shipped.convert() == shipped.TFLITE_FILE, "re-converting follows the card's packing"
    assert shipped.packed_text(card) == (f".keras float16 + .tflite float16, {card['package_bytes'] / 10**6:.1f} MB "
                                         f"of the {(full_keras - 1) / 10**6:.0f} MB allowed")
    assert shipped.packed_text({}) == ".keras float32 + .tflite float32", "a card from before packing"

    # a .keras file that fits only without any .tflite beside it: converted on first use
    # (a few kB of room: the archive's metadata differs by some bytes from one install to the next)
    monkeypatch.setattr(shipped, "MAX_BYTES", shipped.MODEL_FILE.stat().st_size + 10_000)
    shipped.install(tmp_path / "run")
    card = shipped.card()
    assert card["packing"] == {"keras": "float16", "tflite": None} and shipped.converted_on_first_use()
    assert len(card["packings_refused"]) == len(packing.PACKINGS) - 1, "every packing before it, with its reason"
    assert not shipped.TFLITE_FILE.exists() and not shipped.TFLITE_FILE.with_name("tiny.tflite.sha256").exists()
    assert card["package_bytes"] == shipped.MODEL_FILE.stat().st_size and shipped.tflite_bytes() == 0
    assert set(card["packing_fidelity"]) == {"keras"} and packing.within_tolerance(card["packing_fidelity"]["keras"])
    with pytest.raises(InputError, match="holds no .tflite"):
        shipped.convert()
    model, how = cutout.load(verbose=False)
    converted = shipped.tflite_file()
    assert "converted file" in how and converted.parent.name == "tflite" and converted.name in how
    np.testing.assert_allclose(lrn.segment(model, photo), lrn.segment(lrn.pretrained(), photo), atol=0.05)
    from lrnbook import tryit

    assert tryit.model_file() == converted, "the Try-it page gets the same conversion"
    assert shipped.packed_text(card).startswith(".keras float16 alone (.tflite converted on first use), ")


def test_whiten_without_model_uses_the_shipped_one(package_folder, tmp_path, capsys):
    photo = tmp_path / "me.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (90, 70, 3), dtype=np.uint8)).save(photo)
    assert cli.main(["whiten", str(photo), "-o", str(tmp_path / "out")]) == 2
    assert "make model" in capsys.readouterr().err
    tiny_run(tmp_path / "run")
    shipped.install(tmp_path / "run")
    assert cli.main(["whiten", str(photo), "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "academic exchange only" in err
    assert Image.open(tmp_path / "out" / "me_white.png").size == (70, 90)


def test_the_committed_shipped_model_is_an_lrn_within_the_size_limit():
    assert shipped.MODEL_FILE.is_file(), "lrn/pretrained/ must hold the shipped model (make model)"
    files = shipped.MODEL_FILE.stat().st_size + shipped.tflite_bytes()
    assert files <= shipped.MAX_BYTES, "the .keras and .tflite files together"
    assert shipped.TFLITE_FILE.is_file() != shipped.converted_on_first_use(), "a .tflite exactly when the card packs one"
    card = shipped.card()
    assert card["file"] == shipped.MODEL_FILE.name and card["bytes"] == shipped.MODEL_FILE.stat().st_size
    assert card.get("package_bytes", files) == files
    model = lrn.pretrained()
    assert isinstance(model, CutoutModel) and (model.feed, model.clean) == (shipped.feed(), shipped.clean())
    assert models.is_lrn(model.network) and tuple(model.network.input.shape[1:]) == (224, 224, 3)
    assert not optimizer_state(shipped.MODEL_FILE)
    photo = np.random.default_rng(1).integers(0, 256, (123, 77, 3), dtype=np.uint8)
    prob = lrn.segment(model, photo)
    assert prob.shape == (123, 77) and prob.dtype == np.float32 and 0 <= prob.min() <= prob.max() <= 1


def test_package_metadata_states_the_terms():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    root = shipped.FOLDER.parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert "pretrained/*.keras" in project["tool"]["setuptools"]["package-data"]["lrn"]
    assert project["project"]["license"] == "MIT AND LicenseRef-EG1800-academic-only"
    files = project["project"]["license-files"]
    assert "LICENSE" in files and "MIT License" in (root / "LICENSE").read_text()
    terms = [(root / name).read_text() for name in files if name != "LICENSE"]
    assert any("academic exchange only" in t and "pretrained/*.keras" in t for t in terms)


def test_the_card_says_how_photos_enter_and_segment_follows_it(package_folder, tmp_path, monkeypatch):
    from lrn import feeding

    tiny_run(tmp_path / "run")
    with pytest.raises(InputError, match="feed="):
        shipped.install(tmp_path / "run", feed="stretch")
    shipped.install(tmp_path / "run", feed="pad", clean=False, facts={"candidate": "tiny"})
    card = shipped.card()
    assert (card["fit"], card["clean"], card["candidate"]) == ("pad", False, "tiny") and shipped.feed() == "pad"
    model = lrn.pretrained()
    assert (model.feed, model.clean) == ("pad", False)
    loaded, _ = cutout.load()
    assert (loaded.feed, loaded.clean) == ("pad", False), "the fastest form carries the same feed and cleaning"
    seen = []
    real = feeding.letterbox.letterbox_photo
    monkeypatch.setattr(feeding.letterbox, "letterbox_photo", lambda *a: seen.append(a[1]) or real(*a))
    photo = np.random.default_rng(3).integers(0, 256, (90, 50, 3), dtype=np.uint8)
    assert lrn.segment(model, photo).shape == (90, 50) and seen == [64]
    assert lrn.segment(model, photo, feed="squash").shape == (90, 50) and seen == [64], "squash does not letterbox"


def test_pretrained_from_python_prints_none_of_tensorflows_start_up_lines():
    code = "import lrn; m = lrn.pretrained(); print(m.feed)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == shipped.feed()
    from lrn.cutout_model import HARMLESS_START_UP

    assert not [line for line in done.stderr.splitlines() if any(mark in line for mark in HARMLESS_START_UP)]
    assert "cuInit" not in done.stderr and "cuda" not in done.stderr.lower(), done.stderr
