"""How a trained model is packed into the package: the precision of its two files, chosen by size.

The package holds the shipped model twice: the ``.keras`` file (:func:`lrn.pretrained`, Keras)
and its LiteRT conversion (the ``.tflite`` that ``lrn whiten`` runs without TensorFlow). Both
together must fit in :data:`lrn.shipped.MAX_BYTES`. LRN at width 0.25 fits at full precision
(8 MB); with the VGG-16 encoder (15.9 M parameters) each float32 copy is 64 MB.
:data:`PACKINGS` lists the ways to store a model, largest first; :func:`lrn.shipped.install`
takes the first that fits and whose maps stay within the tolerance of the float32 model
(:data:`MASK_JACCARD_MIN`, :data:`MAP_MEAN_ABS_MAX`, :func:`fidelity`).

* ``.keras`` weights in ``float16`` (:func:`halve_weights`): the archive stores its weight
  arrays at half precision and Keras loads them into the model's float32 variables, so the
  loaded model computes in float32 as before, with every weight rounded to 11 significant bits.
  Half the bytes; nothing to do at load time.
* ``.tflite`` weights in ``float16`` (widened to float32 when the interpreter starts: float32
  speed) or ``int8`` (dynamic range: int8 weights, activations quantised on the fly; a quarter of
  the bytes and a faster forward on XNNPACK, ``benchmarks/imagenet_cutout_limits.py``).
* No ``.tflite`` at all (the last resort, :data:`CONVERTED_ON_FIRST_USE`): the half-precision
  ``.keras`` file alone is shipped, and ``lrn whiten`` converts it once on its first call and
  keeps the conversion in the cache (:func:`lrn.fastforward.for_model_file`; TensorFlow is
  imported for that one call, a minute or so for a VGG-16 encoder on 2 cores).
"""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from lrn.metrics import jaccard

WEIGHTS_MEMBER = "model.weights.h5"
"""The member of a Keras 3 ``.keras`` archive that holds the weights (HDF5)."""
TFLITE_WEIGHTS = ("float32", "float16", "int8")
"""How a ``.tflite`` conversion may store its weights (:func:`lrn.fastforward.convert`)."""


class Packing(NamedTuple):
    """The precision of the two files of a packed model."""

    keras: str
    """``"float32"`` or ``"float16"`` (:func:`halve_weights`)."""
    tflite: str | None
    """One of :data:`TFLITE_WEIGHTS`, or ``None``: no ``.tflite`` in the package (:data:`CONVERTED_ON_FIRST_USE`)."""

    def __str__(self) -> str:
        if self.tflite is None:
            return f".keras {self.keras} alone (.tflite converted on first use)"
        return f".keras {self.keras} + .tflite {self.tflite}"


CONVERTED_ON_FIRST_USE = None
"""``Packing.tflite`` of a package without a ``.tflite`` file."""

PACKINGS = (Packing("float32", "float32"), Packing("float16", "float16"), Packing("float16", "int8"),
            Packing("float16", CONVERTED_ON_FIRST_USE))
"""The packings :func:`lrn.shipped.install` tries, in this order: the first within the size
limit and the tolerance is used."""

MASK_JACCARD_MIN = 98.0
"""Tolerance: on every check photo, the Jaccard index (%) between the mask (map >= 0.5) of the
packed file and that of the float32 model is at least this."""
MAP_MEAN_ABS_MAX = 0.01
"""Tolerance: on every check photo, the mean absolute difference between the packed file's map
and the float32 model's is at most this (probabilities, 0-1)."""


