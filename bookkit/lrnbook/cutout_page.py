"""The page that chooses the cut-out model: every candidate and lever scored on validation photos.

The candidates' fit stages (:mod:`lrnbook.cutoutfit`) store the finest map of every
validation photo of the four kinds (:data:`lrn.data.people.SETS`), fed both ways
(``pad``, ``squash``), with the truths. Here they are scored (raw and cleaned), tabled and
compared; the choice is made by :func:`choose` and nothing else. Functions take the stored
arrays and return tables, figures or sentences computed from them. A -VGG candidate's
first-stage model (encoder frozen) is a candidate of its own, ``<name>@stage1``
(:data:`lrnbook.candidate_files.STAGE1_OUTPUTS`).
"""
from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lrn import evaluate
from lrn.errors import InputError
from lrn.cutout_model import FEEDS
from lrn.data.people import SETS
from lrnbook.candidate_files import STAGE1_OUTPUTS, STAGE1_SUFFIX
from lrnbook import card_sets, pages
from lrnbook.cutoutfit import read_predictions
from lrnbook.plots import TEXT_WIDTH_IN
from lrnbook.stats import paired_difference

CHOICE_RULE = ("the candidate, way of feeding photos (letterboxed or squashed) and cleaning (on or off) with the "
               "highest mean, over the four kinds of validation photos, of the mean Jaccard index")
"""How the shipped model and its inference settings are chosen (validation photos only)."""


def read_candidates(names: list[str], root=".") -> dict[str, dict]:
    """Stored validation predictions by candidate (``results/cutout_<name>/predictions.npz``, and
    ``<name>@stage1`` from ``stage1_predictions.npz``); missing ones are left out."""
    found = {}
    for name in names:
        folder = Path(root) / "results" / f"cutout_{name}"
        if (folder / STAGE1_OUTPUTS[0]).is_file():
            found[name + STAGE1_SUFFIX] = read_predictions(folder / STAGE1_OUTPUTS[0])
        if (folder / "predictions.npz").is_file():
            found[name] = read_predictions(folder / "predictions.npz")
    return found


def candidate_labels(labels: dict[str, str], found) -> dict[str, str]:
    """``labels`` with one for each first-stage candidate among ``found``."""
    out = dict(labels)
    for name in found:
        if name.endswith(STAGE1_SUFFIX):
            base = name[:-len(STAGE1_SUFFIX)]
            out[name] = f"{labels.get(base, base)}, first stage only (encoder frozen)"
    return out


def score_candidates(candidates: dict[str, dict]) -> pd.DataFrame:
    """Per-image scores: one row per candidate, set, fit, cleaning and photo.

    Columns ``candidate, set, fit, clean, id, jaccard`` (%), ``hausdorff`` (px at 224x224).
    """
    rows = []
    for name, sets in candidates.items():
        for set_name, stored in sets.items():
            for fit, clean in itertools.product(FEEDS, (False, True)):
                jaccard, hausdorff = evaluate.score_maps(stored["truths"], stored[fit], clean=clean)
                rows.append(pd.DataFrame({"candidate": name, "set": set_name, "fit": fit, "clean": clean,
                                          "id": stored["ids"], "jaccard": jaccard, "hausdorff": hausdorff}))
    return pd.concat(rows, ignore_index=True)


