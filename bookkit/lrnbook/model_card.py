"""The model card page: the shipped LRN's facts, scores, failures, speed, cut-out and peer comparison.

The page (``notebooks/model_card.ipynb``) tells; the functions here compute. The page
scores the shipped model (:func:`lrn.pretrained`) itself: it predicts the official test
photos once (:func:`predict_finest`) and every table and figure reuses those maps (the
paper protocol's test photos are a subset of them). Functions take arrays and tables and
return a table, a figure or a markdown string.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import os
import statistics
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lrn import cutout, data, evaluate, metrics, predict, provenance
from lrn.errors import InputError
from lrn.shapes import EVAL_SIZE
from lrnbook import pages, plots
from lrnbook.stats import error_rates, paired_difference

PEER = "MediaPipe selfie (peer)"
PEER_FILES = ("full_test_per_image.csv", "test_per_image.csv")
"""The peer run's per-image scores (``results/peer/``): all official test photos, the protocol's."""
NO_PEER = ("No peer run in this profile: the comparison needs the peer page's results "
           "(`results/peer/full_test_per_image.csv` and `results/peer/test_per_image.csv`).")


# --- The model -------------------------------------------------------------------------

def facts_table(card: dict, parameters: int, max_bytes: int) -> pd.DataFrame:
    """The shipped model's facts, from its card (:func:`lrn.shipped.card`) and the loaded model.

    Parameters
    ----------
    card : dict
        The card ``make model`` wrote beside the file.
    parameters : int
        The loaded model's parameter count.
    max_bytes : int
        The largest file allowed inside the package (:data:`lrn.shipped.MAX_BYTES`).

    Returns
    -------
    DataFrame with two columns: the fact and its value.
    """
    settings = card["provenance"]["settings"]
    history = history_table(card)
    if history is None:
        epochs = "not recorded"
    else:
        best = int(history["val_loss"].idxmin()) + 1
        epochs = (f"{len(history)} (at most {settings['epochs']}, patience {settings['patience']}); "
                  f"weights of epoch {best}, the lowest validation loss")
    seconds = card.get("train_seconds")
    time_text = f"{seconds / 60:.0f} min on {card.get('cpus', 2)} CPU cores" if seconds else "not recorded"
    fit = card.get("fit", "squash")
    entering = ("letterboxed into it (aspect ratio kept, the rest padded); maps are cropped and resized back"
                if fit == "pad" else "photos are resized to it; maps are resized back")
    counts = card.get("counts") or {}
    photos = f"{len(settings['train_ids'])} / {len(settings['val_ids'])}"
    if counts:
        photos += (f" (training: {counts.get('train_eg1800')} EG1800 portraits and {counts.get('train_ccp')} crops of "
                   f"CCP street photos; validation: " + ", ".join(f"{v} {k.removeprefix('val ')}" for k, v in counts.items()
                                                             if k.startswith("val ")) + ")")
    facts = {
        "file": f"{card['file']} ({card['bytes'] / 10**6:.1f} MB, limit {max_bytes / 10**6:.0f} MB)",
        "parameters": f"{parameters:,}",
        "input": " x ".join(map(str, card["input"])) + f" ({entering})",
        "width multiplier": settings["width"],
        "training photos / validation photos": photos,
        "optimiser": f"Adam, learning rate {settings['learning_rate']}, batch {settings['batch_size']}",
        "augmentation": f"flip, zoom ±{settings['zoom']}, rotation ±{settings['rotation_deg']}°",
        "epochs trained": epochs,
        "training command": card["train_command"],
        **({"chosen": f"candidate {card['candidate']} of the page \u201cChoosing the cut-out model\u201d, by its rule "
                      "on validation photos"} if card.get("candidate") else {}),
        **({"lrn whiten cleans the map": clean_text(card["clean"])} if "clean" in card else {}),
        "training time": time_text + (f" ({card['note']})" if card.get("note") else ""),
        "git commit": card["provenance"]["git_commit"],
    }
    return pd.DataFrame(facts.items(), columns=["", "shipped model"])


def clean_text(clean: bool) -> str:
    """Whether ``lrn whiten`` cleans the shipped model's map by default, and what turns that off."""
    if clean:
        return "yes: it keeps the largest region and fills its holes (chosen on validation photos; --raw turns it off)"
    return "no: it keeps every predicted region (chosen on validation photos)"


