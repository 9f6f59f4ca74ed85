"""A peer on the same test images: Google's MediaPipe selfie segmentation model (Apache-2.0).

The model ships inside the ``mediapipe==0.10.21`` wheel as :data:`WHEEL_MEMBER`. It is
fetched once with ``pip download --no-deps`` (mediapipe itself is never installed: it pins
an old numpy), taken out of the wheel into ``<cache>/peer/`` with its sha256 beside it, and
run with TensorFlow's own ``tf.lite.Interpreter``. Its scores use the project's rules
(:mod:`lrn.evaluate`): probability maps resized bilinearly to 224 x 224, then > 0.5,
against the 224 x 224 nearest-resized truth.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from lrn import evaluate, imageops, provenance
from lrn.data import eg1800
from lrn.evaluate import score_maps
from lrn.shapes import EVAL_SIZE
from lrn.cache import cache_dir, read_sha256_line, sha256_bytes, sha256_file, write_sha256_line
from lrn.errors import InputError
from lrnbook.cache_folders import PEER

WHEEL = "mediapipe==0.10.21"
"""The pip requirement whose wheel holds the model."""
WHEEL_MEMBER = "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"
"""Path of the model inside the wheel (a zip archive)."""
MODEL_NAME = "selfie_segmentation.tflite"
ENV_VAR = "LRN_SELFIE_MODEL"
"""Environment variable naming a ``.tflite`` file to use instead of the cached one."""


def extract_from_wheel(wheel: str | Path, dest: str | Path, member: str = WHEEL_MEMBER) -> Path:
    """Copy one file out of a wheel and record its sha256 beside it.

    Parameters
    ----------
    wheel : str or Path
        A ``.whl`` file (a zip archive).
    dest : str or Path
        Where to write the file; ``<dest>.sha256`` gets its hex digest. Written through a
        temporary file, so an interrupted copy leaves nothing at ``dest``.
    member : str, optional
        Path of the file inside the wheel.

    Returns ``dest``; raises :class:`lrn.errors.InputError` when the wheel is not a zip archive
    or lacks ``member``.
    """
    wheel, dest = Path(wheel), Path(dest)
    try:
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(member)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{wheel} is not a wheel (zip archive): {exc}") from exc
    except KeyError:
        raise InputError(f"wheel {wheel} has no member {member!r}") from None
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part.write_bytes(data)
    os.replace(part, dest)
    write_sha256_line(dest.with_name(dest.name + ".sha256"), sha256_bytes(data), dest.name)
    return dest


def _by_hand(target: Path, why: str) -> InputError:
    return InputError(
        f"cannot fetch the MediaPipe selfie segmentation model: {why}. Put it there by hand: on a "
        f"machine with network run `pip download --no-deps {WHEEL}`, unzip the wheel's "
        f"{WHEEL_MEMBER} and copy it to {target} (or set {ENV_VAR} to the file's path)"
    )


def fetch_selfie_model(cache: str | Path | None = None) -> Path:
    """Path of ``selfie_segmentation.tflite``, downloading the wheel holding it if needed.

    Order: the file named by ``$LRN_SELFIE_MODEL`` if set; else
    ``<cache>/peer/selfie_segmentation.tflite`` if it exists (checked against the
    ``.sha256`` recorded beside it, if any); else ``python -m pip download --no-deps
    mediapipe==0.10.21`` into a temporary folder (pip picks the wheel for this interpreter
    and platform), :func:`extract_from_wheel` into the cache, and the wheel is deleted.

    Parameters
    ----------
    cache : str or Path, optional
        Cache folder; default :func:`lrn.cache.cache_dir` (``$LRN_CACHE`` or ``~/.cache/lrn``).

    Returns
    -------
    Path
        The ``.tflite`` file (about 250 kB).

    Raises
    ------
    InputError
        ``$LRN_SELFIE_MODEL`` names no file; the cached file differs from its recorded
        sha256; pip fails (no network) or yields no wheel with the model. The message says
        where to put the file by hand.
    """
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InputError(f"{ENV_VAR}={explicit!r} names no file; expected the path of {MODEL_NAME}")
        return path
    if cache is None:
        cache = cache_dir()
    target = Path(cache) / PEER / MODEL_NAME
    if target.is_file():
        record = target.with_name(target.name + ".sha256")
        recorded = read_sha256_line(record)
        if recorded is not None and recorded[0] != sha256_file(target):
            raise InputError(f"{target} does not match the sha256 recorded in {record}; delete both to fetch again")
        return target
    with tempfile.TemporaryDirectory(prefix="lrn-peer-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--quiet", WHEEL, "-d", tmp]
        try:
            done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.SubprocessError) as exc:
            raise _by_hand(target, f"`{' '.join(cmd[1:5])} {WHEEL}` could not run ({exc})") from exc
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise _by_hand(target, f"`pip download {WHEEL}` failed (exit {done.returncode}: {tail[0]})")
        wheels = sorted(Path(tmp).glob("*.whl"))
        if not wheels:
            raise _by_hand(target, f"`pip download {WHEEL}` produced no wheel (only a source archive?)")
        return extract_from_wheel(wheels[0], target)


class SelfieSegmenter:
    """The MediaPipe selfie segmentation model run by ``tf.lite.Interpreter``.

    Input and output shapes, dtypes and quantization are read from the interpreter (the
    real model: input ``float32 (1, 256, 256, 3)`` in [0, 1], output ``float32
    (1, 256, 256, 1)`` person probability). Photos are resized to the input size
    bilinearly, ignoring the aspect ratio, like the project's own models.

    Parameters
    ----------
    path : str or Path
        A ``.tflite`` file, e.g. from :func:`fetch_selfie_model`.
    num_threads : int, optional
        Interpreter threads; default TensorFlow Lite's.

    Raises
    ------
    InputError
        Missing or unreadable file, or a model whose input is not (1, h, w, 3) or whose
        output is not (1, h, w) or (1, h, w, 1).
    """

    def __init__(self, path: str | Path, num_threads: int | None = None):
        import tensorflow as tf

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"selfie segmentation model {self.path} not found; see lrn.peer.fetch_selfie_model")
        with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated ... use ai_edge_litert"
            warnings.filterwarnings("ignore", message=r"\s*Warning: tf\.lite\.Interpreter is deprecated")
            try:
                self._interp = tf.lite.Interpreter(model_path=str(self.path), num_threads=num_threads)
                self._interp.allocate_tensors()
            except (ValueError, RuntimeError) as exc:
                raise InputError(f"cannot load {self.path} as a TensorFlow Lite model: {exc}") from exc
        self._in = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]
        shape_in, shape_out = tuple(self._in["shape"]), tuple(self._out["shape"])
        if len(shape_in) != 4 or shape_in[0] != 1 or shape_in[3] != 3:
            raise InputError(f"{self.path}: input shape {shape_in}; expected (1, h, w, 3)")
        if shape_out[0] != 1 or len(shape_out) not in (3, 4) or (len(shape_out) == 4 and shape_out[3] != 1):
            raise InputError(f"{self.path}: output shape {shape_out}; expected (1, h, w) or (1, h, w, 1)")
        self.input_size = (int(shape_in[1]), int(shape_in[2]))
        """(h, w) of the model's input, in pixels."""

    def _infer(self, photo: np.ndarray) -> np.ndarray:
        """(h, w) float32 probability at the model's output size for an RGB uint8 photo."""
        x = imageops.resize_photo(photo, self.input_size).astype(np.float32)[None] / 255.0
        dtype = self._in["dtype"]
        if not np.issubdtype(dtype, np.floating):  # quantized input: q = x / scale + zero_point
            scale, zero = self._in["quantization"]
            x = np.clip(np.round(x / scale + zero), np.iinfo(dtype).min, np.iinfo(dtype).max)
        self._interp.set_tensor(self._in["index"], x.astype(dtype))
        self._interp.invoke()
        y = self._interp.get_tensor(self._out["index"])
        if not np.issubdtype(y.dtype, np.floating):
            scale, zero = self._out["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        y = y.reshape(y.shape[1:3]).astype(np.float32)
        if y.min() < -1e-6 or y.max() > 1 + 1e-6:
            raise InputError(f"{self.path}: output spans {y.min():.3g}..{y.max():.3g}; expected probabilities in [0, 1]")
        return y

    def predict(self, photo: np.ndarray) -> np.ndarray:
        """Person probability of a photo at the photo's own size.

        Parameters
        ----------
        photo : (H, W, 3) ndarray of uint8
            RGB photo, any size.

        Returns
        -------
        prob : (H, W) ndarray of float32
            Probability in [0, 1], the model's output resized bilinearly to H x W.
        """
        return imageops.resize_prob(self._infer(photo), np.asarray(photo).shape[:2])

    def predict_batch(self, images: np.ndarray, size: int = EVAL_SIZE) -> np.ndarray:
        """Person probability maps of a stack of photos at the evaluation size.

        Parameters
        ----------
        images : (N, H, W, 3) ndarray of uint8
            RGB photos.
        size : int, optional
            Side of the output maps in pixels (224).

        Returns
        -------
        probs : (N, size, size) ndarray of float32
            Probabilities in [0, 1], each output resized bilinearly to size x size.
        """
        if len(images) == 0:
            return np.zeros((0, size, size), np.float32)
        return np.stack([imageops.resize_prob(self._infer(im), (size, size)) for im in images])


def evaluate_peer(segmenter: SelfieSegmenter, split, inputs=None) -> tuple[pd.DataFrame, float]:
    """Per-image scores of the peer on a split loaded at 224 x 224, and its time per image.

    Parameters
    ----------
    segmenter : SelfieSegmenter
    split : lrn.data.Split
        Photos ``uint8 (N, 224, 224, 3)`` and truths ``bool (N, 224, 224)``.
    inputs : lrn.data.Split, optional
        The same ids loaded at another size, whose photos the peer sees instead of
        ``split.images``: e.g. ``eg1800(protocol, size=256).test`` resizes each original
        photo once, straight to the peer's 256 x 256, instead of 224 then 256. Truths are
        always ``split.masks``.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``id``, ``jaccard`` (%), ``hausdorff`` (px), ``jaccard_clean``,
        ``hausdorff_clean`` (largest component, holes filled), as
        :func:`lrn.evaluate.evaluate` gives for a single-output model.
    ms_per_image : float
        Mean wall time of :meth:`SelfieSegmenter.predict_batch` per image in milliseconds
        (resize to the input size, inference, resize to 224), after one warm-up image;
        model loading and scoring excluded.
    """
    if split.masks.shape[1:] != (EVAL_SIZE, EVAL_SIZE):
        raise InputError(f"evaluation split {split.name!r} must be loaded at {EVAL_SIZE}x"
                         f"{EVAL_SIZE}, got {split.masks.shape[1:]}")
    if len(split) == 0:
        raise InputError(f"evaluation split {split.name!r} is empty")
    if inputs is not None and list(inputs.ids) != list(split.ids):
        raise InputError(f"inputs {inputs.name!r} must hold the ids of split {split.name!r} in the same order")
    photos = split.images if inputs is None else inputs.images
    segmenter.predict_batch(photos[:1])  # warm-up: first invoke prepares the kernels
    start = time.perf_counter()
    probs = segmenter.predict_batch(photos)
    ms = (time.perf_counter() - start) * 1000.0 / len(split)
    table = {"id": list(split.ids)}
    table["jaccard"], table["hausdorff"] = score_maps(split.masks, probs)
    table["jaccard_clean"], table["hausdorff_clean"] = score_maps(split.masks, probs, clean=True)
    return pd.DataFrame(table), ms


SCORE_COLUMNS = {"Jaccard (%), raw": "jaccard", "Jaccard (%), cleaned": "jaccard_clean",
                 "Hausdorff (px), raw": "hausdorff", "Hausdorff (px), cleaned": "hausdorff_clean"}
"""Column label -> score of the peer page's tables: each measure's raw and cleaned side by side."""


def score_splits(segmenter: SelfieSegmenter, model_sha256: str, protocol: str, seed: int, run_key, out_dir,
                 load=None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Score the peer on the test split of ``protocol`` and on all official test photos, save both, tabulate.

    Each split is read twice, at 224 x 224 (truths, scores) and at the peer's input size (its
    photos, :func:`evaluate_peer`); ``<out_dir>/test_*`` and ``<out_dir>/full_test_*`` are
    written by :func:`lrn.evaluate.save_scores` with their provenance.

    Parameters
    ----------
    model_sha256 : str
        sha256 of the peer's model file (recorded in the provenance).
    load : callable, optional
        ``load(protocol=, size=, seed=) -> object with .test``; default :func:`lrn.data.eg1800`
        without its progress bar.

    Returns
    -------
    DataFrame
        One row per split: the test images, Jaccard raw and cleaned, Hausdorff raw and cleaned
        (mean ± std, in the order of :data:`SCORE_COLUMNS`, as in the table of every set,
        :func:`lrnbook.card_sets.sets_table`) and the milliseconds per image (the peer page's table).
    dict of str to DataFrame
        The per-image scores by protocol (:func:`evaluate_peer`).
    """
    load = load or (lambda **kw: eg1800(progress=False, **kw))
    rows, tables = [], {}
    for split_protocol, name in ((protocol, "test"), ("full", "full_test")):
        scored = load(protocol=split_protocol, size=EVAL_SIZE, seed=seed).test
        inputs = load(protocol=split_protocol, size=segmenter.input_size[0], seed=seed).test
        table, ms = evaluate_peer(segmenter, scored, inputs=inputs)
        tables[split_protocol] = table
        record = provenance.record(seed, {"peer": WHEEL, "model_sha256": model_sha256, "protocol": split_protocol,
                                          "ms_per_image": ms, "run_key": run_key}, scored.manifest_sha256)
        summary = evaluate.save_scores(table, out_dir, record, name=name)
        rows.append({"test images": f"{split_protocol} protocol ({summary['n']})",
                     **{label: summary[column]["text"] for label, column in SCORE_COLUMNS.items()},
                     "ms per image": f"{ms:.1f}"})
    return pd.DataFrame(rows), tables


def agreement_text(first: pd.DataFrame, second: pd.DataFrame) -> str:
    """Whether two per-image score tables of the peer on EG1800's official test photos agree.

    ``first``: the scores above (:func:`evaluate_peer` on the ``full`` protocol); ``second``: the
    same photos scored for the table of every set (:func:`lrnbook.card_sets.scores`). One
    sentence saying on how many photos, and by how much at most, their raw and cleaned scores
    differ; the book's pages quote both, so a reader can see that they are the same numbers.
    """
    merged = first.merge(second, on="id", suffixes=("_a", "_b"))
    columns = ["jaccard", "hausdorff", "jaccard_clean", "hausdorff_clean"]
    gaps = np.abs(np.stack([merged[f"{c}_a"].to_numpy(float) - merged[f"{c}_b"].to_numpy(float) for c in columns]))
    n, differ = len(merged), int((gaps > 1e-6).any(axis=0).sum())
    head = (f"MediaPipe's EG1800 rows of this table and of the table above score the same {n} official test "
            f"photos")
    if len(first) != n or len(second) != n:
        head += f" ({len(first)} and {len(second)} photos in the two tables)"
    if differ == 0:
        return head + ", fed the same way: their raw and cleaned scores are equal, photo by photo."
    return (head + f", but their scores differ on {differ} photos (by up to {gaps[0::2].max():.2f} pp of Jaccard and "
            f"{gaps[1::2].max():.2f} px of Hausdorff distance).")
