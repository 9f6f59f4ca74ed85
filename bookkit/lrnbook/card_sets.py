"""The model card's test photos: every set the project has, both models, raw and cleaned, worst photos.

Four sets, none seen in training or in the choice of the model: all usable official EG1800
test photos, CCP's test photos as head-and-torso crops and as whole frames, and small-people
photos made from CCP's test photos alone (:mod:`lrn.data.small_people`: a test person pasted
small onto another test photo's street). Each is an
:class:`lrn.data.people.EvalSet` (the shipped model is fed as it was trained, letterboxed or
squashed) kept with its photos at their own resolution (MediaPipe's selfie model is fed
those). Every map is scored at 224x224 in the squashed frame, like the rest of the book.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lrn import evaluate, haze, metrics, postprocess, predict
from lrn.cutout import as_cutout_model
from lrn.data import ccp, people, small_people
from lrn.data.eg1800 import originals
from lrn.errors import InputError
from lrn.shapes import EVAL_SIZE
from lrnbook import pages, plots
from lrnbook.peer import SCORE_COLUMNS
from lrnbook.stats import error_rates, paired_difference

SET_NAMES = ("EG1800 official test", "CCP head-and-torso test", "CCP full-frame test", "Small-people test")
SMALL_PEOPLE_TEST = 100
"""Photos of the small-people test set (seed :data:`lrn.data.people.SMALL_PEOPLE_SEED`)."""


def load_test_sets(official_ids) -> dict[str, tuple[people.EvalSet, list]]:
    """``{set name: (EvalSet, [(photo, mask) at own resolution])}`` for :data:`SET_NAMES`.

    ``official_ids``: the usable official EG1800 test ids (``lrn.data.eg1800(protocol="full").test.ids``).
    """
    ccp_ids = ccp.split_ids(ccp.manifest_ids())["test"]
    sources = {SET_NAMES[0]: (list(official_ids), lambda ids: originals(ids)),
               SET_NAMES[1]: (ccp_ids, lambda ids: ccp.originals(ids, "head_torso", progress=False)),
               SET_NAMES[2]: (ccp_ids, lambda ids: ccp.originals(ids, "full", progress=False))}
    sets = {}
    for name, (ids, read) in sources.items():
        pairs = read(ids)
        sets[name] = (people.eval_set(name, ids, pairs, EVAL_SIZE), pairs)
    made = small_people.make(sets[SET_NAMES[2]][1], ccp_ids, SMALL_PEOPLE_TEST, people.SMALL_PEOPLE_SEED)
    sets[SET_NAMES[3]] = (people.eval_set(SET_NAMES[3], made.ids, made.pairs, EVAL_SIZE), made.pairs)
    return sets


def share_text(s: people.EvalSet) -> str:
    """How much of the frame the person covers in a set's photos (truths at 224x224): range and median, in %."""
    shares = 100 * s.truths.reshape(len(s), -1).mean(axis=1)
    return (f"In the {len(s)} photos of *{s.name}*, the person covers {shares.min():.1f} to {shares.max():.1f} % "
            f"of the frame (median {np.median(shares):.1f} %).")


def rows_of(ids, subset) -> np.ndarray:
    """Positions in ``ids`` of the ids of ``subset``, in the order of ``subset``."""
    where = {str(i): k for k, i in enumerate(ids)}
    missing = [i for i in subset if str(i) not in where]
    if missing:
        raise InputError(f"{len(missing)} ids are not among the predicted images, e.g. {missing[0]}")
    return np.array([where[str(i)] for i in subset], int)


def shipped_maps(model, s: people.EvalSet, feed: str | None = None, chunk: int = 32) -> np.ndarray:
    """The shipped model's finest maps in the squashed 224x224 frame: float32 ``(N, 224, 224)``.

    ``model``: a :class:`lrn.cutout_model.CutoutModel` with a Keras network (:func:`lrn.pretrained`),
    fed its own way unless ``feed`` says otherwise.
    """
    model = as_cutout_model(model, feed)
    photos = s.inputs(model.feed)
    finest = np.concatenate([predict.predict_levels(model.network, photos[k:k + chunk])[-1]
                             for k in range(0, len(s), chunk)])
    return s.to_eval_frame(finest, model.feed)


