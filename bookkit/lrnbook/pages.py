"""Helpers the book's notebooks call: provenance box, result files, Table 1.

Notebooks tell the story; what they compute lives here and in the modules they call, where
it is tested. Result files of a profile live beside its executed notebooks, in
``notebooks/runs/<profile>/results/<variant>/``.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from lrn import DISPLAY_NAMES, VARIANTS

# Table 1 of Pinto & Cardoso (RECPAD 2019): LFW, 250 training / 48 test images.
PAPER_TABLE1 = {
    "lrn": {"jaccard": (91.67, 5.63), "hausdorff": (32.84, 23.05)},
    "lrn_vgg": {"jaccard": (92.73, 5.24), "hausdorff": (26.28, 20.07)},
    "unet": {"jaccard": (89.25, 7.19), "hausdorff": (35.18, 19.63)},
    "unet_vgg": {"jaccard": (87.98, 7.53), "hausdorff": (44.00, 16.75)},
}
NOT_RUN_NO_WEIGHTS = "not run: no ImageNet weights"


def provenance_box(profile: str, parameters: dict, run_key: str | None):
    """A small HTML box with what produced this page: profile, parameters, seed, commit, key."""
    from IPython.display import HTML

    from lrn import provenance

    record = provenance.record(parameters.get("seed"), parameters)
    rows = [("profile", profile), ("run key", run_key or "(not run through make book)"),
            ("lrn", record["lrn_version"]), ("git commit", record["git_commit"]),
            ("seed", parameters.get("seed")), ("executed", record["created_utc"]),
            ("TensorFlow / Keras", f"{record['tensorflow']} / {record['keras']}"),
            ("parameters", ", ".join(f"{k}={v!r}" for k, v in parameters.items()))]
    cells = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(str(k))}</th>"
                    f"<td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return HTML(f"<div class='lrn-provenance' style='font-size:80%;border:1px solid #ccc;"
                f"padding:0.4em 0.8em;margin:0.5em 0'><b>Provenance</b><table>{cells}</table></div>")


def results_dir(variant: str, root=".") -> Path:
    """Folder of one variant's result files (relative to the executed notebooks)."""
    return Path(root) / "results" / variant


def write_not_run(variant: str, reason: str, root=".") -> dict:
    """Record that a variant was not run, and why (read by the results notebook)."""
    folder = results_dir(variant, root)
    folder.mkdir(parents=True, exist_ok=True)
    summary = {"status": "not run", "reason": reason}
    (folder / "test_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    for stale in ("test_per_image.csv", "predictions.npz"):
        (folder / stale).unlink(missing_ok=True)
    return summary


def read_summary(variant: str, root=".", name: str = "test") -> dict | None:
    """The ``<name>_summary.json`` of a variant (``None`` if its notebook has not written one)."""
    path = results_dir(variant, root) / f"{name}_summary.json"
    return json.loads(path.read_text()) if path.exists() else None


def save_predictions(path, ids, levels: list[np.ndarray]) -> Path:
    """Store probability maps of every output, quantised to uint8 (1/255 steps), compressed.

    ``levels``: one (N, h_k, w_k) float array per output, coarse to fine.
    """
    path = Path(path)
    arrays = {f"level{k}": np.rint(np.clip(level, 0, 1) * 255).astype(np.uint8)
              for k, level in enumerate(levels, start=1)}
    np.savez_compressed(path, ids=np.array(ids), **arrays)
    return path


def load_predictions(path) -> tuple[list[str], list[np.ndarray]]:
    """``(ids, levels)`` as stored by :func:`save_predictions`, levels as float32 in [0, 1]."""
    with np.load(path) as stored:
        n = len([k for k in stored.files if k.startswith("level")])
        return list(stored["ids"]), [stored[f"level{k}"].astype(np.float32) / 255 for k in range(1, n + 1)]


def peer_table(summaries: dict, peer_summaries: dict) -> pd.DataFrame:
    """Our models beside the MediaPipe peer: raw and cleaned scores, time per image where known."""
    rows = []
    for variant in VARIANTS:
        summary = summaries.get(variant)
        if summary and summary.get("status") != "not run":
            rows.append({"model": DISPLAY_NAMES[variant], "test images": summary["n"], **_score_cells(summary),
                         "ms per image": ""})
    for name, label in (("test", "paper protocol"), ("full_test", "all official")):
        summary = peer_summaries.get(name)
        if summary:
            ms = summary["provenance"]["settings"]["ms_per_image"]
            rows.append({"model": f"MediaPipe selfie (peer), {label}", "test images": summary["n"],
                         **_score_cells(summary), "ms per image": f"{ms:.1f}"})
    return pd.DataFrame(rows)


def _score_cells(summary: dict) -> dict:
    return {"Jaccard (%), raw": summary["jaccard"]["text"], "Hausdorff (px), raw": summary["hausdorff"]["text"],
            "Jaccard (%), cleaned": summary["jaccard_clean"]["text"],
            "Hausdorff (px), cleaned": summary["hausdorff_clean"]["text"]}


def clean_table(summaries: dict) -> pd.DataFrame:
    """Raw (the paper's format) beside cleaned scores: largest component kept, holes filled."""
    rows = []
    for variant in VARIANTS:
        summary = summaries.get(variant)
        if not summary or summary.get("status") == "not run":
            continue
        rows.append({"Model": DISPLAY_NAMES[variant],
                     "Jaccard (%), raw": summary["jaccard"]["text"],
                     "Jaccard (%), cleaned": summary["jaccard_clean"]["text"],
                     "Hausdorff (px), raw": summary["hausdorff"]["text"],
                     "Hausdorff (px), cleaned": summary["hausdorff_clean"]["text"]})
    return pd.DataFrame(rows)


def cell_text(summary: dict | None, metric: str) -> str:
    """A measured Table 1 cell: ``"mean ± std"``, or why there is no number."""
    if summary is None:
        return "missing: training notebook not executed"
    if summary.get("status") == "not run":
        return NOT_RUN_NO_WEIGHTS if "ImageNet" in summary.get("reason", "") else f"not run: {summary['reason']}"
    return summary[metric]["text"]


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
            "n test images": summary.get("n", "") if summary else "",
        })
    return pd.DataFrame(rows)


