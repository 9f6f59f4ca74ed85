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

import logging
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from lrn import lite
from lrn.cache import TFLITE, cache_dir
from lrn.cutout_model import keras_forward
from lrn.packing import TFLITE_WEIGHTS

TOLERANCE = 1e-4
"""Largest allowed difference between the converted model's finest map and Keras'."""


def convert(model, weights: str = "float32") -> bytes:
    """The ``.tflite`` flatbuffer of a Keras model (built-in ops only).

    ``weights`` (:data:`lrn.packing.TFLITE_WEIGHTS`): ``"float32"`` as trained; ``"float16"``
    (half the bytes, widened to float32 when the interpreter starts); ``"int8"`` (dynamic-range
    quantisation: int8 weights, activations quantised on the fly; a quarter of the bytes).
    """
    import tensorflow as tf

    if weights not in TFLITE_WEIGHTS:
        raise ValueError(f"weights={weights!r}; expected one of {', '.join(TFLITE_WEIGHTS)}")
    logger = logging.getLogger("tensorflow")  # its "INFO:tensorflow:Assets written to ..." says nothing to a user
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            saved = Path(tmp) / "saved_model"
            model.export(str(saved), format="tf_saved_model", verbose=False)
            converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
            if weights != "float32":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            if weights == "float16":
                converter.target_spec.supported_types = [tf.float16]
            return converter.convert()
    finally:
        logger.setLevel(level)


LiteForward = lite.LiteModel
"""The converted model's forward (:class:`lrn.lite.LiteModel`)."""


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

        folder = Path(cache) if cache is not None else cache_dir() / TFLITE
        target = folder / lite.conversion_name(path, tf.__version__)
        if target.is_file():
            forward = LiteForward.from_file(target)
            how = f"{forward.runtime} (XNNPACK), cached conversion"
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
            how = f"{forward.runtime} (XNNPACK), converted now"
        return forward, how
    except Exception as error:  # noqa: BLE001 - any failure means: use Keras, and say why
        reason = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        if verbose:
            print(f"lrn: TensorFlow Lite not used ({reason}); predicting with Keras", file=sys.stderr)
        return keras_forward(model), f"Keras predict_on_batch ({reason})"
