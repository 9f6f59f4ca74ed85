"""A faster forward pass for one photo at a time: the model converted to TensorFlow Lite.

``lrn whiten`` predicts one photo at a time. TensorFlow's own kernels are tuned for batches;
TensorFlow Lite's XNNPACK kernels are tuned for exactly this case and measured 0.43-0.58x the
time of ``model.predict_on_batch`` here, with outputs within about 2e-6 of it
(``benchmarks/tflite_forward.py``, ``benchmarks/NOTES.md``).

:func:`for_model_file` converts a ``.keras`` file once (``model.export`` -> SavedModel ->
``tf.lite.TFLiteConverter``, float32, no quantisation, a few seconds), keeps the result in
the user cache (``$LRN_CACHE/tflite/<sha256 of the file>-tf<version>.tflite``), checks it
against Keras on a test input, and returns a callable ``x (1, H, W, 3) float32 -> finest map
(1, H, W, 1)``. Whenever anything fails (no ``tf.lite``, a conversion error, outputs that
disagree), it says why and falls back to ``model.predict_on_batch``: the result is the
same map either way, only slower.
"""
from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from lrn.cache import cache_dir, sha256_file

TOLERANCE = 1e-4
"""Largest allowed difference between the converted model's finest map and Keras'."""


def convert(model) -> bytes:
    """The ``.tflite`` flatbuffer of a Keras model (float32, built-in ops only)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "saved_model"
        model.export(str(saved), format="tf_saved_model", verbose=False)
        return tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert()


class LiteForward:
    """``x (1, H, W, 3) float32 -> (1, H, W, 1)``: the model's finest map through TensorFlow Lite.

    The finest map is the output of the input's height and width with one channel (s6 for LRN,
    the only output for U-Net). Not thread-safe: one instance per thread.
    """

    def __init__(self, content: bytes, threads: int | None = None):
        import tensorflow as tf

        with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated": the fallback covers its removal
            warnings.simplefilter("ignore")
            self.interpreter = tf.lite.Interpreter(model_content=content,
                                                   num_threads=threads or len(os.sched_getaffinity(0)))
        self.interpreter.allocate_tensors()
        (inp,) = self.interpreter.get_input_details()
        self.input_index, shape = inp["index"], tuple(inp["shape"])
        finest = [o for o in self.interpreter.get_output_details() if tuple(o["shape"]) == (*shape[:3], 1)]
        if len(finest) != 1:
            raise ValueError(f"cannot tell the finest output among {[tuple(o['shape']) for o in self.interpreter.get_output_details()]}")
        self.output_index = finest[0]["index"]
        self.input_shape = shape

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self.input_index, np.ascontiguousarray(x, np.float32))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output_index).copy()


def keras_forward(model):
    """The fallback: ``model.predict_on_batch``, reduced to the finest map."""
    def forward(x):
        outputs = model.predict_on_batch(x)
        return np.asarray(outputs[-1] if isinstance(outputs, (list, tuple)) else outputs)
    return forward


def check(forward, model, seed: int = 0) -> float:
    """Largest difference of ``forward``'s finest map from Keras' on a random photo-like input."""
    _, h, w, _ = model.input.shape
    x = np.random.default_rng(seed).uniform(0, 255, (1, int(h), int(w), 3)).astype(np.float32)
    return float(np.max(np.abs(forward(x) - keras_forward(model)(x))))


def for_model_file(path, model, cache: Path | None = None, verbose: bool = True):
    """The fastest forward available for the ``.keras`` file ``path`` (already loaded as ``model``).

    Returns ``(forward, how)``: a callable ``x -> finest map`` and a short description
    ("TensorFlow Lite (XNNPACK), cached" / "... converted now" / "Keras predict_on_batch: <why>").
    """
    path = Path(path)
    try:
        import tensorflow as tf

        folder = Path(cache) if cache is not None else cache_dir() / "tflite"
        target = folder / f"{sha256_file(path)}-tf{tf.__version__}.tflite"
        if target.is_file():
            how = "TensorFlow Lite (XNNPACK), cached conversion"
            forward = LiteForward(target.read_bytes())
        else:
            if verbose:
                print(f"lrn: converting {path.name} to TensorFlow Lite once (a few seconds; cached in {folder})",
                      file=sys.stderr)
            content = convert(model)
            forward = LiteForward(content)
            difference = check(forward, model)
            if not difference <= TOLERANCE:
                raise ValueError(f"converted model differs from Keras by {difference:.2g} (> {TOLERANCE})")
            folder.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(f".partial{os.getpid()}")
            partial.write_bytes(content)
            os.replace(partial, target)  # atomic: a concurrent reader never sees half a file
            how = "TensorFlow Lite (XNNPACK), converted now"
        return forward, how
    except Exception as error:  # noqa: BLE001 - any failure means: use Keras, and say why
        reason = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        if verbose:
            print(f"lrn: TensorFlow Lite not used ({reason}); predicting with Keras", file=sys.stderr)
        return keras_forward(model), f"Keras predict_on_batch ({reason})"