def peer_maps(selfie, pairs) -> np.ndarray:
    """MediaPipe's maps of the photos at their own resolution, in the squashed 224x224 frame.

    Each photo is resized to the model's input and its map straight to 224x224
    (:meth:`lrnbook.peer.SelfieSegmenter.predict_batch`, one photo at a time since their sizes
    differ): the path of the peer page's own scores, so that the same photos get the same scores
    on every page (a detour through the photo's resolution would move a few boundary pixels).
    """
    if not pairs:
        return np.zeros((0, EVAL_SIZE, EVAL_SIZE), np.float32)
    return np.concatenate([selfie.predict_batch(np.asarray(photo)[None]) for photo, _ in pairs])


def scores(s: people.EvalSet, maps: np.ndarray) -> pd.DataFrame:
    """Per-photo raw and cleaned scores (:func:`lrn.evaluate.score_levels`) with the error rates of the
    raw mask (``false_positive_pct``, ``false_negative_pct``) and of the cleaned one (``..._clean_pct``)."""
    table = evaluate.score_levels(s.ids, [maps], s.truths)
    raw = metrics.threshold_prob(maps)
    fp, fn = error_rates(s.truths, raw)
    fp_clean, fn_clean = error_rates(s.truths, postprocess.clean_batch(raw))
    return table.assign(false_positive_pct=fp, false_negative_pct=fn, false_positive_clean_pct=fp_clean,
                        false_negative_clean_pct=fn_clean)


def sets_table(tables: dict[str, dict[str, pd.DataFrame]]) -> pd.DataFrame:
    """One row per set and model: raw and cleaned Jaccard / Hausdorff (mean ± std).

    Narrow enough for the text column: the number of photos goes with the set's name, which
    only the set's first row repeats, and each measure's raw and cleaned columns stand together
    (:data:`lrnbook.peer.SCORE_COLUMNS`, the order of the peer page's first table too).
    """
    rows = []
    for set_name, by_model in tables.items():
        for k, (model, table) in enumerate(by_model.items()):
            row = pages.score_row(model, table)
            rows.append({"photos": f"{set_name} ({row['images']})" if k == 0 else "", "model": model,
                         **{label: row[label] for label in SCORE_COLUMNS}})
    return pd.DataFrame(rows)


MEASURES = (("jaccard", "Jaccard", "pp", True), ("hausdorff", "Hausdorff", "px", False))
"""Score column, name, unit of a difference, and whether higher is better."""


def paired(a: pd.DataFrame, b: pd.DataFrame, column: str, higher_better: bool) -> dict:
    """The paired gain of ``a`` over ``b`` on one score column (positive when ``a`` is better: Jaccard
    ``a - b``, Hausdorff ``b - a``), its 95 % interval (:func:`lrnbook.stats.paired_difference`), and
    ``"a"``, ``"b"`` or ``None`` for the model the interval favours (``None`` when it includes 0)."""
    x, y = a[column].to_numpy(), b[column].to_numpy()
    d = paired_difference(x, y) if higher_better else paired_difference(y, x)
    winner = None if d["ci_low"] <= 0 <= d["ci_high"] else ("a" if d["mean_diff"] > 0 else "b")
    return {"mean_a": float(x.mean()), "mean_b": float(y.mean()), "gain": d["mean_diff"],
            "low": d["ci_low"], "high": d["ci_high"], "winner": winner}


def bound_text(x: float) -> str:
    """An interval bound with its sign: two decimals (``"+1.30"``), or as many more as it takes for a
    bound that is not zero not to print as zero (``"+0.004"``, not ``"+0.00"``, which would read as
    an interval touching 0 beside a verdict that it excludes it)."""
    digits = 2
    while x != 0 and round(abs(x), digits) == 0 and digits < 8:
        digits += 1
    return f"{x:+.{digits}f}"


def versus_text(tables: dict[str, dict[str, pd.DataFrame]], ours: str, theirs: str, clean: bool = True) -> str:
    """Per set, cleaned (or raw) Jaccard and Hausdorff: which model the paired 95 % interval favours, with the numbers.

    The paired difference is given as the gain of ``ours`` over ``theirs``, positive when ``ours``
    is better on either measure (Jaccard ours minus theirs, Hausdorff theirs minus ours).
    """
    lines = []
    suffix = "_clean" if clean else ""
    for set_name, by_model in tables.items():
        parts = []
        for column, _, _, higher_better in MEASURES:
            r = paired(by_model[ours], by_model[theirs], column + suffix, higher_better)
            winner = {"a": ours, "b": theirs, None: "neither (the interval includes 0)"}[r["winner"]]
            unit = "% Jaccard" if higher_better else "px Hausdorff"
            parts.append(f"{r['mean_a']:.2f} vs {r['mean_b']:.2f} {unit}, better: {winner} (gain of {ours} "
                         f"{r['gain']:+.2f}, 95 % interval {bound_text(r['low'])} to {bound_text(r['high'])})")
        lines.append(f"- *{set_name}*, {'cleaned' if clean else 'raw'}, {ours} vs {theirs}: " + "; ".join(parts) + ".")
    return "\n".join(lines)