def per_level_table(summary: dict) -> pd.DataFrame:
    """LRN's scores at every level s1..s6 (each resized to 224x224), mean ± std."""
    rows = []
    for k in range(1, 7):
        rows.append({"level": f"s{k}", "resolution": f"{224 // 2 ** (6 - k)}x{224 // 2 ** (6 - k)}",
                     "Jaccard (%)": summary[f"jaccard_s{k}"]["text"],
                     "Hausdorff (px)": summary[f"hausdorff_s{k}"]["text"],
                     "Jaccard mean": summary[f"jaccard_s{k}"]["mean"]})
    table = pd.DataFrame(rows)
    gains = table["Jaccard mean"].diff().round(2)
    table["Jaccard gain over previous level"] = ["" if pd.isna(g) else f"{g:+.2f}" for g in gains]
    return table.drop(columns="Jaccard mean")


def html_table(table: pd.DataFrame, table_id: str):
    """Display a table as HTML with an id the browser test can find."""
    from IPython.display import HTML

    return HTML(table.to_html(index=False, table_id=table_id, classes="lrn-table", border=0))


# The paper's settings, for the list of departures each page shows.
PAPER_SETTINGS = {"size": 224, "width": 1.0, "learning_rate": 1e-4, "protocol": "paper",
                  "augment": True, "patience": "until convergence", "epochs": "until convergence",
                  "supervision": "all", "squeeze_skip": False, "backgrounds": False}


def departures(parameters: dict) -> pd.DataFrame:
    """The settings of this run that differ from the paper's, side by side."""
    rows = [{"setting": name, "this run": str(parameters[name]), "paper": str(paper)}
            for name, paper in PAPER_SETTINGS.items()
            if name in parameters and parameters[name] != paper]
    return pd.DataFrame(rows, columns=["setting", "this run", "paper"])


def unavailable_reason(config) -> str | None:
    """Why a run cannot be done here (``None`` if it can): for -VGG runs, missing ImageNet weights."""
    from lrn import models
    from lrn.errors import InputError

    if config.schedule != "vgg":
        return None
    try:
        models.reference_vgg16(config.encoder_weights, (32, 32, 3))
    except InputError as error:
        return str(error)
    return None


def test_split(protocol: str, seed: int):
    """The test split at the evaluation size (224x224), whatever size the models were trained at."""
    from lrn import data, metrics

    return data.eg1800(protocol=protocol, size=metrics.EVAL_SIZE, seed=seed).test


def run_duration(run_name: str, root=".") -> float | None:
    """Wall time (seconds) of the executed notebook ``<root>/<run_name>.ipynb``, as papermill recorded it.

    ``run_name`` is the notebook's name without extension, e.g. ``"train_lrn_small_seed0"``.
    ``None`` when the notebook does not exist, is not JSON or carries no duration (not run
    through papermill, or still running).
    """
    path = Path(root) / f"{run_name}.ipynb"
    if not path.is_file():
        return None
    try:
        metadata = json.loads(path.read_text()).get("metadata", {})
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    duration = metadata.get("papermill", {}).get("duration")
    if isinstance(duration, bool) or not isinstance(duration, (int, float)):
        return None
    return float(duration)


def minutes_text(seconds: float | None) -> str:
    """``"12.3"`` minutes, or why there is no number."""
    return "unknown: no papermill duration" if seconds is None else f"{seconds / 60:.1f}"


# Settings that every training run records but that are not choices of the experiment.
_NOT_A_SETTING = {"run_key", "train_ids", "val_ids"}


