"""Run a converted model without TensorFlow: the LiteRT interpreter (``ai-edge-litert``).

Importing TensorFlow takes several seconds, and a model's forward for one photo takes tens
of milliseconds; a command that segments one photo should not pay the first to get the
second. :class:`LiteModel` runs a ``.tflite`` file with the standalone LiteRT interpreter
(the package ``ai-edge-litert``, XNNPACK kernels, no TensorFlow import), or, when that
package is missing, with ``tf.lite`` (which does import TensorFlow).

A ``.keras`` file is converted once by :func:`lrn.fastforward.for_model_file` (which needs
TensorFlow); :func:`cached_conversion` finds that conversion again without importing it.
The shipped model's conversion lies inside the package, beside its ``.keras`` file.
"""
from __future__ import annotations

import os
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

from lrn.cache import TFLITE, cache_dir, read_sha256_line, sha256_file
from lrn.errors import InputError


def tensorflow_version() -> str | None:
    """The installed TensorFlow's version, read from its metadata (nothing is imported)."""
    for name in ("tensorflow", "tensorflow-cpu"):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def conversion_name(model_file: Path, tf_version: str) -> str:
    """File name of the conversion of ``model_file`` by TensorFlow ``tf_version`` in the cache."""
    return f"{sha256_file(model_file)}-tf{tf_version}.tflite"


def cached_conversion(model_file, cache: Path | None = None) -> Path | None:
    """The ``.tflite`` converted from the ``.keras`` file ``model_file``, if one exists.

    Looks beside the file first (``<stem>.tflite``, how the shipped model comes), then in the
    cache (``$LRN_CACHE/tflite/<sha256>-tf<version>.tflite``). The file beside it is used only
    if the ``.keras`` file's sha256 is the one it records (``<stem>.tflite.sha256``).
    """
    model_file = Path(model_file)
    beside = model_file.with_suffix(".tflite")
    recorded = read_sha256_line(beside.with_name(beside.name + ".sha256"))
    if beside.is_file() and recorded is not None and recorded[0] == sha256_file(model_file):
        return beside
    version = tensorflow_version()
    if version is None:
        return None
    cached = (Path(cache) if cache is not None else cache_dir() / TFLITE) / conversion_name(model_file, version)
    return cached if cached.is_file() else None


def _interpreter(content: bytes, threads: int):
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter(model_content=content, num_threads=threads), "LiteRT"
    except ImportError:
        import tensorflow as tf

        with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated" in favour of ai-edge-litert
            warnings.simplefilter("ignore")
            return tf.lite.Interpreter(model_content=content, num_threads=threads), "tf.lite"


class LiteModel:
    """A converted ``lrn`` model: ``x (1, H, W, 3) float32 -> finest map (1, H, W, 1)``.

    The finest map is the output with the input's height and width and one channel (s6 for
    LRN, the only output for U-Net). Not thread-safe: one instance per thread.

    Attributes
    ----------
    input_size : (int, int)
        The height and width the model takes (photos are resized to it).
    runtime : str
        ``"LiteRT"`` (no TensorFlow) or ``"tf.lite"``.
    """

    def __init__(self, content: bytes, threads: int | None = None):
        self.interpreter, self.runtime = _interpreter(content, threads or len(os.sched_getaffinity(0)))
        self.interpreter.allocate_tensors()
        (inp,) = self.interpreter.get_input_details()
        shape = tuple(int(n) for n in inp["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[3] != 3:
            raise InputError(f"a converted lrn model takes one RGB photo (1, H, W, 3), this one takes {shape}")
        finest = [o for o in self.interpreter.get_output_details() if tuple(o["shape"]) == (*shape[:3], 1)]
        if len(finest) != 1:
            outputs = [tuple(o["shape"]) for o in self.interpreter.get_output_details()]
            raise InputError(f"cannot tell the finest output among {outputs}")
        self.input_index, self.output_index = inp["index"], finest[0]["index"]
        self.input_size = shape[1:3]

    @classmethod
    def from_file(cls, path, threads: int | None = None) -> "LiteModel":
        path = Path(path)
        if not path.is_file():
            raise InputError(f"no converted model at {path}")
        return cls(path.read_bytes(), threads)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self.input_index, np.ascontiguousarray(x, np.float32))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output_index).copy()