def means(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean Jaccard and Hausdorff per candidate, fit, cleaning and set, plus their mean over the sets."""
    per_set = scores.groupby(["candidate", "fit", "clean", "set"], sort=False)[["jaccard", "hausdorff"]].mean()
    table = per_set.unstack("set")
    table = table.reindex(columns=[(m, s) for m in ("jaccard", "hausdorff") for s in SETS if s in per_set.index.levels[3]])
    for metric in ("jaccard", "hausdorff"):
        table[(metric, "mean of the sets")] = table[metric].mean(axis=1)
    return table


def choose(scores: pd.DataFrame) -> dict:
    """The choice of :data:`CHOICE_RULE`: ``{"candidate", "fit", "clean", "jaccard", "hausdorff"}`` (means of the sets)."""
    table = means(scores)
    best = table[("jaccard", "mean of the sets")].idxmax()
    return {"candidate": best[0], "fit": best[1], "clean": bool(best[2]),
            "jaccard": float(table.loc[best, ("jaccard", "mean of the sets")]),
            "hausdorff": float(table.loc[best, ("hausdorff", "mean of the sets")])}


def lever_table(scores: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """:func:`means` as a table a reader can scan: one row per candidate and setting, ``J % / H px`` per set."""
    table = means(scores)
    labels = labels or {}
    rows = []
    for (candidate, fit, clean), row in table.iterrows():
        out = {"candidate": labels.get(candidate, candidate),
               "fed": ("letterboxed" if fit == "pad" else "squashed") + (", cleaned" if clean else ", raw")}
        for set_name in [s for s in SETS if ("jaccard", s) in row.index] + ["mean of the sets"]:
            out[set_name.replace("mean of the sets", "mean")] = (f"{row[('jaccard', set_name)]:.2f} / "
                                                                 f"{row[('hausdorff', set_name)]:.2f}")
        rows.append(out)
    return pd.DataFrame(rows)


def lever_effect(scores: pd.DataFrame, base: dict, changed: dict, metric: str = "jaccard") -> pd.DataFrame:
    """Paired effect of one change (``changed`` minus ``base``, each a dict of candidate/fit/clean) per set.

    Returns one row per set: mean difference, its 95 % bootstrap interval, the Wilcoxon p-value.
    """
    def pick(where):
        mask = np.ones(len(scores), bool)
        for key, value in where.items():
            mask &= (scores[key] == value).to_numpy()
        return scores[mask]

    a, b = pick(changed), pick(base)
    rows = []
    for set_name in [s for s in SETS if s in set(scores["set"])]:
        x = a[a["set"] == set_name].set_index("id")[metric]
        y = b[b["set"] == set_name].set_index("id")[metric].reindex(x.index)
        d = paired_difference(x.to_numpy(), y.to_numpy())
        rows.append({"set": set_name, "difference": d["mean_diff"], "ci_low": d["ci_low"], "ci_high": d["ci_high"],
                     "p": d["p_wilcoxon"]})
    return pd.DataFrame(rows)


def effect_text(gains: pd.DataFrame, what: str, unit: str) -> str:
    """One clause per set saying whether a change helped, from rows of :func:`lever_gains`
    (``set``, ``gain``, ``ci_low``, ``ci_high``; a positive gain is better on either measure)."""
    parts = []
    for row in gains.itertuples():
        low, high = card_sets.bound_text(row.ci_low), card_sets.bound_text(row.ci_high)  # never "+0.00" beside "better"
        if row.ci_low > 0 or row.ci_high < 0:
            parts.append(f"{row.set}: {'better' if row.gain > 0 else 'worse'}, gain {row.gain:+.2f} {unit} "
                         f"(95 % interval {low} to {high})")
        else:
            parts.append(f"{row.set}: no clear change (gain {row.gain:+.2f} {unit}, interval "
                         f"{low} to {high} includes 0)")
    return f"{what}: " + "; ".join(parts) + "."


def distribution_figure(scores: pd.DataFrame, settings: list[tuple[str, str, bool]], labels: dict[str, str]) -> plt.Figure:
    """Per-image Jaccard of chosen ``(candidate, fit, clean)`` settings on each kind of photo (box plots).

    One panel as wide as the text column: a group of boxes per kind of photo, one colour per
    setting, the settings named in a legend under the panel (their names are too long for ticks).
    """
    sets = [s for s in SETS if s in set(scores["set"])]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, 3.4))
    width = 0.8 / max(len(settings), 1)
    handles = []
    for k, (candidate, fit, clean) in enumerate(settings):
        data = []
        for set_name in sets:
            rows = scores[(scores["set"] == set_name) & (scores["candidate"] == candidate) & (scores["fit"] == fit)
                          & (scores["clean"] == clean)]
            data.append(rows["jaccard"].to_numpy())
        positions = np.arange(len(sets)) + (k - (len(settings) - 1) / 2) * width
        colour = colours[k % len(colours)]
        boxes = ax.boxplot(data, positions=positions, widths=width * 0.85, patch_artist=True, showfliers=True,
                           flierprops={"markersize": 3, "markeredgecolor": colour},
                           boxprops={"facecolor": "white", "edgecolor": colour},
                           medianprops={"color": colour}, whiskerprops={"color": colour}, capprops={"color": colour})
        handles.append((boxes["boxes"][0], setting_label(candidate, fit, clean, labels)))
    ax.set_xticks(np.arange(len(sets)), sets, fontsize=10)
    ax.set_ylabel("Jaccard index (%) per photo", fontsize=10)
    ax.tick_params(axis="y", labelsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.legend([h for h, _ in handles], [name for _, name in handles], loc="upper center",
               bbox_to_anchor=(0.5, 0.0), ncol=1, fontsize=9, frameon=False)
    return fig


def setting_label(candidate: str, fit: str, clean: bool, labels: dict[str, str]) -> str:
    """A setting as a legend names it: the candidate (its label), how photos were fed, cleaning on or off.

    E.g. ``"EG1800 + CCP framings, letterboxed — fed letterboxed, not cleaned"``: the candidate's
    label may itself name a way of feeding (how it was trained), so the way it is fed here is said apart.
    """
    return (f"{labels.get(candidate, candidate)} \u2014 fed {'letterboxed' if fit == 'pad' else 'squashed'}, "
            f"{'cleaned' if clean else 'not cleaned'}")


def distribution_caption(scores: pd.DataFrame, settings: list[tuple[str, str, bool]], labels: dict[str, str]) -> str:
    """The caption under :func:`distribution_figure`: what is plotted, on which photos, in which settings."""
    first = scores[(scores["candidate"] == settings[0][0]) & (scores["fit"] == settings[0][1])
                   & (scores["clean"] == settings[0][2])] if settings else scores.iloc[:0]
    counts = first.groupby("set", sort=False).size()
    kinds = ", ".join(f"{name}: {counts[name]}" for name in SETS if name in counts.index)
    shown = "; ".join(setting_label(c, f, k, labels) for c, f, k in settings)
    return (f"*Per-photo Jaccard index on the validation photos* ({kinds} photos), one group of boxes per kind of "
            f"photo and one colour per setting: {shown}. A box spans the middle half of the photos, its line is the "
            "median, the whiskers reach the last photo within 1.5 box lengths, and each dot beyond is one photo.")


def availability_text(names: list[str], found: dict, labels: dict[str, str], progress: dict | None = None) -> str:
    """Which candidates have stored validation predictions, and which are still to train (with how
    far each is, from ``progress``: name -> its fit's "not run" record or None, :func:`lrnbook.pages.progress_note`)."""
    def quoted(names_):  # the labels themselves hold commas
        return "; ".join(f"\u201c{labels.get(n, n)}\u201d" for n in names_)

    def where(name):
        record = (progress or {}).get(name)
        return f" ({pages.progress_text(record)}, {pages.as_of(record)})" if record and record.get("in_progress") else ""

    missing = [n for n in names if n not in found]
    text = f"Candidates scored here: {quoted(found) or 'none'}."
    if missing:
        them, they = ("them", "they have") if len(missing) > 1 else ("it", "it has")
        listed = "; ".join(quoted([n]) + where(n) for n in missing)
        text += (f" Not finished training yet (no validation predictions): {listed}. `make train` trains "
                 f"{them} in turn, and once {they} finished this page chooses again, by the same rule, among "
                 "all the candidates; until then the levers that need "
                 f"{them} are not compared.")
    return text


def _setting(candidate: str, fit: str, clean: bool) -> dict:
    return {"candidate": candidate, "fit": fit, "clean": clean}


def own_fit(scores: pd.DataFrame, candidate: str) -> str:
    """The fit a candidate does best with on validation (mean over the sets of the raw mean Jaccard)."""
    table = means(scores)
    return max(FEEDS, key=lambda fit: table.loc[(candidate, fit, False), ("jaccard", "mean of the sets")])


def comparisons(scores: pd.DataFrame, baseline: str = "eg1800_only",
                twins: dict[str, str] | None = None) -> list[tuple[str, dict, dict]]:
    """The lever comparisons that the stored candidates allow: ``(what, base setting, changed setting)``.

    For every candidate: its way of feeding photos, cleaning, and the candidate against
    ``baseline``. ``twins`` (ImageNet candidate -> random-start candidate on the same data,
    :func:`lrnbook.plan.encoder_twins`) adds what the ImageNet encoder changes, for the whole
    model and for its first stage alone, and what training all layers adds to that first stage.
    """
    names = list(dict.fromkeys(scores["candidate"]))
    out = []

    def against(name, base, why):
        out.append((f"{{{name}}} instead of {{{base}}}{why}, each fed as it does best on validation, raw",
                    _setting(base, own_fit(scores, base), False), _setting(name, own_fit(scores, name), False)))

    for name in names:
        fit = own_fit(scores, name)
        other = "squash" if fit == "pad" else "pad"
        word = {"pad": "letterboxed", "squash": "squashed"}
        out.append((f"{{{name}}}: feeding photos the way it does best on validation ({word[fit]}) instead of "
                    f"{word[other]}", _setting(name, other, False),
                    _setting(name, fit, False)))
        out.append((f"{{{name}}}: cleaning, fed {word[fit]}", _setting(name, fit, False), _setting(name, fit, True)))
        if name != baseline and baseline in names:
            against(name, baseline, "")
        base = name.removesuffix(STAGE1_SUFFIX)
        twin = (twins or {}).get(base)
        if twin in names:
            against(name, twin, " (what the ImageNet encoder changes)")
        if name == base and base + STAGE1_SUFFIX in names:
            against(name, base + STAGE1_SUFFIX, " (what training all layers adds)")
    return out


def lever_texts(gains: pd.DataFrame) -> list[str]:
    """One paragraph per comparison of :func:`lever_gains`, numbered as the rows of :func:`lever_figure`:
    the Jaccard and Hausdorff gains per set, in words."""
    texts = []
    for k, title in enumerate(dict.fromkeys(gains["comparison"]), start=1):
        part = gains[gains["comparison"] == title]
        jaccard = effect_text(part[part["measure"] == "jaccard"], "Jaccard", "pp")
        hausdorff = effect_text(part[part["measure"] == "hausdorff"], "Hausdorff", "px")
        texts.append(f"**{k}. {title}.** {jaccard} {hausdorff}")
    return texts


def lever_gains(scores: pd.DataFrame, labels: dict[str, str], baseline: str = "eg1800_only",
                twins: dict[str, str] | None = None) -> pd.DataFrame:
    """Every comparison of :func:`comparisons` as gains, one row per comparison, set and measure.

    Columns ``comparison`` (its title), ``set``, ``measure`` (``"jaccard"``/``"hausdorff"``), ``gain``,
    ``ci_low``, ``ci_high`` (95 % bootstrap interval). A gain is positive when the change helps:
    Jaccard changed minus base (pp), Hausdorff base minus changed (px).
    """
    rows = []
    for what, base, changed in comparisons(scores, baseline, twins):
        title = what.format(**{n: labels.get(n, n) for n in set(scores["candidate"])})
        for measure, sign in (("jaccard", 1.0), ("hausdorff", -1.0)):
            for r in lever_effect(scores, base, changed, measure).itertuples():
                low, high = sorted((sign * r.ci_low, sign * r.ci_high))
                rows.append({"comparison": title, "set": r.set, "measure": measure, "gain": sign * r.difference,
                             "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def lever_figure(gains: pd.DataFrame) -> plt.Figure:
    """A forest plot of :func:`lever_gains`: one row of two panels per comparison (Jaccard gain in pp,
    Hausdorff gain in px), one point and 95 % interval per kind of photo, right of zero = the change
    helps. Each measure's panels share one scale, so rows can be compared at a glance; every row
    has its own tick labels, and the measures are named above the first row and below the last."""
    titles = list(dict.fromkeys(gains["comparison"]))
    sets = [s for s in SETS if s in set(gains["set"])]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    measures = (("jaccard", "Jaccard gain (pp)"), ("hausdorff", "Hausdorff gain (px)"))
    head_in = 0.75  # legend and column names above the first row
    fig, axes = plt.subplots(len(titles), 2, figsize=(TEXT_WIDTH_IN, head_in + 1.45 * len(titles)), sharex="col",
                             squeeze=False)
    for row, title in enumerate(titles):
        for col, (measure, name) in enumerate(measures):
            ax = axes[row, col]
            part = gains[(gains["comparison"] == title) & (gains["measure"] == measure)].set_index("set")
            for k, set_name in enumerate(sets):
                if set_name not in part.index:
                    continue
                r = part.loc[set_name]
                ax.errorbar(r["gain"], -k, xerr=[[r["gain"] - r["ci_low"]], [r["ci_high"] - r["gain"]]], fmt="o",
                            markersize=4, capsize=2, color=colours[k % len(colours)], label=set_name if row == 0 else None)
            ax.axvline(0, color="0.4", linewidth=0.8)
            ax.set_ylim(-len(sets) + 0.4, 0.6)
            ax.set_yticks([])
            ax.grid(axis="x", alpha=0.3)
            ax.tick_params(axis="x", labelsize=8, labelbottom=True)
            if row == len(titles) - 1:
                ax.set_xlabel(f"{name}, right = better", fontsize=10)
        axes[row, 0].set_title("\n".join(textwrap.wrap(f"{row + 1}. {title}", 105)), loc="left", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - head_in / fig.get_figheight()), h_pad=0.6, w_pad=2.0)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=len(sets), fontsize=9,
               frameon=False, bbox_to_anchor=(0.5, 1.0))
    top = 1 - 0.42 / fig.get_figheight()
    for col, (_, name) in enumerate(measures):
        box = axes[0, col].get_position()
        fig.text((box.x0 + box.x1) / 2, top, f"{name}, right = better", ha="center", va="top", fontsize=10,
                 weight="bold")
    return fig


def choice_text(choice: dict, labels: dict[str, str]) -> str:
    """The rule and what it chose."""
    return (f"The rule: {CHOICE_RULE}. It chooses **{setting_label(choice['candidate'], choice['fit'], choice['clean'], labels)}**: "
            f"mean over the four kinds of validation photos {choice['jaccard']:.2f} % Jaccard, "
            f"{choice['hausdorff']:.2f} px Hausdorff.")


def shown_settings(scores: pd.DataFrame, choice: dict, baseline: str = "eg1800_only") -> list[tuple[str, str, bool]]:
    """The settings of :func:`distribution_figure`: the first model shipped (``baseline``) as it was used, and the choice."""
    shown = []
    if baseline in set(scores["candidate"]):
        shown.append((baseline, "squash", True))
    chosen = (choice["candidate"], choice["fit"], choice["clean"])
    if chosen not in shown:
        shown.append(chosen)
    return shown


def summary_text(scores: pd.DataFrame, choice: dict, labels: dict[str, str], baseline: str = "eg1800_only") -> str:
    """Bullet points comparing the chosen setting with the first model shipped (``baseline``; squashed, cleaned), per set."""
    table = means(scores)
    chosen = (choice["candidate"], choice["fit"], choice["clean"])
    lines = [f"- Chosen on validation photos by a fixed rule: {setting_label(*chosen, labels)}."]
    before = (baseline, "squash", True)
    if before in table.index and chosen != before:
        for set_name in [s for s in SETS if ("jaccard", s) in table.columns]:
            a, b = table.loc[chosen, ("jaccard", set_name)], table.loc[before, ("jaccard", set_name)]
            ha, hb = table.loc[chosen, ("hausdorff", set_name)], table.loc[before, ("hausdorff", set_name)]
            lines.append(f"- {set_name}: Jaccard {b:.2f} → {a:.2f} % ({'higher' if a > b else 'lower'}), "
                         f"Hausdorff {hb:.2f} → {ha:.2f} px ({'lower' if ha < hb else 'higher'}) against the "
                         "first model shipped (squashed, cleaned).")
    lines.append("- The test photos are scored once, for the chosen model, on the model card.")
    return "\n".join(lines)


def versus_peer(found: dict, choice: dict, val_sets: dict, segmenter) -> dict[str, dict[str, pd.DataFrame]]:
    """Per kind of validation photo, the per-photo scores of the chosen setting and of MediaPipe.

    ``found``: :func:`read_candidates`; ``val_sets``: :func:`lrn.data.people.validation_sets`
    (MediaPipe takes the photos at their own resolution); ``segmenter``: a
    :class:`lrnbook.peer.SelfieSegmenter`. Returns ``{kind: {"chosen": scores, "MediaPipe": scores}}``
    (:func:`lrnbook.card_sets.scores`, raw and cleaned), the photos in the same order.
    """
    stored = found[choice["candidate"]]
    tables = {}
    for name, (s, pairs) in val_sets.items():
        mine = stored[name]
        if list(mine["ids"]) != list(s.ids) or not np.array_equal(mine["truths"], s.truths):
            raise InputError(f"{name}: the stored predictions of {choice['candidate']} hold other photos or truths "
                             "than the validation photos read now")
        tables[name] = {"chosen": card_sets.scores(s, mine[choice["fit"]].astype(np.float32)),
                        "MediaPipe": card_sets.scores(s, card_sets.peer_maps(segmenter, pairs))}
    return tables
