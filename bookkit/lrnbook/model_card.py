"""The model card page: the shipped LRN's facts, training, speed, failures, cut-out and terms.

The page (``notebooks/model_card.ipynb``) tells; the functions here compute. The test sets,
their scores beside the peer's and the worst photos are :mod:`lrnbook.card_sets`'. Functions
take arrays and tables and return a table, a figure or a markdown string.
"""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lrn import cutout, packing, shipped
from lrnbook import plots

# --- The model -------------------------------------------------------------------------

def facts_table(card: dict, parameters: int, max_bytes: int, tflite_bytes: int) -> pd.DataFrame:
    """The shipped model's facts, from its card (:func:`lrn.shipped.card`) and the loaded model.

    Parameters
    ----------
    card : dict
        The card ``make model`` wrote beside the file.
    parameters : int
        The loaded model's parameter count.
    max_bytes : int
        The most bytes the model may take inside the package, ``.keras`` and ``.tflite`` together
        (:data:`lrn.shipped.MAX_BYTES`).
    tflite_bytes : int
        Size of the model's ``.tflite`` inside the package (:func:`lrn.shipped.tflite_bytes`; 0 without one).

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
    feed = shipped.card_feed(card)
    entering = ("letterboxed into it (aspect ratio kept, the rest padded); maps are cropped and resized back"
                if feed == "pad" else "photos are resized to it; maps are resized back")
    counts = card.get("counts") or {}
    photos = f"{len(settings['train_ids'])} / {len(settings['val_ids'])}"
    if counts:
        small = (f" and {counts['train_small_people']} CCP people pasted small into other CCP street photos"
                 if counts.get("train_small_people") else "")
        photos += (f" (training: {counts.get('train_eg1800')} EG1800 portraits, {counts.get('train_ccp')} crops of "
                   f"CCP street photos{small}; validation: " + ", ".join(f"{v} {k.removeprefix('val ')}" for k, v in counts.items()
                                                             if k.startswith("val ")) + ")")
    facts = {
        "files in the package": files_text(card, max_bytes, tflite_bytes),
        "parameters": f"{parameters:,}",
        "input": " x ".join(map(str, card["input"])) + f" ({entering})",
        "width multiplier": settings["width"],
        "training photos / validation photos": photos,
        "optimiser": f"Adam, learning rate {settings['learning_rate']}, batch {settings['batch_size']}",
        "augmentation": f"flip, zoom ±{settings['zoom']}, rotation ±{settings['rotation_deg']}°",
        "epochs trained": epochs,
        "training command": card["train_command"],
        **({"chosen": f"{chosen_text(card)} of the page \u201cChoosing the cut-out model\u201d, by its rule "
                      "on validation photos"} if card.get("candidate") else {}),
        **({"lrn whiten cleans the map": clean_text(card["clean"])} if "clean" in card else {}),
        "training time": time_text + (f" ({card['note']})" if card.get("note") else ""),
        "git commit": card["provenance"]["git_commit"],
    }
    return pd.DataFrame(facts.items(), columns=["", "shipped model"])


def chosen_text(card: dict) -> str:
    """The shipped candidate as its card names it: its label and key, or the key alone
    (cards written before ``make model`` recorded the label)."""
    key = card["candidate"]
    return f"candidate \u201c{card['label']}\u201d ({key})" if card.get("label") else f"candidate {key}"


def clean_text(clean: bool) -> str:
    """Whether ``lrn whiten`` cleans the shipped model's map by default (``clean``: the card's
    choice for the map without refinement), and what turns that off (:func:`lrn.cutout.opacity`)."""
    steps = cutout.WHITEN_STEPS
    what = "the refined matte" if steps.index("refine") < steps.index("clean") else "the map"
    refined = (f"yes: by default {what} keeps its largest region, holes filled ({', '.join(steps)}, ramp: "
               "the page “Cut-outs without haze”); --raw turns it off")
    unrefined = ("cleaned too" if clean else "used as it is, every predicted region kept")
    return f"{refined}. With --refine none the map is {unrefined} (chosen on validation photos)"


def files_text(card: dict, max_bytes: int, tflite_bytes: int) -> str:
    """The model's two files, their precision and their sum against the package limit."""
    packed = shipped.card_packing(card)
    tflite = Path(card["file"]).with_suffix(".tflite").name
    keras_file = f"{card['file']} ({card['bytes'] / 10**6:.1f} MB, weights {packed.keras})"
    if packed.tflite is packing.CONVERTED_ON_FIRST_USE:
        text = (f"{keras_file} alone, limit {max_bytes / 10**6:.0f} MB (with its .tflite it would not fit: "
                "lrn whiten converts it on its first call and keeps the conversion in its cache)")
    else:
        text = (f"{keras_file} + {tflite} ({tflite_bytes / 10**6:.1f} MB, weights {packed.tflite}) = "
                f"{(card['bytes'] + tflite_bytes) / 10**6:.1f} MB, limit {max_bytes / 10**6:.0f} MB")
    if packed != packing.PACKINGS[0]:
        fidelity = card["packing_fidelity"]
        worst = min(fidelity[kind]["mask_jaccard_min"] for kind in ("keras", "tflite") if kind in fidelity)
        text += (f"; on {fidelity['keras']['inputs']} validation photos "
                 f"{'their masks match' if 'tflite' in fidelity else 'its masks match'} the "
                 f"float32 model's at Jaccard \u2265 {worst:.2f} %")
    return text


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


# --- Speed -------------------------------------------------------------------------------

def median_ms(model, photo: np.ndarray, repeats: int = 10, forward=None, feed: str | None = None) -> float:
    """Median wall time in milliseconds of ``lrn.segment(model, photo, forward=forward, feed=feed)`` after a warm-up call."""
    cutout.segment(model, photo, forward=forward, feed=feed)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        cutout.segment(model, photo, forward=forward, feed=feed)
        times.append((time.perf_counter() - start) * 1e3)
    return float(statistics.median(times))


def size_label(photo: np.ndarray) -> str:
    """``"600x800 photo"``: a photo's width x height."""
    return f"{photo.shape[1]}x{photo.shape[0]} photo"


def speed_table(model, photos, forwards: dict, peer_summary: dict | None = None,
                repeats: int = 10, feed: str | None = None) -> pd.DataFrame:
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
    rows = [{"": f"{size_label(photo)}, {label}", "ms": f"{median_ms(model, photo, repeats, forward, feed):.1f}"}
            for label, forward in forwards.items() for photo in photos]
    if peer_summary:
        rows.append({"": "peer, per image (its run)",
                     "ms": f"{peer_summary['provenance']['settings']['ms_per_image']:.1f}"})
    return pd.DataFrame(rows, columns=["", "ms"])


# --- Failure modes -----------------------------------------------------------------------

def failure_text(rated: pd.DataFrame, n: int = 6, threshold: float = 90.0) -> str:
    """How many photos score below ``threshold`` Jaccard and which error dominates on the ``n`` worst."""
    worst = rated.nsmallest(n, "jaccard")
    below = 100 * float((rated["jaccard"] < threshold).mean())
    more_fn = int((worst["false_negative_pct"] > worst["false_positive_pct"]).sum())
    more_fp = int((worst["false_positive_pct"] > worst["false_negative_pct"]).sum())
    return (f"{below:.1f} % of the {len(rated)} photos score below {threshold:g} % Jaccard. On {more_fn} of the "
            f"{len(worst)} worst the model leaves out more of the person than it adds background (as shares of "
            f"each), on {more_fp} it adds more background than it leaves out.")


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
