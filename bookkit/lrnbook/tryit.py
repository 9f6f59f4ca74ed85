"""The Try-it page's files: the shipped model for the browser, what the page must know of it, sample photos.

``python -m lrnbook tryit`` writes ``book/_static/tryit-model/`` (gitignored; the build copies
it into the book) before every build:

* ``lrn_people_224.tflite``: the shipped model's LiteRT file, the one ``lrn whiten`` runs,
  with a fixed batch of one (:func:`browser_model`). The shipped file is converted once from
  the ``.keras`` file (``python -m lrn.shipped convert``) and kept beside it with the sha256
  of the ``.keras`` it was made from; this step refuses a conversion whose record does not
  match the ``.keras`` file (a stale conversion). A model packed without a ``.tflite``
  (:data:`lrn.packing.CONVERTED_ON_FIRST_USE`) is converted into the cache instead
  (:func:`lrn.shipped.tflite_file`), as ``lrn whiten`` does on its first call. LiteRT.js runs only models whose input
  shape is fully known, and the converter leaves the batch open, so the browser's copy has
  the open batch closed: the same operators and weights, checked to give the same six maps
  as the shipped file in Python, kept in the cache (``$LRN_CACHE/tryit/``) under the
  shipped file's sha256.
* ``config.json``: how the model takes a photo (:func:`config`): input size, feed (the page
  letterboxes, so it refuses any other), pad colour,
  the side of every level s1 .. s6, the soft-edge ramp, the guided filter's settings and how
  the map is cleaned (:func:`clean_facts`; ``lrn whiten``'s defaults), input limits, the colour table
  of the label maps (the coarse-to-fine chapter's), checksums and the sample photos' names.
* ``samples/``: the astronaut portrait that scikit-image bundles (``skimage.data.astronaut()``,
  Eileen Collins, a NASA photo in the public domain), so that every build has a sample, and a
  few test photos (EG1800 official test split, CCP test split) copied from the local data
  folder (``LRN_DATA``) when it is there.

The page itself (``book/tryit.md``, ``book/_static/tryit/*.js``) runs the model with LiteRT.js
(vendored by ``tools/book_assets.py``) and composes with the opacity ``lrn whiten`` composes
with (:func:`lrn.cutout.opacity`: cleaned and refined, then ramped); ``tests/test_tryit.py`` checks in
Chromium that its s6 map equals :func:`lrn.segment`'s and its opacity :func:`lrn.cutout.opacity`'s.
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import shutil
from pathlib import Path

import numpy as np

from lrn import cutout, imageops, letterbox, lite, metrics, shipped
from lrn.cache import cache_dir, read_sha256_line, sha256_file
from lrn.cutout_model import SOFT_EDGE
from lrn.data import ccp
from lrn.data.root import given_root
from lrn.errors import InputError
from lrnbook.cache_folders import TRYIT

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "book" / "_static" / "tryit-model"
MODEL_NAME = shipped.TFLITE_FILE.name

MAX_PIXELS = 40_000_000
"""Largest photo the page accepts (width x height): a 40-megapixel photo already needs about
0.5 GB of canvases and maps in the browser."""

SAMPLE_EG1800 = 2
SAMPLE_CCP = 2
"""How many sample photos: the first ids of the EG1800 official test list that have a photo,
and the first ids of the CCP test split."""


def model_file() -> Path:
    """The shipped ``.tflite``, after checking that it was converted from the shipped ``.keras``;
    for a model packed without one, its conversion in the cache (:func:`lrn.shipped.tflite_file`,
    named by the ``.keras`` file's sha256)."""
    if shipped.converted_on_first_use():
        return shipped.tflite_file(verbose=False)
    tflite = shipped.TFLITE_FILE
    record = tflite.with_name(tflite.name + ".sha256")
    made_from = read_sha256_line(record)
    if not tflite.is_file() or made_from is None:
        raise InputError(f"{tflite} or its record {record.name} is missing: run `python -m lrn.shipped convert`")
    recorded = made_from[0]
    if recorded != sha256_file(shipped.MODEL_FILE):
        raise InputError(f"{tflite.name} was converted from another {shipped.MODEL_FILE.name} "
                         f"(recorded sha256 {recorded[:12]}...): run `python -m lrn.shipped convert`")
    return tflite


def fixed_batch(content: bytes) -> bytes:
    """The LiteRT flatbuffer ``content`` with every open (-1) dimension of its tensors closed.

    The converter writes each tensor's ``shape`` with batch 1 and its ``shape_signature`` with
    batch -1; dropping the signature leaves the static shape, which LiteRT.js requires.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(content, 0))
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            if tensor.shapeSignature is not None and -1 in list(tensor.shapeSignature):
                tensor.shapeSignature = None
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def all_outputs(content: bytes, x: np.ndarray) -> list[np.ndarray]:
    """Every output of a LiteRT model on ``x``, in its output order."""
    model = lite.LiteModel(content, threads=1)
    model.interpreter.set_tensor(model.input_index, x)
    model.interpreter.invoke()
    return [model.interpreter.get_tensor(d["index"]).copy() for d in model.interpreter.get_output_details()]


CHECK_TOLERANCE = 1e-6
"""Largest difference allowed between the browser's copy and the shipped file, on any output."""


def browser_model(tflite: Path) -> Path:
    """The browser's copy of ``tflite`` (:func:`fixed_batch`), made once and checked, from the cache."""
    cached = cache_dir() / TRYIT / f"{sha256_file(tflite)}-batch1.tflite"
    if cached.is_file():
        return cached
    content = tflite.read_bytes()
    fixed = fixed_batch(content)
    height, width = lite.LiteModel(content, threads=1).input_size
    x = np.random.default_rng(0).uniform(0, 255, (1, height, width, 3)).astype(np.float32)
    difference = max(float(np.abs(a - b).max()) for a, b in zip(all_outputs(content, x), all_outputs(fixed, x)))
    if not difference <= CHECK_TOLERANCE:
        raise InputError(f"{tflite.name} with its batch fixed to 1 differs from the original by {difference:.2g}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    partial.write_bytes(fixed)
    partial.replace(cached)
    return cached


def level_sides(tflite: Path) -> list[int]:
    """Sides (px) of the model's outputs s1 .. s6, coarse to fine.

    The converter does not keep Keras' output order, so the page tells the levels apart by
    their size: every output is ``(1, s, s, 1)`` with a different ``s``.
    """
    details = lite.LiteModel(tflite.read_bytes(), threads=1).interpreter.get_output_details()
    sides = [int(d["shape"][1]) for d in details]
    if len(set(sides)) != len(sides):
        raise InputError(f"{tflite.name}: outputs of equal size {sides}; cannot tell the levels apart")
    return sorted(sides)


def colour_table(cmap: str = "viridis") -> list[list[int]]:
    """256 RGB entries of the label maps' colour map, rounded as :func:`lrnbook.widgets.probability_to_rgb` does."""
    from matplotlib import colormaps

    return (colormaps[cmap](np.arange(256))[:, :3] * 255.0 + 0.5).astype(np.uint8).tolist()


def sample_ids(root: Path) -> list[tuple[str, Path]]:
    """``(label, photo path)`` of the sample photos under the data folder ``root`` (those present)."""
    import scipy.io

    out = []
    eg = root / "eg1800"
    if (eg / "testlist.mat").is_file():
        ids = sorted(int(v) for v in np.ravel(scipy.io.loadmat(eg / "testlist.mat")["testlist"]))
        photos = [eg / "images_data_crop" / f"{i:05d}.jpg" for i in ids]
        out += [(f"EG1800 test {p.stem}", p) for p in photos if p.is_file()][:SAMPLE_EG1800]
    if (root / "ccp" / "photos").is_dir():
        test = ccp.split_ids(ccp.manifest_ids())["test"]
        photos = [root / "ccp" / "photos" / f"{i}.jpg" for i in test]
        out += [(f"CCP test {p.stem}", p) for p in photos if p.is_file()][:SAMPLE_CCP]
    return out


BUNDLED = {"label": "Astronaut (NASA, public domain)", "file": "samples/astronaut.jpg"}
"""The sample every build has: scikit-image's ``astronaut`` (a head-and-torso portrait in the public domain)."""


def bundled_sample(out: Path) -> dict:
    """Write :data:`BUNDLED`'s photo into ``out/samples/`` (JPEG, only when its bytes change) and return its entry."""
    import io

    from PIL import Image
    from skimage import data as skimage_data

    buffer = io.BytesIO()
    Image.fromarray(skimage_data.astronaut()).save(buffer, "JPEG", quality=92)
    target = out / BUNDLED["file"]
    if not (target.is_file() and target.read_bytes() == buffer.getvalue()):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(buffer.getvalue())
    return dict(BUNDLED)


def clean_facts() -> dict:
    """How ``lrn whiten`` keeps one person (:func:`lrn.cutout.clean_probability`), for the page.

    ``default``: whether the shipped model's map is cleaned when it is not refined (its card,
    :func:`lrn.shipped.clean`; a refined matte is always cleaned, :func:`lrn.cutout.opacity`);
    ``edge_fraction``: the band of the map kept around the person, as a share of the photo's
    diagonal (:data:`lrn.cutout.EDGE_FRACTION`); ``threshold``: the probability a pixel of the
    person's mask is strictly above (:func:`lrn.metrics.threshold_prob`'s default).
    """
    threshold = inspect.signature(metrics.threshold_prob).parameters["threshold"].default
    return {"default": shipped.clean(), "edge_fraction": cutout.EDGE_FRACTION, "threshold": threshold}


def config(tflite: Path, samples: list[dict]) -> dict:
    """What the page needs to feed the model a photo and read its answer (``config.json``)."""
    sides = level_sides(tflite)
    size = sides[-1]
    return {
        "model": MODEL_NAME,
        "model_bytes": tflite.stat().st_size,
        "model_sha256": sha256_file(tflite),
        "shipped_tflite_sha256": sha256_file(model_file()),
        "keras_sha256": sha256_file(shipped.MODEL_FILE),
        "size": size,
        "feed": shipped.feed(),
        "fill": list(letterbox.FILL),
        "levels": [{"name": f"s{k}", "side": side} for k, side in enumerate(sides, start=1)],
        "edge": {"low": cutout.LOW, "high": cutout.HIGH},
        "refinement": dataclasses.asdict(cutout.DEFAULT_REFINEMENT),
        "steps": list(cutout.WHITEN_STEPS),
        "clean": clean_facts(),
        "min_side": imageops.MIN_SIDE,
        "max_pixels": MAX_PIXELS,
        "colours": colour_table(),
        "samples": samples,
    }


def _copy_if_changed(src: Path, dst: Path) -> None:
    if not (dst.is_file() and sha256_file(dst) == sha256_file(src)):
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def prepare(out: Path = OUT, data_root: Path | None = None) -> Path:
    """Write the model, ``config.json`` and the sample photos into ``out``; returns ``out``.

    ``data_root``: the data folder (default ``LRN_DATA``); without it the page has no samples.
    """
    tflite = browser_model(model_file())
    out.mkdir(parents=True, exist_ok=True)
    _copy_if_changed(tflite, out / MODEL_NAME)
    found = given_root(data_root)
    root = found[0] if found else None
    samples = [bundled_sample(out)]
    for label, photo in sample_ids(root) if root is not None else []:
        name = f"{photo.parts[-3]}-{photo.stem}{photo.suffix.lower()}"
        _copy_if_changed(photo, out / "samples" / name)  # unchanged files keep their time: no full rebuild
        samples.append({"label": label, "file": f"samples/{name}"})
    kept = {sample["file"] for sample in samples}
    for old in (out / "samples").glob("*") if (out / "samples").is_dir() else []:
        if f"samples/{old.name}" not in kept:
            old.unlink()
    text = json.dumps(config(tflite, samples), separators=(",", ":")) + "\n"
    target = out / "config.json"
    if not (target.is_file() and target.read_text() == text):
        target.write_text(text)
    return out
