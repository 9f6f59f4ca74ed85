"""Helpers the book's notebooks call: provenance box, result files, score tables, Table 1.

Notebooks tell the story; what they compute lives here and in the modules they call, where
it is tested. A page runs in its profile's folder ``notebooks/runs/<profile>/``; result
files of a run live in ``results/<name>/`` there and stage records in ``stages/``.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown, display

from lrn import data, metrics, predict, provenance
from lrn.shapes import EVAL_SIZE
from lrn.variants import DISPLAY_NAMES, VARIANTS, is_imagenet, is_lrn
from lrnbook import lost_work, superseded
from lrnbook.stopping import SUMMED, watched_name

# Table 1 of Pinto & Cardoso (RECPAD 2019): LFW, 250 training / 48 test images.
PAPER_TABLE1 = {
    "lrn": {"jaccard": (91.67, 5.63), "hausdorff": (32.84, 23.05)},
    "lrn_vgg": {"jaccard": (92.73, 5.24), "hausdorff": (26.28, 20.07)},
    "unet": {"jaccard": (89.25, 7.19), "hausdorff": (35.18, 19.63)},
    "unet_vgg": {"jaccard": (87.98, 7.53), "hausdorff": (44.00, 16.75)},
}
NOT_RUN_NO_WEIGHTS = "not run: no ImageNet weights"


LONG_HEX = re.compile(r"\b([0-9a-f]{12})[0-9a-f]{20,}\b")
"""A hash as long as a git commit or a sha256: shown by its first 12 digits."""


def short_hashes(text: str) -> str:
    """``text`` with every hash of 32 hex digits or more cut to its first 12 and an ellipsis."""
    return LONG_HEX.sub(lambda m: m[1] + "\u2026", text)


def source_commit(commit: str, checkout: Path | None = None) -> str:
    """A commit as :func:`lrn.provenance.git_commit` gives it, for a reader: its first 12 digits, and
    "with uncommitted changes" only when sources differ from it. The pages and results that the
    book's own execution writes (``notebooks/runs/``) do not count: executing the book changes them.
    ``checkout``: a folder of the git checkout (default: this package's)."""
    bare, dirty = commit.removesuffix("+dirty"), commit.endswith("+dirty")
    if dirty:
        try:
            changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ":(top)",
                                      ":(top,exclude)notebooks/runs"], cwd=checkout or Path(__file__).resolve().parent,
                                     capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            changed = "unknown"
        dirty = bool(changed)
    return short_hashes(bare) + (" with uncommitted changes" if dirty else "")


def provenance_box(profile: str, parameters: dict, run_key: str | None):
    """A small HTML box with what produced this page: profile, parameters, seed, commit, key."""
    record = provenance.record(parameters.get("seed"), parameters)
    rows = [("profile", profile), ("run key", run_key or "(not run through make book)"),
            ("lrn", record["lrn_version"]), ("git commit", source_commit(record["git_commit"])),
            ("seed", parameters.get("seed")), ("executed", record["created_utc"]),
            ("TensorFlow / Keras", f"{record['tensorflow']} / {record['keras']}"),
            ("parameters", short_hashes(", ".join(f"{k} = {v}" for k, v in parameters.items() if k != "seed")))]
    rows = [(k, v) for k, v in rows if v not in (None, "")]  # a page without a seed shows no seed row
    cells = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(str(k))}</th>"
                    f"<td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return HTML(f"<div class='lrn-provenance' style='font-size:80%;border:1px solid #ccc;"
                f"padding:0.4em 0.8em;margin:0.5em 0'><b>Provenance</b><table>{cells}</table></div>")


def results_dir(variant: str, root=".") -> Path:
    """Folder of one variant's result files (relative to the executed notebooks)."""
    return Path(root) / "results" / variant


def read_summary(variant: str, root=".", name: str = "test") -> dict | None:
    """The ``<name>_summary.json`` of a variant (``None`` if its notebook has not written one);
    for a run still training, with ``recorded_utc`` and ``lost_hours`` (:func:`with_recorded_time`,
    :func:`with_lost_hours`)."""
    path = results_dir(variant, root) / f"{name}_summary.json"
    return in_progress_facts(json.loads(path.read_text()), variant, root) if path.exists() else None


def progress_note(name: str, root=".") -> dict | None:
    """The "not run" record of fit ``name`` (its ``not_run.json``: still training, queued, or not
    run and why) with ``recorded_utc`` when it is in progress; ``None`` when the run has none."""
    path = results_dir(name, root) / "not_run.json"
    return with_recorded_time(json.loads(path.read_text()), name, root) if path.is_file() else None


def read_curve(name: str, root=".") -> pd.DataFrame | None:
    """The loss curve so far of run ``name`` while it trains (``curves/<name>.csv``, written by
    :mod:`lrnbook.curves`), or ``None`` when there is none (finished, or not started)."""
    path = Path(root) / "curves" / f"{name}.csv"
    return pd.read_csv(path) if path.is_file() else None


def read_superseded(name: str, root=".") -> tuple[pd.DataFrame, dict, dict, float] | None:
    """An earlier run of ``name`` kept after a change of its settings replaced it
    (``superseded/<name>/``, :data:`lrnbook.superseded.FILES`): its history, its provenance record, its
    test summary and the hours of it lost with training machines; ``None`` when there is none."""
    folder = Path(root) / superseded.FOLDER / name
    if not (folder / "history.csv").is_file():
        return None
    history, record = provenance.read_csv(folder / "history.csv")
    lost = json.loads((folder / "lost.json").read_text()) if (folder / "lost.json").is_file() else []
    return (history, record, json.loads((folder / "test_summary.json").read_text()),
            lost_work.lost_hours(lost))


def in_progress_facts(record: dict, name: str, root=".") -> dict:
    """``record`` of run ``name`` with what a page says of a run still training beside its note:
    when its progress was recorded and the hours lost with training machines."""
    return with_lost_hours(with_recorded_time(record, name, root), name, root)


def with_lost_hours(record: dict, name: str, root=".") -> dict:
    """``record`` of run ``name`` with ``lost_hours`` added when it says the run is still training
    and training machines lost some of its epochs (:mod:`lrnbook.lost_work`, the ledgers under
    ``root``): the note's hours count only the epochs the log holds."""
    lost = lost_work.lost_hours(lost_work.read(name, root)) if record.get("in_progress") else 0
    return {**record, "lost_hours": lost} if lost else record