def history_table(card: dict) -> pd.DataFrame | None:
    """The per-epoch history stored in the card, or ``None`` when it has none."""
    return pd.DataFrame(card["history"]) if card.get("history") else None


def epochs_text(history: pd.DataFrame | None, max_epochs: int) -> str:
    """Where the validation loss was lowest, and whether training stopped at the epoch limit."""
    if history is None:
        return "The card records no per-epoch history."
    best, n = int(history["val_loss"].idxmin()) + 1, len(history)
    if best == n and n == max_epochs:
        return (f"The validation loss was lowest at the last epoch ({n}), the epoch limit: training stopped "
                "while the validation loss was still falling.")
    return f"The validation loss was lowest at epoch {best} of the {n} trained (limit {max_epochs})."


# --- Test photos, predicted once ---------------------------------------------------------

@contextlib.contextmanager
def _quiet_loading(notes: list):
    """No progress bars while EG1800 is read; its warnings are kept in ``notes`` (without a path)."""
    folder = importlib.import_module("lrn.data.folder")  # the module (lrn.data.folder is also a function's name)
    bar = folder.tqdm
    folder.tqdm = functools.partial(bar, disable=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        folder.tqdm = bar
    notes.extend(dict.fromkeys(str(w.message) for w in caught))


def load_test_sets(protocol: str, seed: int) -> tuple:
    """The official test photos (``full`` protocol) and the test split of ``protocol``, both at 224x224.

    Returns
    -------
    (official, protocol_test, notes)
        Two :class:`lrn.data.Split` and the loader's warnings as plain sentences.
    """
    notes: list[str] = []
    with _quiet_loading(notes):
        official = data.eg1800(protocol="full", size=EVAL_SIZE, seed=seed).test
        protocol_test = data.eg1800(protocol=protocol, size=EVAL_SIZE, seed=seed).test
    return official, protocol_test, notes


def check_unseen(settings: dict, official_ids, protocol_ids, protocol: str = "paper") -> str:
    """Check that no test photo was used in training and that the protocol's are official ones.

    Returns a sentence saying so; raises :class:`lrn.errors.InputError` otherwise.
    """
    seen = set(settings["train_ids"]) | set(settings["val_ids"])
    if seen & set(official_ids):
        raise InputError(f"{len(seen & set(official_ids))} test photos were used in training")
    if not set(protocol_ids) <= set(official_ids):
        raise InputError("the protocol's test photos are not all official test photos")
    return (f"None of the {len(official_ids)} official test photos was used for training or validation; "
            f"the {len(protocol_ids)} test photos of the {protocol} protocol are among them.")


def set_names(protocol: str) -> tuple[str, str]:
    """The names of the two sets of test photos: all official ones, and the protocol's test split."""
    return "official test", f"{protocol} protocol"


def predict_finest(model, images: np.ndarray, chunk: int = 64) -> np.ndarray:
    """The model's finest map at 224x224 for every image, float32 ``(N, 224, 224)``, predicted once.

    Images are predicted ``chunk`` at a time (bounded memory); each map is resized bilinearly
    to 224x224 (:func:`lrn.predict.to_eval_size`, a no-op for a 224 px model).
    """
    maps = [predict.to_eval_size(predict.predict_levels(model, images[start:start + chunk])[-1])
            for start in range(0, len(images), chunk)]
    return np.concatenate(maps).astype(np.float32)


def rows_of(ids, subset) -> np.ndarray:
    """Positions in ``ids`` of the ids of ``subset``, in the order of ``subset``."""
    where = {str(i): k for k, i in enumerate(ids)}
    missing = [i for i in subset if str(i) not in where]
    if missing:
        raise InputError(f"{len(missing)} ids are not among the predicted images, e.g. {missing[0]}")
    return np.array([where[str(i)] for i in subset], int)


def score_sets(ids, truths: np.ndarray, finest: np.ndarray, subset, protocol: str) -> dict:
    """Per-image scores of the maps on all official test photos and on the protocol's test photos.

    Parameters
    ----------
    ids, truths, finest
        The N ids, truth masks ``(N, 224, 224)`` and finest maps of the official test photos.
    subset : array of int
        Rows of the protocol's test photos among them (:func:`rows_of`).
    protocol : str
        The protocol's name (:func:`set_names`).

    Returns
    -------
    dict
        ``{set name: table of lrn.evaluate.score_levels}``; the protocol's rows are those of
        the official table (the same photo and map give the same score).
    """
    whole = evaluate.score_levels(list(ids), [finest], truths)
    official, own = set_names(protocol)
    return {official: whole, own: whole.iloc[np.asarray(subset, int)].reset_index(drop=True)}


def score_table(tables: dict) -> pd.DataFrame:
    """Raw beside cleaned scores, one row per ``{label: per-image table}`` (:func:`lrnbook.pages.score_row`)."""
    return pages.score_table([pages.score_row(label, table) for label, table in tables.items()])


def labelled(tables: dict, model: str) -> dict:
    """``{"<model>, <test photos>": table}``: the rows of :func:`score_table` for one model."""
    return {f"{model}, {name}": table for name, table in tables.items()}


def photo_size_text(pairs) -> str:
    """The photos' size, and how many of their pixels one pixel at 224x224 spans."""
    sizes = sorted({photo.shape[:2] for photo, _ in pairs})
    if len(sizes) != 1:
        return f"The photos come in {len(sizes)} sizes (H, W): {', '.join(map(str, sizes))}."
    h, w = sizes[0]
    return (f"The photos are {w} wide and {h} high: one pixel at {EVAL_SIZE}x{EVAL_SIZE} spans "
            f"{w / EVAL_SIZE:.1f} of their pixels across and {h / EVAL_SIZE:.1f} down, and their diagonal is "
            f"{np.hypot(h, w) / np.hypot(EVAL_SIZE, EVAL_SIZE):.1f} times as long.")


def photo_label(pairs, model: str = "shipped LRN", photos: str = "paper protocol") -> str:
    """The row label of the scores at the photos' resolution, e.g. ``"... at 600x800 (width x height)"``."""
    sizes = sorted({photo.shape[:2] for photo, _ in pairs})
    size = f"{sizes[0][1]}x{sizes[0][0]} (width x height)" if len(sizes) == 1 else "their own sizes"
    return f"{model}, {photos} at {size}"


# --- Against the peer --------------------------------------------------------------------

def read_peer_tables(protocol: str = "paper", root=".") -> dict | None:
    """The peer run's per-image tables ``{test photos: table}`` (:func:`set_names`), or ``None`` when absent."""
    paths = {name: pages.results_dir("peer", root) / file for name, file in zip(set_names(protocol), PEER_FILES)}
    if not all(path.is_file() for path in paths.values()):
        return None
    return {name: provenance.read_csv(path)[0] for name, path in paths.items()}


def versus(ours: pd.DataFrame, theirs: pd.DataFrame, columns=("jaccard", "hausdorff")) -> dict:
    """Paired per-image comparison of two score tables on the same ids, positive favouring ``ours``.

    Parameters
    ----------
    ours, theirs : DataFrame
        Per-image tables with an ``id`` column and the score ``columns``, in any order.
    columns : sequence of str
        Score columns; Jaccard columns (names starting with ``jaccard``) are higher-better,
        the others lower-better (their difference is theirs minus ours).

    Returns
    -------
    dict
        ``{column: lrnbook.stats.paired_difference(...) | {"winner": "ours" / "theirs" /
        "not settled"}}``, the winner read from the 95 % interval.

    Raises
    ------
    lrn.errors.InputError
        If the two tables do not score the same images.
    """
    merged = ours.merge(theirs, on="id", suffixes=("_ours", "_theirs"), validate="one_to_one")
    if len(merged) != len(ours) or len(merged) != len(theirs):
        raise InputError(f"the two tables score different images ({len(ours)} and {len(theirs)} ids, "
                         f"{len(merged)} shared)")
    result = {}
    for column in columns:
        a, b = merged[f"{column}_ours"], merged[f"{column}_theirs"]
        diff = paired_difference(a, b) if column.startswith("jaccard") else paired_difference(b, a)
        diff["winner"] = "ours" if diff["ci_low"] > 0 else "theirs" if diff["ci_high"] < 0 else "not settled"
        result[column] = diff
    return result


def versus_table(ours: dict, theirs: dict) -> pd.DataFrame:
    """The shipped model against the peer, per set of test photos and measure, raw and cleaned.

    ``ours``, ``theirs``: ``{test photos: per-image table}`` with the same keys. Positive
    gains favour the shipped model (:func:`versus`).
    """
    rows = []
    for photos, table in ours.items():
        for column, unit in (("jaccard", "pp"), ("hausdorff", "px")):
            for suffix, kind in (("", "raw"), ("_clean", "cleaned")):
                result = versus(table, theirs[photos], columns=(column + suffix,))[column + suffix]
                rows.append({"test photos": photos, "measure": f"{column} ({kind})",
                             "gain of the shipped model [95 % CI]": f"{result['mean_diff']:+.2f} {unit} "
                             f"[{result['ci_low']:+.2f}, {result['ci_high']:+.2f}]",
                             "Wilcoxon p": f"{result['p_wilcoxon']:.2g}",
                             "better": {"ours": "shipped LRN", "theirs": "peer"}.get(result["winner"], "not settled")})
    return pd.DataFrame(rows)


def versus_text(comparison: pd.DataFrame, photos: str = "official test") -> str:
    """Which model is better on ``photos`` by the raw scores, read from :func:`versus_table`."""
    raw = comparison[(comparison["test photos"] == photos) & comparison["measure"].str.endswith("(raw)")]
    better = dict(zip(raw["measure"].str.removesuffix(" (raw)"), raw["better"]))
    winners = set(better.values())
    if winners == {"shipped LRN"}:
        head = "the shipped model is better than the peer by both measures"
    elif winners == {"peer"}:
        head = "the peer is better than the shipped model by both measures"
    else:
        head = "neither model is better by both measures"
    detail = "; ".join(f"{measure}: {who}" for measure, who in better.items())
    return f"**On the {photos} photos (raw scores), {head}.** Better on each measure: {detail}."


# --- Speed -------------------------------------------------------------------------------

def median_ms(model, photo: np.ndarray, repeats: int = 10, forward=None, fit: str = "squash") -> float:
    """Median wall time in milliseconds of ``lrn.segment(model, photo, forward=forward, fit=fit)`` after a warm-up call."""
    cutout.segment(model, photo, forward=forward, fit=fit)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        cutout.segment(model, photo, forward=forward, fit=fit)
        times.append((time.perf_counter() - start) * 1e3)
    return float(statistics.median(times))


def size_label(photo: np.ndarray) -> str:
    """``"600x800 photo"``: a photo's width x height."""
    return f"{photo.shape[1]}x{photo.shape[0]} photo"


def speed_table(model, photos, forwards: dict, peer_summary: dict | None = None,
                repeats: int = 10, fit: str = "squash") -> pd.DataFrame:
    """Median ms of :func:`lrn.segment` for every photo and forward, beside the peer's time.

    Parameters
    ----------
    photos : sequence of numpy.ndarray
        Photos uint8 ``(H, W, 3)``, labelled by their size.
    forwards : dict
        ``{label: forward callable, or None for Keras' prediction}``.
    peer_summary : dict, optional
        The peer run's test summary (its ``ms_per_image`` setting is shown).
    """
    rows = [{"": f"{size_label(photo)}, {label}", "ms": f"{median_ms(model, photo, repeats, forward, fit):.1f}"}
            for label, forward in forwards.items() for photo in photos]
    if peer_summary:
        rows.append({"": "peer, per image (its run)",
                     "ms": f"{peer_summary['provenance']['settings']['ms_per_image']:.1f}"})
    return pd.DataFrame(rows, columns=["", "ms"])


# --- Failure modes -----------------------------------------------------------------------

FAILURE_COLUMNS = {"id": "id", "jaccard": "Jaccard (%), raw", "hausdorff": "Hausdorff (px), raw",
                   "jaccard_clean": "Jaccard (%), cleaned", "hausdorff_clean": "Hausdorff (px), cleaned",
                   "false_positive_pct": "false positives (% of background)",
                   "false_negative_pct": "false negatives (% of person)"}
"""Column of the failure table -> its heading on the page."""


def with_error_rates(table: pd.DataFrame, truths: np.ndarray, finest: np.ndarray) -> pd.DataFrame:
    """``table`` with each photo's false-positive and false-negative rates (%) of the raw prediction.

    ``truths``, ``finest``: masks and maps at 224x224 in the order of ``table``'s rows.
    """
    fp, fn = error_rates(truths, metrics.threshold_prob(finest))
    return table.assign(false_positive_pct=fp, false_negative_pct=fn)


def failure_table(rated: pd.DataFrame, n: int = 6) -> pd.DataFrame:
    """The ``n`` photos with the lowest Jaccard, with their error rates, headed for reading."""
    worst = rated.nsmallest(n, "jaccard")[list(FAILURE_COLUMNS)].round(2)
    return worst.rename(columns=FAILURE_COLUMNS).reset_index(drop=True)


def failure_text(rated: pd.DataFrame, n: int = 6, threshold: float = 90.0) -> str:
    """How many photos score below ``threshold`` Jaccard and which error dominates on the ``n`` worst."""
    worst = rated.nsmallest(n, "jaccard")
    below = 100 * float((rated["jaccard"] < threshold).mean())
    more_fn = int((worst["false_negative_pct"] > worst["false_positive_pct"]).sum())
    more_fp = int((worst["false_positive_pct"] > worst["false_negative_pct"]).sum())
    return (f"{below:.1f} % of the {len(rated)} photos score below {threshold:g} % Jaccard. On {more_fn} of the "
            f"{len(worst)} worst the model leaves out more of the person than it adds background (as shares of "
            f"each), on {more_fp} it adds more background than it leaves out.")


def failure_figure(images: np.ndarray, truths: np.ndarray, finest: np.ndarray, ids, rated: pd.DataFrame,
                   n: int = 6) -> plt.Figure:
    """Photo, truth and prediction of the ``n`` worst photos (:func:`lrnbook.plots.figure2`)."""
    worst = rated.nsmallest(n, "jaccard")
    rows = rows_of(ids, worst["id"])
    return plots.figure2(images[rows], truths[rows], {"shipped LRN": finest[rows]}, list(worst["id"]),
                         {"shipped LRN": worst["jaccard"].to_numpy()})


# --- The cut-out -------------------------------------------------------------------------

def best_median_worst(table: pd.DataFrame, column: str = "jaccard_clean") -> pd.DataFrame:
    """The rows of ``table`` with the highest, the median and the lowest ``column``, in that order."""
    order = np.argsort(table[column].to_numpy(), kind="stable")
    return table.iloc[[order[-1], order[len(order) // 2], order[0]]]


def cutout_figure(photos, probs, shown: pd.DataFrame, column: str = "jaccard_clean",
                  refined: bool = True) -> plt.Figure:
    """Photos above what ``lrn whiten`` writes for them (:func:`lrn.cutout.compose` on white).

    ``probs``: each photo's map at its own resolution (``lrn.segment``), a refined matte when
    ``refined`` (used as alpha directly) or a raw map (soft ramp); ``shown``: their rows of a
    score table (``id`` and ``column``), for the titles.
    """
    n = len(photos)
    side = plots.TEXT_WIDTH_IN / (2 * n)  # each photo beside its cut-out, in one row
    tallest = max(photo.shape[0] / photo.shape[1] for photo in photos)
    fig, axes = plt.subplots(1, 2 * n, figsize=(plots.TEXT_WIDTH_IN, side * tallest + 0.7), squeeze=False)
    for k, (photo, prob, row) in enumerate(zip(photos, probs, shown.itertuples())):
        axes[0, 2 * k].imshow(photo)
        axes[0, 2 * k].set_title(f"{row.id}\nJaccard {getattr(row, column):.1f} %", fontsize=10)
        axes[0, 2 * k + 1].imshow(cutout.compose(photo, cutout.alpha(prob, refined)))
        axes[0, 2 * k + 1].set_title("cut-out", fontsize=10)
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    return fig


# --- Terms and cost ----------------------------------------------------------------------

def terms_text(terms: str) -> str:
    """The model's terms of use, as a quote with where else they are stated."""
    return (f"> {terms}\n\nThe package metadata (`pyproject.toml`, licence field) says the same. "
            "Cite EG1800 (Shen et al., 2016) and the paper (Pinto and Cardoso, 2019) when you use it.")


def cost_text(page_seconds: float, card: dict) -> str:
    """This page's wall time and the model's recorded training time, in one sentence."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    text = f"Executing this page took {page_seconds / 60:.1f} min (wall time, {cores} CPU cores)"
    if card.get("train_seconds"):
        text += f"; training the model took {card['train_seconds'] / 60:.0f} min"
    return text + "."