def changed_settings(base: dict, other: dict) -> str:
    """The training settings in which ``other`` differs from ``base`` (both from a run's provenance).

    E.g. ``"supervision: all → finest"``; ``"none"`` when they agree. Split ids and run keys
    are left out (the seed runs and ablations share one split by design).
    """
    keys = sorted((set(base) | set(other)) - _NOT_A_SETTING)
    changes = [f"{k}: {base.get(k, '(unset)')} → {other.get(k, '(unset)')}"
               for k in keys if base.get(k) != other.get(k)]
    return "; ".join(changes) or "none"


def ablation_title(name: str) -> str:
    """What an ablation run changes, from :data:`lrn.runs.ABLATIONS` (e.g. ``lrn_small_finest``)."""
    from lrn.runs import ABLATIONS

    key = name.rsplit("_small_", 1)[-1]
    return ABLATIONS[key][0] if key in ABLATIONS else name


def ablation_table(baseline: str, ablations: list[str], summaries: dict, durations: dict) -> pd.DataFrame:
    """Baseline and ablations: what changes, raw and cleaned scores, training time.

    ``summaries``: ``{run name: test summary or None}``; ``durations``: ``{run name: seconds or None}``.
    The changed settings are read from the runs' provenance, against the baseline's.
    """
    base = summaries.get(baseline)
    base_settings = base["provenance"]["settings"] if base else None
    rows = []
    for name in [baseline, *ablations]:
        summary = summaries.get(name)
        if name == baseline:
            change = "(baseline)"
        elif summary is None or base_settings is None:
            change = "unknown: a run is missing"
        else:
            change = changed_settings(base_settings, summary["provenance"]["settings"])
        rows.append({"run": name, "what changes": "baseline" if name == baseline else ablation_title(name),
                     "settings changed (from provenance)": change,
                     "Jaccard (%), raw": cell_text(summary, "jaccard"),
                     "Hausdorff (px), raw": cell_text(summary, "hausdorff"),
                     "Jaccard (%), cleaned": cell_text(summary, "jaccard_clean"),
                     "Hausdorff (px), cleaned": cell_text(summary, "hausdorff_clean"),
                     "training time (min)": minutes_text(durations.get(name))})
    return pd.DataFrame(rows)


def resolution_table(at_eval: dict, at_photo: dict, photo_diagonals) -> pd.DataFrame:
    """Scores at 224x224 beside scores at each photo's own resolution, one row per model.

    ``at_eval``: ``{label: per-image table at 224x224}``; ``at_photo``: ``{label: table from
    lrn.evaluate.evaluate_originals}`` (same images, same order); ``photo_diagonals``: the
    photos' diagonals in pixels. Hausdorff is also given as a percentage of the image
    diagonal, which makes the two resolutions comparable.
    """
    from lrn import metrics

    def text(values) -> str:
        return metrics.format_mean_std(*metrics.mean_std(np.asarray(values, float)))

    eval_diagonal = float(np.hypot(metrics.EVAL_SIZE, metrics.EVAL_SIZE))
    diagonals = np.asarray(photo_diagonals, float)
    rows = []
    for label, table in at_eval.items():
        photo = at_photo[label]
        if list(photo["id"]) != list(table["id"]):
            raise ValueError(f"{label}: the two tables score different images")
        rows.append({"model": label,
                     "Jaccard (%), 224": text(table["jaccard"]),
                     "Jaccard (%), photo": text(photo["jaccard"]),
                     "Hausdorff (px), 224": text(table["hausdorff"]),
                     "Hausdorff (px), photo": text(photo["hausdorff"]),
                     "Hausdorff (% of diagonal), 224": text(100 * table["hausdorff"].to_numpy() / eval_diagonal),
                     "Hausdorff (% of diagonal), photo": text(100 * photo["hausdorff"].to_numpy() / diagonals)})
    return pd.DataFrame(rows)


def setting_text(settings: dict) -> str:
    """A run's training setting in words, e.g. ``"128x128 px, width 0.25, 15 epochs"``."""
    epochs = settings["epochs"]
    return (f"{settings['size']}x{settings['size']} px, width {settings['width']}, "
            f"{epochs} epoch{'' if epochs == 1 else 's'}")


def reduced_setting_note(small: dict, main: dict | None) -> str:
    """How the setting of the seed and ablation runs compares with the main run's (both provenance settings)."""
    if main is None:
        return f"These runs train at {setting_text(small)}; there is no main LRN run in this profile to compare with."
    keys = ("size", "width", "epochs")
    if all(small[k] == main[k] for k in keys):
        return (f"These runs train at {setting_text(small)}: the same size, width and epochs as this profile's "
                f"main runs.")
    return (f"These runs train at {setting_text(small)}; the main runs of this profile train at "
            f"{setting_text(main)}. Their scores are not comparable with the main runs' scores.")