def with_recorded_time(record: dict, name: str, root=".") -> dict:
    """``record`` of run ``name`` with ``recorded_utc`` added when it says the run is still
    training: when the fit's last stint ended and wrote where the run stands (the fit stage's
    ``finished_utc``, an ISO time), so that a page executed later dates the progress by its stint."""
    path = Path(root) / "stages" / "fit" / f"{name}.json"
    if record.get("in_progress") and path.is_file():
        finished = json.loads(path.read_text()).get("finished_utc")
        if finished:
            return {**record, "recorded_utc": finished}
    return record


SCORE_COLUMNS = {"Jaccard (%), raw": "jaccard", "Hausdorff (px), raw": "hausdorff",
                 "Jaccard (%), cleaned": "jaccard_clean", "Hausdorff (px), cleaned": "hausdorff_clean"}
"""Column label -> score of the raw (the paper's format) and cleaned (largest region, holes filled) tables."""


def ran(summary: dict | None) -> bool:
    """Whether a summary holds scores (not missing, not a "not run" record)."""
    return bool(summary) and summary.get("status") != "not run"


def score_row(label: str, scores, **extra) -> dict:
    """One row of a raw / cleaned score table from a summary dict or a per-image table."""
    if isinstance(scores, pd.DataFrame):
        cells = {k: metrics.format_mean_std(*metrics.mean_std(scores[c].to_numpy())) for k, c in SCORE_COLUMNS.items()}
        n = len(scores)
    else:
        cells = {k: cell_text(scores, c) for k, c in SCORE_COLUMNS.items()}
        n = scores.get("n", "") if scores else ""
    return {"model": label, "images": n, **cells, **extra}


def score_table(rows: list[dict]) -> pd.DataFrame:
    """Raw beside cleaned scores, one row per :func:`score_row`."""
    return pd.DataFrame(rows)


def peer_rows(peer_summaries: dict) -> list[dict]:
    """:func:`score_row` of the MediaPipe peer on the paper protocol's and all official test photos.

    Scores only, like the variants' rows beside them (their time per image is on the peer page).
    """
    rows = []
    for name, label in (("test", "paper protocol"), ("full_test", "all official")):
        summary = peer_summaries.get(name)
        if summary:
            rows.append(score_row(f"MediaPipe selfie (peer), {label}", summary))
    return rows


def cleaning_text(summaries: dict) -> str:
    """What cleaning (largest region, holes filled) does to each measured run's mean Hausdorff
    distance, as a share of the raw distance. Empty when no run has scores."""
    parts = []
    for v in VARIANTS:
        if ran(summaries.get(v)):
            raw, clean = summaries[v]["hausdorff"]["mean"], summaries[v]["hausdorff_clean"]["mean"]
            share = 100 * (raw - clean) / raw if raw else 0.0
            parts.append(f"{DISPLAY_NAMES[v]} from {raw:.2f} to {clean:.2f} px "
                         f"({'a cut' if share >= 0 else 'a rise'} of {abs(share):.0f} %)")
    return ("Cleaning changes the mean Hausdorff distance of " + "; ".join(parts) + ".") if parts else ""


def paper_levels_text(summaries: dict, peer: dict | None = None) -> str:
    """How each measured run's mean Jaccard index stands against the rows of the paper's Table 1,
    and, when a measured run is above the paper's best row, the peer's score on the same photos:
    a hint that the levels of two data sets differ more than the orderings. Empty without runs."""
    best = max(PAPER_TABLE1, key=lambda v: PAPER_TABLE1[v]["jaccard"][0])
    best_j = PAPER_TABLE1[best]["jaccard"][0]
    parts, above_best = [], False
    for v in VARIANTS:
        if not ran(summaries.get(v)):
            continue
        j = summaries[v]["jaccard"]["mean"]
        beaten = sum(j > PAPER_TABLE1[w]["jaccard"][0] for w in PAPER_TABLE1)
        above_best |= j > best_j
        under = all(j < row["jaccard"][0] for row in PAPER_TABLE1.values())
        place = ("above every row" if beaten == len(PAPER_TABLE1) else "below every row" if under else
                 f"above {beaten} of the {len(PAPER_TABLE1)} rows")
        parts.append(f"{DISPLAY_NAMES[v]}'s mean Jaccard index ({j:.2f} %) is {place} of the paper's Table 1 "
                     f"(its own row there: {PAPER_TABLE1[v]['jaccard'][0]:.2f} %)")
    if not parts:
        return ""
    text = "; ".join(parts) + "."
    if above_best:
        text += (f" The paper's best row is {DISPLAY_NAMES[best]}, {best_j:.2f} %"
                 + (f"; MediaPipe's selfie model scores {peer['jaccard']['mean']:.2f} % on the same photos" if peer else "")
                 + ". These EG1800 test photos look easier than the paper's LFW photos: compare the order of the rows "
                 "with the paper's, not their levels.")
    return text


def variant_rows(summaries: dict) -> list[dict]:
    """:func:`score_row` of every variant that ran, in the paper's order."""
    return [score_row(DISPLAY_NAMES[v], summaries[v]) for v in VARIANTS if ran(summaries.get(v))]


def cell_text(summary: dict | None, metric: str) -> str:
    """A measured Table 1 cell: ``"mean ± std"``, or why there is no number."""
    if summary is None:
        return "missing: training notebook not executed"
    if summary.get("queued"):
        return "queued (not started yet)"
    if summary.get("in_progress"):
        return f"still training: {progress_text(summary)}"
    if summary.get("status") == "not run":
        return NOT_RUN_NO_WEIGHTS if "ImageNet" in summary.get("reason", "") else f"not run: {summary['reason']}"
    return summary[metric]["text"]


ONE_STAGE_NOTE = "still training: training, "
"""How the fit's note of a one-stage run still training begins (a two-stage run's names its stage:
``"still training: stage 1 (encoder frozen), epoch 14 ..."``)."""


def one_stage(summary: dict) -> bool:
    """Whether the "not run" record of a run still training is that of a one-stage run."""
    return summary.get("reason", "").startswith(ONE_STAGE_NOTE)