def names_text(names) -> str:
    """``"A"``, ``"A and B"``, ``"A, B and C"``."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def margin_text(results: list[dict], unit: str) -> str:
    """How far the favoured model is ahead on one measure over a group of sets, as its gain:
    ``"by 4.27 to 10.17 pp"``, or ``"by 7.77 pp, 95 % interval +0.17 to +15.40"`` for a single set."""
    sign = 1 if results[0]["winner"] == "a" else -1
    gains = [sign * r["gain"] for r in results]
    if len(results) == 1:
        low, high = sorted((sign * results[0]["low"], sign * results[0]["high"]))
        return f"by {gains[0]:.2f} {unit}, 95 % interval {bound_text(low)} to {bound_text(high)}"
    low, high = f"{min(gains):.2f}", f"{max(gains):.2f}"
    return f"by {low} to {high} {unit}" if low != high else f"by {low} {unit}"


def versus_summary(tables: dict[str, dict[str, pd.DataFrame]], ours: str, theirs: str, clean: bool = True) -> str:
    """The result of :func:`versus_text` in one sentence: which model leads on which sets, and by how much.

    Sets are grouped by the model that the paired 95 % intervals favour on Jaccard and on
    Hausdorff; a set where the two measures favour different models, or where an interval
    includes 0, is named with what each measure says.
    """
    suffix = "_clean" if clean else ""
    groups: dict[tuple, list] = {}
    for set_name, by_model in tables.items():
        results = [paired(by_model[ours], by_model[theirs], column + suffix, higher_better)
                   for column, _, _, higher_better in MEASURES]
        groups.setdefault(tuple(r["winner"] for r in results), []).append((set_name, results))
    who = {"a": ours, "b": theirs}
    clauses = []
    for winners, members in groups.items():
        sets = names_text(f"*{name}*" for name, _ in members)  # italics mark a set's name, as elsewhere
        margins = {name: margin_text([results[k] for _, results in members], unit) if winners[k] else None
                   for k, (_, name, unit, _) in enumerate(MEASURES)}
        if len(set(winners)) == 1 and winners[0] is not None:
            clauses.append(f"{who[winners[0]]} leads on {sets} ("
                           + "; ".join(f"{name} {m}" for name, m in margins.items()) + ")")
        elif set(winners) == {None}:
            clauses.append(f"neither model leads on {sets} (every interval includes 0)")
        else:
            said = [f"{name} favours {who[w]} {margins[name]}" if w else f"{name}: no difference shown, the interval includes 0"
                    for w, name in zip(winners, margins)]
            clauses.append(f"on {sets} the two measures do not agree ({'; '.join(said)})")
    return f"By the paired 95 % intervals of the {'cleaned' if clean else 'raw'} scores, " + "; ".join(clauses) + "."


def worst_figure(s: people.EvalSet, maps: np.ndarray, table: pd.DataFrame, model: str, n: int = 5) -> plt.Figure:
    """The ``n`` photos of a set with the lowest cleaned Jaccard: photo with the truth's outline,
    and the model's cleaned mask with the same outline, with both scores under it."""
    worst = table.nsmallest(n, "jaccard_clean")
    rows = rows_of(s.ids, worst["id"])
    side = plots.TEXT_WIDTH_IN / n
    fig, axes = plt.subplots(2, n, figsize=(plots.TEXT_WIDTH_IN, 2 * side + 1.1), squeeze=False)
    for col, (k, row) in enumerate(zip(rows, worst.itertuples())):
        mask = postprocess.clean_batch(metrics.threshold_prob(maps[k:k + 1]))[0]
        axes[0, col].imshow(plots.with_outline(s.squashed[k], s.truths[k]))
        axes[0, col].set_title(str(row.id), fontsize=10)
        axes[1, col].imshow(plots.mask_with_outline(mask, s.truths[k]))
        axes[1, col].set_xlabel(f"J {row.jaccard_clean:.1f} %\nH {row.hausdorff_clean:.1f} px", fontsize=10)
    axes[0, 0].set_ylabel("photo,\ntruth in red", fontsize=10)
    axes[1, 0].set_ylabel(f"{model},\ncleaned", fontsize=10)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def seen_ids(settings: dict) -> dict[str, set[str]]:
    """The EG1800 and CCP ids a model was trained or validated on, from its provenance settings.

    Ids are ``"00017"`` or ``"eg1800/00017"`` (EG1800), ``"ccp/0001@0.5"``, ``"ccp_head_torso/0001"``
    or ``"ccp_full/0001"`` (CCP; :mod:`lrn.data.people`), and ``"small/0001@0002"`` (a small-people
    photo: CCP person ``0001`` on CCP photo ``0002``'s street).
    """
    seen = {"EG1800": set(), "CCP": set()}
    for i in [*settings["train_ids"], *settings["val_ids"]]:
        source, _, rest = i.rpartition("/")
        if source == "small":
            seen["CCP"].update(rest.split("@"))
        else:
            seen["CCP" if source.startswith("ccp") else "EG1800"].add(rest.split("@")[0])
    return seen