def halve_weights(source, target) -> Path:
    """Copy the ``.keras`` archive ``source`` to ``target`` with its float32 weights stored as float16.

    Every other member (architecture, metadata, provenance) and every non-float32 array is
    copied unchanged. ``keras.saving.load_model`` reads the result into float32 variables.
    """
    import h5py  # not at the top: lrn whiten imports this module (through lrn.shipped) and never packs

    source, target = Path(source), Path(target)
    with zipfile.ZipFile(source) as archive:
        members = [(info, archive.read(info.filename)) for info in archive.infolist()]
    names = [info.filename for info, _ in members]
    if WEIGHTS_MEMBER not in names:
        raise ValueError(f"{source} has no {WEIGHTS_MEMBER}: not a Keras 3 .keras archive")
    halved = io.BytesIO()
    with h5py.File(io.BytesIO(members[names.index(WEIGHTS_MEMBER)][1]), "r") as old, h5py.File(halved, "w") as new:
        _copy_attributes(old, new)

        def copy(name, item):
            if isinstance(item, h5py.Dataset):
                data = item[()]
                new.create_dataset(name, data=data.astype(np.float16) if data.dtype == np.float32 else data)
            else:
                new.require_group(name)
            _copy_attributes(item, new[name])
        old.visititems(copy)
    partial = target.with_name(f"{target.name}.partial{os.getpid()}")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, content in members:
            archive.writestr(info.filename, halved.getvalue() if info.filename == WEIGHTS_MEMBER else content)
    os.replace(partial, target)
    return target


def _copy_attributes(source, target) -> None:
    for key, value in source.attrs.items():
        target.attrs[key] = value


def weights_dtype(path) -> str:
    """``"float16"`` if the ``.keras`` file ``path`` stores its weights at half precision, else ``"float32"``."""
    import h5py  # as in halve_weights

    with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read(WEIGHTS_MEMBER)), "r") as weights:
        kinds = set()
        weights.visititems(lambda _, item: kinds.add(item.dtype) if isinstance(item, h5py.Dataset) else None)
    return "float16" if np.dtype(np.float16) in kinds else "float32"


def fidelity(reference, packed, inputs: np.ndarray) -> dict:
    """How far a packed file's maps are from the float32 model's, on network inputs.

    Parameters
    ----------
    reference, packed : callable
        ``x (1, H, W, 3) float32 -> finest map (1, H, W, 1)``: the float32 model and the packed one.
    inputs : float32 array (N, H, W, 3)
        Photos as they enter the network (fed by :func:`lrn.cutout.network_input`), 0-255.

    Returns
    -------
    dict with ``mask_jaccard_min`` (%, lowest over the inputs, masks at 0.5), ``map_mean_abs_max``
    (highest per-input mean absolute difference), ``map_max_abs`` (largest pixel difference)
    and ``inputs`` (N).
    """
    jaccards, means, largest = [], [], 0.0
    for x in inputs:
        want = np.asarray(reference(x[np.newaxis]), np.float32)[0, ..., 0]
        got = np.asarray(packed(x[np.newaxis]), np.float32)[0, ..., 0]
        difference = np.abs(got - want)
        jaccards.append(jaccard(want >= 0.5, got >= 0.5))
        means.append(float(difference.mean()))
        largest = max(largest, float(difference.max()))
    return {"mask_jaccard_min": float(min(jaccards)), "map_mean_abs_max": float(max(means)),
            "map_max_abs": largest, "inputs": len(inputs)}


def within_tolerance(measured: dict) -> bool:
    """Whether a :func:`fidelity` result is within :data:`MASK_JACCARD_MIN` and :data:`MAP_MEAN_ABS_MAX`."""
    return measured["mask_jaccard_min"] >= MASK_JACCARD_MIN and measured["map_mean_abs_max"] <= MAP_MEAN_ABS_MAX


def tolerance_misses(measured: dict) -> list[str]:
    """Why a :func:`fidelity` result is outside the tolerance, one phrase per limit missed.

    Empty when :func:`within_tolerance` holds. Example:
    ``["masks as close as Jaccard 91.8 % on the worst of 32 photos (at least 98 % required)"]``.
    """
    misses = []
    if measured["mask_jaccard_min"] < MASK_JACCARD_MIN:
        misses.append(f"masks as close as Jaccard {measured['mask_jaccard_min']:.1f} % on the worst of "
                      f"{measured['inputs']} photos (at least {MASK_JACCARD_MIN:g} % required)")
    if measured["map_mean_abs_max"] > MAP_MEAN_ABS_MAX:
        misses.append(f"maps {measured['map_mean_abs_max']:.3f} apart on average on the worst photo "
                      f"(at most {MAP_MEAN_ABS_MAX:g} allowed)")
    return misses