def progress_text(summary: dict) -> str:
    """How far a run still training is: ``"stage 1, epoch 19, 0.5 h so far"`` (its summary's record);
    a one-stage run's has no stage: ``"epoch 11, 0.5 h so far"``; with the hours lost with a
    training machine (``lost_hours``, :func:`with_lost_hours`): ``"epoch 28, 1.0 h so far plus
    1.7 h lost with a training machine"``."""
    lost = f" plus {summary['lost_hours']:.1f} h lost with a training machine" if summary.get("lost_hours") else ""
    parts = [f"stage {summary['stage']}" if summary.get("stage") and not one_stage(summary) else "",
             f"epoch {summary['epoch']}" if summary.get("epoch") is not None else "",
             f"{summary['hours']:.1f} h so far{lost}" if summary.get("hours") is not None else ""]
    return ", ".join(p for p in parts if p) or "not yet finished"


def as_of(*records: dict | None) -> str:
    """When a statement that goes stale (a run's progress) was true: ``"as of 2026-12-04 00:30 UTC"``,
    the latest ``recorded_utc`` of ``records`` (:func:`with_recorded_time`), else now (the page's
    execution)."""
    times = [dt.datetime.fromisoformat(r["recorded_utc"]) for r in records if r and r.get("recorded_utc")]
    when = max(times) if times else dt.datetime.now(dt.timezone.utc)
    return f"as of {when.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"


def table1_status(summaries: dict) -> str:
    """Where Table 1 stands, in one sentence: the networks finished (with their scores beside the
    paper's), those still training (how far) and those queued or not run, with the time of writing."""
    finished = [v for v in VARIANTS if ran(summaries.get(v))]
    scores = "; ".join(f"{DISPLAY_NAMES[v]} {summaries[v]['jaccard']['text']} % Jaccard, "
                       f"{summaries[v]['hausdorff']['text']} px Hausdorff (paper "
                       f"{PAPER_TABLE1[v]['jaccard'][0]:.2f} %, {PAPER_TABLE1[v]['hausdorff'][0]:.2f} px)" for v in finished)
    parts = [f"{len(finished)} of {len(VARIANTS)} networks finished" + (f" ({scores})" if finished else "")]
    others = {v: summaries.get(v) or {} for v in VARIANTS if v not in finished}
    training = [v for v, s in others.items() if s.get("in_progress") and not s.get("queued")]
    queued = [v for v, s in others.items() if s.get("queued")]
    rest = [v for v in others if v not in training and v not in queued]
    parts += [f"{DISPLAY_NAMES[v]} training ({progress_text(others[v])})" for v in training]
    def names(variants):
        words = [DISPLAY_NAMES[v] for v in variants]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]

    if queued:
        parts.append(names(queued) + " queued")
    if rest:
        parts.append(names(rest) + " without results")
    return f"Table 1 ({as_of(*(others[v] for v in training))}): " + "; ".join(parts) + "."


def table1(summaries: dict) -> pd.DataFrame:
    """Table 1 in the paper's format, measured values beside the paper's.

    ``summaries``: ``{variant: summary dict from lrn.evaluate.summarize, or a not-run record}``.
    """
    rows = []
    for variant in VARIANTS:
        if variant not in summaries:
            continue
        summary = summaries[variant]
        paper = PAPER_TABLE1[variant]
        rows.append({
            "Model": DISPLAY_NAMES[variant],
            "Jaccard (%), measured": cell_text(summary, "jaccard"),
            "Jaccard (%), paper": "{:.2f} ± {:.2f}".format(*paper["jaccard"]),
            "Hausdorff (px), measured": cell_text(summary, "hausdorff"),
            "Hausdorff (px), paper": "{:.2f} ± {:.2f}".format(*paper["hausdorff"]),
            "n test images": summary.get("n", "\u2014") if summary else "\u2014",  # a dash until the run has scores
        })
    return pd.DataFrame(rows)


def _diff_words(diff: float, unit: str, higher_is_better: bool) -> str:
    better = (diff > 0) == higher_is_better
    return f"{'better' if better else 'worse'} by {abs(diff):.2f} {unit}"


def ordering_text(summaries: dict) -> str:
    """Sentences comparing each measured pair of Table 1 with the same pair in the paper.

    Written from the means they name (Jaccard: higher is better; Hausdorff: lower is better),
    so the words cannot disagree with the table.
    """
    measured = [v for v in VARIANTS if ran(summaries.get(v))]
    sentences = []
    for i, first in enumerate(measured):
        for second in measured[i + 1:]:
            parts = []
            for metric, unit, higher in (("jaccard", "pp", True), ("hausdorff", "px", False)):
                ours = summaries[first][metric]["mean"] - summaries[second][metric]["mean"]
                paper = PAPER_TABLE1[first][metric][0] - PAPER_TABLE1[second][metric][0]
                same = (ours > 0) == (paper > 0)
                parts.append(f"{'Jaccard' if metric == 'jaccard' else 'Hausdorff'} {_diff_words(ours, unit, higher)} "
                             f"({'as in' if same else 'the reverse of'} the paper, where it is "
                             f"{_diff_words(paper, unit, higher)})")
            sentences.append(f"{DISPLAY_NAMES[first]} against {DISPLAY_NAMES[second]}: " + "; ".join(parts) + ".")
    return " ".join(sentences) if sentences else "Fewer than two runs have scores: there is nothing to compare yet."


def level_text(summary: dict) -> str:
    """What the per-level table shows, in words computed from it: the best level of each
    measure and the change from s5 to s6, from the means as the table shows them (two decimals), so
    that a reader who subtracts two rows finds the same number."""
    jac = [round(summary[f"jaccard_s{k}"]["mean"], 2) for k in range(1, 7)]
    hd = [round(summary[f"hausdorff_s{k}"]["mean"], 2) for k in range(1, 7)]
    best_j, best_h = int(np.argmax(jac)) + 1, int(np.argmin(hd)) + 1
    dj, dh = jac[5] - jac[4], hd[5] - hd[4]
    return (f"The highest mean Jaccard index is at s{best_j} ({jac[best_j - 1]:.2f} %), the lowest Hausdorff "
            f"distance at s{best_h} ({hd[best_h - 1]:.2f} px). From s5 to s6 the Jaccard index "
            f"{'rises' if dj > 0 else 'falls'} by {abs(dj):.2f} pp and the Hausdorff distance "
            f"{'rises' if dh > 0 else 'falls'} by {abs(dh):.2f} px"
            + (": the last refinement unit makes the outline worse, not better, on these test photos."
               if dh > 0 and dj < 0 else ".")
            + (f" The finest map s6, the one that is scored, has a lower mean Jaccard index than the coarsest, s1 "
               f"({jac[5]:.2f} % against {jac[0]:.2f} %)." if jac[5] < jac[0] else ""))