def source_ids(set_name: str, ids) -> set[str]:
    """The dataset ids behind a test set's photos (a small-people photo is made of two CCP photos)."""
    if set_name == SET_NAMES[3]:
        return {part for i in ids for part in str(i).split("@")}
    return {str(i) for i in ids}


def training_settings(card: dict) -> dict:
    """A model card's training settings (its provenance's), with the data ids that make model
    added for a model whose provenance lacks them (``data_ids``, :func:`lrnbook.ship.data_ids`)."""
    ids = {k: v for k, v in (card.get("data_ids") or {}).items() if k in ("train_ids", "val_ids")}
    return {**ids, **card["provenance"]["settings"]}


def check_unseen(settings: dict, test_sets: dict) -> str:
    """Check that no test photo was used in training or validation; a sentence saying so, else ``InputError``."""
    seen = seen_ids(settings)
    counts = []
    for name, (s, _) in test_sets.items():
        overlap = seen["EG1800" if name.startswith("EG1800") else "CCP"] & source_ids(name, s.ids)
        if overlap:
            raise InputError(f"{len(overlap)} photos of {name} were used in training or validation, e.g. {min(overlap)}")
        counts.append(f"{len(s)} {name}")
    return (f"None of the test photos ({', '.join(counts)}) was used for training or validation, nor in choosing "
            "the model.")


def whitened_text(means_by_model: dict[str, pd.DataFrame]) -> str:
    """Under :func:`whitened_table`: the set on which the first model (the shipped one) leaves the most
    background opacity, beside every other model on that set, and the set with the least.
    Empty when no set has a background pixel."""
    (name, means), *others = means_by_model.items()
    rows = means.set_index("set").dropna(subset=["background_alpha"]).sort_values("background_alpha", kind="stable")
    if rows.empty:
        return ""
    most, least = rows.index[-1], rows.index[0]
    beside = "; ".join(f"{other} {m.set_index('set').loc[most, 'background_alpha']:.2f} %" for other, m in others)
    text = (f"The {name} leaves the most background opacity on *{most}*: {rows.loc[most, 'background_alpha']:.2f} % on "
            f"average, {rows.loc[most, 'hazy_share']:.2f} % of the background above {haze.HAZE_ALPHA:g}"
            + (f" ({beside} on the same photos)" if beside else "") + ".")
    if least != most:
        text += f" The least is on *{least}*: {rows.loc[least, 'background_alpha']:.2f} %."
    return text


def whitened_table(means_by_model: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """What ``lrn whiten`` writes, one row per test set and model: Jaccard and Hausdorff at 224x224,
    and the haze (:mod:`lrn.haze`) at the photo's resolution, means over the set's photos.

    ``means_by_model``: ``{model: per-set means}`` (:func:`lrnbook.haze_choice.set_means`, one pipeline).
    """
    rows = []
    sets = list(dict.fromkeys(next(iter(means_by_model.values()))["set"]))
    for set_name in sets:
        for k, (model, means) in enumerate(means_by_model.items()):
            r = means[means["set"] == set_name].iloc[0]
            rows.append({"photos": f"{set_name} ({r.photos})" if k == 0 else "", "model": model,
                         "Jaccard (%)": f"{r.jaccard:.2f}", "Hausdorff (px)": f"{r.hausdorff:.2f}",
                         "background opacity (%)": f"{r.background_alpha:.2f}",
                         f"background above {haze.HAZE_ALPHA:g} (%)": f"{r.hazy_share:.2f}"})
    return pd.DataFrame(rows)