class Finding:
    """A computed sentence that another page pastes (``myst_nb.glue``, then ``{glue}`page.ipynb::key```
    in the chapter): shown as markdown in its own notebook, as escaped HTML where it is pasted (a glue
    from another page pastes HTML or plain text only)."""

    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return html.escape(self.text)

    def __repr__(self) -> str:
        return self.text


def finding(text: str) -> Finding:
    """:class:`Finding` of ``text``."""
    return Finding(text)


def last_unit_finding(summary: dict | None, name: str = "LRN", stand_in: dict | None = None,
                      per_image: pd.DataFrame | None = None, others: dict | None = None) -> str:
    """One sentence on what LRN's last refinement unit (s5 -> s6) does to the mean scores, or
    why there is none yet (no run, still training, not run); then, if a ``stand_in`` run (an LRN
    seed run's summary) has scores, what its last unit does meanwhile.

    ``per_image``: the per-image scores (``jaccard_s5`` ... ``hausdorff_s6``) of the run described
    (LRN, else the stand-in), for a sentence on whether its changes are beyond the noise of the
    test photos (:func:`last_unit_noise`). ``others``: ``{display name: (summary, per-image
    table)}`` of further LRN runs with scores (LRN-VGG), a sentence and its noise sentence each.
    """
    if ran(summary):
        change = _last_unit_change(summary, f"{name}'s")
        text = change[0].upper() + change[1:] + "."
    else:
        text = f"{name} has no test scores yet ({cell_text(summary, 'jaccard').replace(' (', ', ').rstrip(')')})"
        if ran(stand_in):
            text = (f"{text}. Meanwhile, on {stand_in_words(stand_in).removeprefix('the levels of ')}, "
                    f"{_last_unit_change(stand_in, 'its')}.")
        elif not others:
            return f"{text}, so its levels are not compared."
        else:
            text += "."
    if per_image is not None and (ran(summary) or ran(stand_in)):
        text += " " + last_unit_noise(per_image)
    for other, (other_summary, other_per_image) in (others or {}).items():
        text += f" {other}: {_last_unit_change(other_summary, 'its')}. {last_unit_noise(other_per_image)}"
    return text


def last_unit_noise(per_image: pd.DataFrame) -> str:
    """Whether the last unit's changes (s5 -> s6) are beyond the noise of the test photos: the
    95 % bootstrap interval of the mean per-photo change (:func:`lrnbook.stats.paired_difference`;
    Jaccard s6 minus s5 in pp, Hausdorff s5 minus s6 in px, so that a positive gain favours s6)."""
    from lrnbook.stats import interval_text, paired_difference  # stats imports scipy: only pages that compare levels need it

    gains = {"Jaccard": (paired_difference(per_image["jaccard_s6"], per_image["jaccard_s5"]), "pp"),
             "Hausdorff": (paired_difference(per_image["hausdorff_s5"], per_image["hausdorff_s6"]), "px")}
    parts = "; ".join(f"{name} {interval_text(r, unit)}" for name, (r, unit) in gains.items())
    beyond = [name for name, (r, _) in gains.items() if r["ci_low"] > 0 or r["ci_high"] < 0]
    head = ("Neither change is beyond the noise of the test photos" if not beyond else
            "Both changes are beyond the noise of the test photos" if len(beyond) == 2 else
            f"Only the {beyond[0]} change is beyond the noise of the test photos")
    return f"{head} (gain of s6 over s5 per photo, mean and 95 % interval: {parts})."


def _last_unit_change(summary: dict, whose: str) -> str:
    """``"from s5 to s6 <whose> mean Hausdorff distance rises from .. to .. px and its ...: <verdict>"``."""
    j5, j6 = summary["jaccard_s5"]["mean"], summary["jaccard_s6"]["mean"]
    h5, h6 = summary["hausdorff_s5"]["mean"], summary["hausdorff_s6"]["mean"]
    if h6 > h5 and j6 < j5:
        verdict = "the last refinement unit makes the outline worse, not better"
    elif h6 < h5 and j6 > j5:
        verdict = "the last refinement unit improves both measures"
    else:
        verdict = "the last refinement unit improves one measure and worsens the other"

    def move(a, b):
        return "rises" if b > a else "falls" if b < a else "stays"

    return (f"from s5 to s6 {whose} mean Hausdorff distance {move(h5, h6)} from {h5:.2f} to "
            f"{h6:.2f} px and its mean Jaccard index {move(j5, j6)} from {j5:.2f} to {j6:.2f} %: {verdict}")


def per_level_table(summary: dict) -> pd.DataFrame:
    """LRN's scores at every level s1..s6 (each resized to 224x224), mean ± std; the resolution
    column gives each map's own size, which halves from the run's input size (its provenance)."""
    size = summary.get("provenance", {}).get("settings", {}).get("size", EVAL_SIZE)
    rows = []
    for k in range(1, 7):
        side = size // 2 ** (6 - k)
        rows.append({"level": f"s{k}", "resolution": f"{side}x{side}",
                     "Jaccard (%)": summary[f"jaccard_s{k}"]["text"],
                     "Hausdorff (px)": summary[f"hausdorff_s{k}"]["text"],
                     "Jaccard mean": summary[f"jaccard_s{k}"]["mean"]})
    table = pd.DataFrame(rows)
    gains = table["Jaccard mean"].round(2).diff().round(2)  # as a reader subtracts the rows shown
    table["Jaccard gain over previous level"] = ["" if pd.isna(g) else f"{g:+.2f}" for g in gains]
    return table.drop(columns="Jaccard mean")


def fit_text(name: str, history: pd.DataFrame, root=".", watched: str = SUMMED) -> str:
    """One sentence on how a run trained: epochs run, best epoch of the ``watched`` validation loss
    (:func:`lrnbook.stopping.watched_loss`), wall time."""
    n = len(history)
    best = int(history[watched].to_numpy().argmin()) + 1
    stages = history["stage"].nunique() if "stage" in history else 1
    if "seconds" in history and history["seconds"].notna().all():  # epochs timed by the training log
        cost = f" Its epochs took {minutes_text(float(history['seconds'].sum()))} minutes of wall time in all."
    else:
        seconds = fit_seconds(name, root)
        cost = f" The fit took {minutes_text(seconds)} minutes of wall time." if seconds is not None else ""
    return (f"Trained for {n} epoch{'s' if n != 1 else ''} in {stages} stage{'s' if stages != 1 else ''}; "
            f"the lowest {watched_name(watched)} was at epoch {best}, whose weights are kept.{cost}")


_TRAIN_CONFIG_ORDER = ("variant", "size", "width", "epochs", "batch_size", "learning_rate", "seed", "patience",
                       "min_improvement", "stop_on", "zoom", "rotation_deg", "flip", "augment", "backgrounds",
                       "encoder_weights", "preprocessing", "supervision", "squeeze_skip", "precision", "jit_compile",
                       "strategy")
"""Every field of ``lrn.train.TrainConfig``, in the order the rerun exercise writes them (a test holds
this to the dataclass)."""

_WRITTEN_WHEN_NOT_DEFAULT = {"stop_on": "sum", "precision": "float32", "jit_compile": False, "strategy": "default"}
"""Fields of ``lrn.train.TrainConfig`` with their defaults (a test holds them to the dataclass): the
rerun exercise writes one only when the run recorded another value, the others always."""


def rerun_exercise(name: str, settings: dict, protocol: str) -> str:
    """The training page's exercises: the first gives the code that trains this run again with its
    recorded settings (``lrn.fit.fit``; the ImageNet weights of a -VGG run fetched as the book
    fetches them), or says that it appears once the run has finished."""
    second = ("2. Which level's validation loss stops falling first? Does the best epoch depend on it?"
              if is_lrn(settings.get("variant") or name.partition("_small")[0]) else  # seed and ablation runs
              "2. From which epoch does the validation loss stop following the training loss? What does the gap say "
              "about training on a few hundred photos?")
    if not settings:
        return ("1. Once this run has finished, the code that trains it again with its recorded settings appears "
                "here.\n" + second)
    arguments, imports = [], ["fit", "train"]
    for key in _TRAIN_CONFIG_ORDER:
        if key not in settings:
            continue
        value = settings[key]
        if key in _WRITTEN_WHEN_NOT_DEFAULT and value == _WRITTEN_WHEN_NOT_DEFAULT[key]:
            continue
        if key == "encoder_weights" and isinstance(value, str) and value.startswith("torchvision"):
            arguments.append("encoder_weights=str(vgg_weights.torchvision_vgg16())")
            imports.append("vgg_weights")
        else:
            arguments.append(f"{key}={value!r}")
    lines, line = ["config = train.TrainConfig("], "    "
    for argument in arguments:  # a hanging indent: the code box of a page holds about 75 characters
        if len(line) + len(argument) > 70 and line.strip():
            lines.append(line.rstrip())
            line = "    "
        line += argument + ", "
    lines += [line.rstrip(), ")"]
    code = "\n".join([f"from lrn import {', '.join(imports)}", "", *lines,
                      f"done = fit.fit(config, \"runs/{name}\", protocol={protocol!r})"])
    return ("1. Train this run again with the settings it recorded, then compare the `history.csv` in "
            f"`runs/{name}` with the curves above:\n\n"
            f"   ```python\n" + "\n".join("   " + l if l else "" for l in code.splitlines()) + "\n   ```\n" + second)


def losses_text(variant: str, supervision: str = "all", watched: str = SUMMED) -> str:
    """What the loss figure of a training page shows, for this variant (LRN's six levels or
    U-Net's one output; a -VGG run's second stage) and supervision (``"all"`` levels or the
    ``"finest"`` alone, :data:`lrn.train.SUPERVISIONS`)."""
    what = ("the binary cross-entropy of its one output, the training loss" if not is_lrn(variant) else
            "the binary cross-entropy of s1 .. s6, whose sum is the training loss" if supervision == "all" else
            "the binary cross-entropy of s1 .. s6; the training loss is that of s6 alone")
    text = (f"The loss on the training and validation photos, epoch by epoch ({what}). The dashed line marks the "
            f"epoch with the lowest {watched_name(watched)}, whose weights are kept"
            + (": the plateau rule watches the finest map, the one scored, not the sum that training minimises."
               if watched != SUMMED else "."))
    if is_imagenet(variant):
        text += (" The grey band is the second stage, where every layer trains. With 25 validation photos the "
                 "validation loss is noisy: the kept epoch is the lowest point of a noisy curve.")
    return text


def run_summary(display_name: str, summary: dict | None, history: pd.DataFrame | None, watched: str = SUMMED) -> str:
    """The training page's summary: how long the run trained, where it was best, and its test scores;
    or where it stands."""
    if not ran(summary) or history is None or history.empty:
        return "- " + not_run_text(display_name, summary or {"reason": "its results are missing."})
    losses = history[watched].to_numpy()
    best = int(np.argmin(losses))
    stages = history["stage"].nunique() if "stage" in history else 1
    return "\n".join([
        f"- {display_name} trained {len(history)} epochs" + (f" in {stages} stages" if stages > 1 else "")
        + f"; its lowest {watched_name(watched)}, {losses[best]:.4f}, came at epoch {best + 1}, whose "
          "weights are kept.",
        f"- On the test photos: {summary['jaccard']['text']} % Jaccard and {summary['hausdorff']['text']} px "
        f"Hausdorff (raw masks, mean ± std over {summary['n']} photos).",
        "- Every number on this page is read from the run's stored history and scores."])


def curve_text(display_name: str, curve: pd.DataFrame, summary: dict, watched: str = SUMMED) -> str:
    """What the loss curve so far of a run still training shows (:mod:`lrnbook.curves`), read from
    ``curve``; ``summary`` is the run's "not run" record (whether the run has one stage)."""
    losses = curve[watched].to_numpy()
    best = int(np.argmin(losses))
    stage, epoch = int(curve["stage"].iloc[best]), int(curve["epoch"].iloc[best]) + 1
    two_stages = curve["stage"].nunique() > 1
    where = (f"epoch {epoch} of stage {stage}" + (f" (epoch {best + 1} on the figure's axis)" if two_stages and stage > 1
                                                   else "") if not one_stage(summary) else f"epoch {epoch}")
    since = len(losses) - best - 1
    return (f"The losses of the {len(losses)} epochs {display_name} has trained so far (the figure is drawn again "
            f"after each `make train`). Its lowest {watched_name(watched)} so far, {losses[best]:.4f}, came at "
            f"{where}; " + ("it is the last epoch trained." if since == 0 else
                            f"{since} epoch{'s' if since > 1 else ''} trained since {'have' if since > 1 else 'has'} not gone below it."))


def not_run_text(display_name: str, summary: dict, stand_in: str | None = None) -> str:
    """What a page says in place of a run that has no scores: still training, or not run and why.

    ``stand_in``: what the page shows meanwhile (e.g. ``"the levels of LRN's first seed run"``);
    by default nothing stands in for the run, and the text says so.
    """
    meanwhile = f"meanwhile this page shows {stand_in}" if stand_in else "nothing stands in for them meanwhile"
    if summary.get("queued"):
        return (f"**{display_name} has not started training yet**: it is queued behind the other runs. Its losses "
                f"and scores appear here once it has finished; {meanwhile}.")
    if summary.get("in_progress"):
        # the fit's note ends with where its progress is kept and "`make train` goes on"; the reader
        # needs how it goes on, said once, and not where the weights are stored
        reason = (summary["reason"].removeprefix(ONE_STAGE_NOTE).removeprefix("still training: ").rstrip(" .")
                  .removesuffix(" and `make train` goes on")
                  .replace("; its progress is kept in the training machine's cache", "")
                  .replace("; its first stage is parked in the repository", "")
                  .replace(" hours so far", " hours of training so far"
                           + lost_work.more_hours_text(summary.get("lost_hours", 0))))
        return (f"**{display_name} is still training** ({as_of(summary)}): {reason}; `make train` resumes it from its last "
                f"finished epoch. Its losses and scores appear here once it has finished; {meanwhile}.")
    if stand_in:
        return f"**{display_name} was not run.** {summary['reason']}\n\nIn its place this page shows {stand_in}."
    return f"**{display_name} was not run.** {summary['reason']}\n\nNothing is trained or scored in its place."


def epoch_table(history: pd.DataFrame, every: int = 5, watched: str = SUMMED) -> pd.DataFrame:
    """A compact per-epoch table: every ``every``-th epoch, the best (of the ``watched`` loss) and
    the last, losses rounded."""
    history = history.reset_index(drop=True)
    best = int(history[watched].idxmin()) if watched in history else len(history) - 1
    keep = sorted({*range(0, len(history), every), best, len(history) - 1})
    table = pd.DataFrame({"epoch": np.arange(1, len(history) + 1)[keep]})
    if "stage" in history and history["stage"].nunique() > 1:  # one stage: the column would say nothing
        table["stage"] = history["stage"].to_numpy()[keep]
    columns = [("loss", "training loss"), (SUMMED, "validation loss")]
    if watched != SUMMED:
        columns.append((watched, watched_name(watched)))
    for column, label in columns:
        if column in history:
            table[label] = history[column].to_numpy()[keep].round(4)
    table["note"] = [f"best {watched_name(watched)} (weights kept)" if i == best else "" for i in keep]
    return table


def show(item) -> None:
    """Display one ``("md", text)`` or ``("table", id, frame)`` item of a page section."""
    if item[0] == "md":
        display(Markdown(item[1]))
    else:
        display(html_table(item[2], item[1]))


_NBSP = "\u00a0"
_KEEP_TOGETHER = [(re.compile(r" ± "), f"{_NBSP}±{_NBSP}"),                         # 86.50 ± 11.79
                  (re.compile(r"(?<=[\d)]) (?=(pp|px|%|ms|min|MB)\b)"), _NBSP),       # 7.30 pp
                  (re.compile(r"(?<=,) (?=[+-]?\d[^\]\[]*\])"), _NBSP)]               # [-10.57, -4.57]


def unbreakable(text):
    """``text`` with no-break spaces where a line must not break: inside ``mean ± std``,
    between a number and its unit, inside an interval ``[a, b]``; other values as they are."""
    if not isinstance(text, str):
        return text
    for pattern, replacement in _KEEP_TOGETHER:
        text = pattern.sub(replacement, text)
    return text


def html_table(table: pd.DataFrame, table_id: str):
    """Display a table as HTML with an id the browser test can find, in a box that scrolls
    sideways when the table is wider than the page (``book/_static/lrn.css`` draws the cue).

    Cells wrap at spaces (the style sheet), except inside a score (:func:`unbreakable`).
    """
    shown = table.copy()
    for column in shown.columns:
        if not pd.api.types.is_numeric_dtype(shown[column]):  # str (pandas 3) or object columns
            shown[column] = shown[column].map(unbreakable)
    html = shown.to_html(index=False, table_id=table_id, classes="lrn-table", border=0)
    return HTML(f'<div class="lrn-table-wrap">{html}</div>')


# The paper's settings, for the list of departures each page shows.
PAPER_SETTINGS = {"size": 224, "width": 1.0, "learning_rate": 1e-4, "protocol": "paper",
                  "augment": True, "patience": "until convergence", "min_improvement": "until convergence",
                  "epochs": "until convergence", "stop_on": "until convergence",
                  "supervision": "all", "squeeze_skip": False, "backgrounds": False,
                  "encoder_weights": "Keras' ImageNet VGG-16 (Oxford's Caffe weights)", "preprocessing": "caffe",
                  "precision": "float32"}


NOT_A_SETTING = {"run_key", "train_ids", "val_ids"}
"""Fields every training run records that are not choices of the experiment."""


def training_settings(record: dict) -> dict:
    """The training settings of a run's provenance record, without its split ids and keys."""
    return {k: v for k, v in record.get("settings", {}).items() if k not in NOT_A_SETTING}


SETTING_LABELS = {"size": "input size (px)", "width": "width multiplier", "learning_rate": "learning rate",
                  "protocol": "split protocol", "augment": "augmentation", "patience": "patience (epochs)",
                  "epochs": "epochs (at most)", "supervision": "supervised levels",
                  "squeeze_skip": "1-channel skip squeeze", "backgrounds": "dynamic backgrounds",
                  "encoder_weights": "encoder weights", "preprocessing": "input preprocessing",
                  "batch_size": "batch size", "seed": "training seed", "variant": "network",
                  "precision": "arithmetic (Keras dtype policy)", "stop_on": "stopping rule watches",
                  "min_improvement": "minimum improvement"}
"""A training setting's name as a reader reads it (the key itself where none is given)."""


def setting_label(name: str) -> str:
    """:data:`SETTING_LABELS` of ``name``, else ``name`` with spaces for underscores."""
    return SETTING_LABELS.get(name, name.replace("_", " "))


STOP_ON_TEXT = {"finest": "validation loss of the finest map (s6, the one scored)",
                "sum": "validation loss summed over the levels", "one output": "validation loss of its one output"}
"""What the plateau rule watches, by ``stop_on`` (:class:`lrn.train.TrainConfig`)."""

PREPROCESSING_TEXT = {"caffe": "BGR, ImageNet mean subtracted (Caffe)",
                      "torch": "RGB in [0, 1], ImageNet mean and std (torchvision)"}
"""What a VGG encoder's input preprocessing does, by its setting's value."""


def setting_value_text(name: str, value) -> str:
    """A setting's value as a reader reads it: torchvision's encoder weights by name and the
    first 12 hex digits of the file's sha256, the preprocessing by what it does
    (:data:`PREPROCESSING_TEXT`), the plateau rule's minimum improvement (relative) as a share of the
    best loss, anything else as it is."""
    if name == "encoder_weights" and str(value).startswith("torchvision:sha256:"):
        return f"torchvision ImageNet VGG-16 (sha256 {str(value).removeprefix('torchvision:sha256:')[:12]}...)"
    if name == "preprocessing":
        return PREPROCESSING_TEXT.get(str(value), str(value))
    if name == "stop_on":
        return STOP_ON_TEXT.get(str(value), str(value))
    if name == "min_improvement" and isinstance(value, (int, float)):
        return "none (any lower loss)" if value == 0 else f"{100 * value:g} % of the best loss"
    return str(value)


def recorded_setting(name: str, settings: dict):
    """Setting ``name`` of a run's provenance ``settings``; ``None`` when it has none.

    A training run (one that records its ``variant``) without ``stop_on`` watched the summed
    validation loss, the only rule before the option existed (``lrn.train.TrainConfig.to_dict``
    leaves that default out); a U-Net's sum is its one output (``"one output"``).
    """
    if name == "stop_on" and settings.get(name) is None and settings.get("variant"):
        return "sum" if is_lrn(settings["variant"]) else "one output"
    return settings.get(name)


def departures(parameters: dict) -> pd.DataFrame:
    """The settings of this run that differ from the paper's, side by side."""
    recorded = {name: recorded_setting(name, parameters) for name in PAPER_SETTINGS}
    rows = [{"setting": setting_label(name), "this run": setting_value_text(name, recorded[name]),
             "paper": setting_value_text(name, paper)}
            for name, paper in PAPER_SETTINGS.items()
            if recorded[name] is not None and recorded[name] != paper]
    return pd.DataFrame(rows, columns=["setting", "this run", "paper"])


NO_ENCODER_WEIGHTS_TEXT = "none (Glorot-uniform, as in the paper)"
"""What a run from random weights shows for its encoder weights: the paper trains LRN and UNET so."""


def missing_setting_text(name: str) -> str:
    """The cell of a setting a run does not record: its random start for the encoder weights, blank otherwise."""
    return NO_ENCODER_WEIGHTS_TEXT if name == "encoder_weights" else ""


def departures_by_run(settings: dict[str, dict]) -> pd.DataFrame:
    """The settings in which any of the runs differs from the paper, one column per run and the paper's last.

    ``settings``: ``{run label: its provenance settings, with "protocol"}``, in the order to show. A
    run without encoder weights starts from random ones (:data:`NO_ENCODER_WEIGHTS_TEXT`); any other
    setting a run does not have (``None``) is left blank, as :func:`departures` leaves it out.
    """
    settings = {label: {name: recorded_setting(name, s) for name in PAPER_SETTINGS} for label, s in settings.items()}
    names = [name for name, paper in PAPER_SETTINGS.items()
             if any(s[name] is not None and s[name] != paper for s in settings.values())]
    rows = [{"setting": setting_label(name),
             **{label: missing_setting_text(name) if s[name] is None else setting_value_text(name, s[name])
                for label, s in settings.items()},
             "paper": setting_value_text(name, PAPER_SETTINGS[name])} for name in names]
    return pd.DataFrame(rows, columns=["setting", *settings, "paper"])


AS_IN_PAPER = {"size": "224x224 input", "width": "full width (multiplier 1.0)", "learning_rate": "learning rate 0.0001",
               "augment": "flip, zoom and rotation augmentation", "supervision": "every LRN level supervised",
               "squeeze_skip": "skip features not squeezed", "precision": "float32 arithmetic"}
"""What :func:`as_in_paper_text` says of each setting every run shares with the paper (:data:`PAPER_SETTINGS`)."""


def stage_lengths(history: pd.DataFrame) -> list[int]:
    """The epochs each stage of a run trained, in order, from its ``history.csv`` (one row per
    epoch; a ``stage`` column for a run of two stages)."""
    if "stage" not in history:
        return [len(history)]
    stages = history["stage"].to_numpy()
    return [int((stages == stage).sum()) for stage in sorted(set(stages.tolist()))]


def as_in_paper_text(settings: dict[str, dict], lengths: dict[str, list[int]]) -> str:
    """The sentence under :func:`departures_by_run`: the settings every run shares with the paper, and
    how each stage's length compares with the paper's "until convergence".

    ``settings``: ``{run label: its provenance settings}``; ``lengths``: ``{run label: epochs of
    each stage}`` (:func:`stage_lengths`). A stage shorter than its run's ``epochs`` limit was
    ended by the plateau rule; one that trained the whole limit was cut by it, not converged.
    """
    same = [name for name in AS_IN_PAPER
            if all(recorded_setting(name, s) in (None, PAPER_SETTINGS[name]) for s in settings.values())
            and any(recorded_setting(name, s) is not None for s in settings.values())]
    parts = []
    if same:
        parts.append("As in the paper for every run: " + ", ".join(AS_IN_PAPER[name] for name in same) + ".")
    capped = [f"{label} (stage {i})" if len(lengths[label]) > 1 else label
              for label, s in settings.items() for i, n in enumerate(lengths[label], start=1) if n >= s["epochs"]]
    counts = "; ".join(f"{label} {' + '.join(str(n) for n in lengths[label])}" for label in settings)
    if not capped:
        parts.append("Length: every stage ended when its validation loss stopped improving by the rule above, "
                     f"before its epoch limit (epochs by stage: {counts}), the stated reading of the paper's "
                     "\"until convergence\".")
    else:
        parts.append(f"Length: {', '.join(capped)} trained to the epoch limit, cut rather than converged; every "
                     f"other stage ended by the rule above (epochs by stage: {counts}).")
    return " ".join(parts)


def test_split(protocol: str, seed: int):
    """The test split at the evaluation size (224x224), whatever size the models were trained at."""
    return data.eg1800(protocol=protocol, size=EVAL_SIZE, seed=seed).test


def finest_maps(names: list[str], test_ids: list[str], root=".") -> dict[str, np.ndarray]:
    """The stored s6 (U-Net: output) probability maps of each run, at 224x224, by display name.

    Raises ``ValueError`` when a run's predictions hold other images than ``test_ids``.
    """
    maps = {}
    for name in names:
        ids, levels = predict.load_predictions(results_dir(name, root) / "predictions.npz")
        if ids != list(test_ids):
            raise ValueError(f"{name}: its predictions hold other images than the test split")
        maps[DISPLAY_NAMES.get(name, name)] = predict.to_eval_size(levels[-1])
    return maps


FIGURE2_RULE = ("rows chosen by the mean, over the models shown, of each test photo's Jaccard index: the best "
                "photo, the upper quartile, the median, the lower quartile and the worst")


def quantile_rows(scores: np.ndarray) -> list[tuple[str, int]]:
    """Five rows of a Fig. 2 grid (:data:`FIGURE2_RULE`): ``(label, row)`` from best to worst.

    ``scores``: one score per photo, higher better. Quantile ``q`` is the photo at position
    ``round(q (n - 1))`` of the scores sorted from best to worst (ties by position).
    """
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    n = len(order)
    labels = (("best", 0.0), ("upper quartile", 0.25), ("median", 0.5), ("lower quartile", 0.75), ("worst", 1.0))
    return [(label, int(order[int(round(q * (n - 1)))])) for label, q in labels]


def figure2_caption(names: list[str], n: int) -> str:
    """The caption under Fig. 2, from what it shows."""
    return (f"*Fig. 2, recomputed.* {n} test photos ({FIGURE2_RULE}); columns: the photo, the truth, and the "
            f"thresholded s6 map (U-Net: its output) of {', '.join(names)}, with the truth's outline in red. "
            "Under each map: its Jaccard index (J) and contour Hausdorff distance (H) at 224x224.")


def worst_caption(names: list[str], n: int) -> str:
    """The caption under the worst-cases grid, from what it shows."""
    lowest = (f"the lowest mean Jaccard index over {', '.join(names)}" if len(names) > 1 else
              f"{names[0]}'s lowest Jaccard index")
    maps = "of each model" if len(names) > 1 else f"of {names[0]}"
    return (f"*The worst cases.* The {n} test photos with {lowest}, "
            f"worst first; columns: the photo, the truth, and the thresholded s6 map (U-Net: its output) {maps}, "
            "with the truth's outline in red. Under each map: its Jaccard index (J) and contour Hausdorff "
            "distance (H) at 224x224.")


def fit_seconds(name: str, root=".") -> float | None:
    """Wall time (seconds) of the fit stage of run ``name`` (training, and predicting the test
    split), from its stage record; ``None`` when the run has not been fitted."""
    path = Path(root) / "stages" / "fit" / f"{name}.json"
    if not path.is_file():
        return None
    return float(json.loads(path.read_text())["seconds"])


def training_seconds(name: str, root=".") -> float | None:
    """Wall time (seconds) run ``name`` spent training: the sum of its epochs' times from its
    ``history.csv`` (kept across stints and restores from a parked model), else its fit stage's
    wall time (:func:`fit_seconds`, which for a restored run is only the restore); ``None``
    when the run has not been fitted."""
    path = results_dir(name, root) / "history.csv"
    if path.is_file():
        history = provenance.read_csv(path)[0]
        if "seconds" in history and len(history) and history["seconds"].notna().all():
            return float(history["seconds"].sum())
    return fit_seconds(name, root)


def minutes_text(seconds: float | None) -> str:
    """``"12.3"`` minutes, or why there is no number."""
    return "unknown: not fitted" if seconds is None else f"{seconds / 60:.1f}"


def setting_text(settings: dict) -> str:
    """A run's training setting in words, e.g. ``"128x128 px, width 0.25, 15 epochs"``."""
    epochs = settings["epochs"]
    return (f"{settings['size']}x{settings['size']} px, width {settings['width']}, "
            f"{epochs} epoch{'' if epochs == 1 else 's'}")


def stand_in_words(summary: dict) -> str:
    """What a page shows in place of a run still training, named from the stand-in's summary:
    ``"the levels of an LRN seed run (training seed 0; 128x128 px, width 0.25, 15 epochs)"``."""
    settings = summary["provenance"]["settings"]
    return (f"the levels of an {DISPLAY_NAMES[settings['variant']]} seed run (training seed {settings['seed']}; "
            f"{setting_text(settings)})")


def reduced_setting_note(small: dict, main: dict | None) -> str:
    """How the setting of the seed and ablation runs compares with the main run's (both provenance settings)."""
    if main is None:
        return f"These runs train at {setting_text(small)}; the main LRN run has no results yet to compare with."
    keys = ("size", "width", "epochs")
    if all(small[k] == main[k] for k in keys):
        return (f"These runs train at {setting_text(small)}: the same size, width and epochs as this profile's "
                f"main runs.")
    return (f"These runs train at {setting_text(small)}; the main runs of this profile train at "
            f"{setting_text(main)}. Their scores are not comparable with the main runs' scores.")
