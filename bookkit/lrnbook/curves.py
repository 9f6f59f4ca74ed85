"""Loss curves of unfinished runs, kept in the repository for the pages that follow them.

A run still training keeps its per-epoch log in the cache (``history_stage<s>.csv`` of its
run folder), which a page executed elsewhere cannot read, and its ``history.csv`` appears only
once it has finished. ``make train`` therefore writes, when its fits stop, the log so far of
every unfinished run to ``notebooks/runs/<profile>/curves/<run>.csv`` (:func:`write_all`,
:func:`lrnbook.plan.curve`), in the format of a finished run's ``history.csv`` (one row per
epoch: ``epoch`` counted from 0 within its ``stage``, the training and validation losses, the
epoch's ``seconds``), and removes the curve of a run that has finished or has not started.
Before a committed curve is overwritten, the epochs of it that this machine's log does not hold
are noted as lost (:mod:`lrnbook.lost_work`). Beside each curve, ``<run>.json`` holds what its
speed table needs (:func:`speed_facts`, in the shape of a finished run's provenance). A few kilobytes
per run. Pages read them with
:func:`lrnbook.pages.read_curve` and :func:`lrnbook.speed.progress_record`; this module sits
outside every fit's and page's key.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from lrn.data.eg1800 import PAPER_COUNTS
from lrnbook import lost_work
from lrnbook.plan import curve, runs_dir
from lrnbook.progress_parks import fits, stage_log


def curve_so_far(model_dir: Path) -> pd.DataFrame:
    """Every epoch logged so far in a run folder, stage after stage (empty when none was logged).

    An epoch trained again (a run that went on from an earlier epoch) counts once, with its
    last log; epochs are numbered by position within their stage, as ``history.csv`` numbers
    them (a second stage's log may go on from a resumed first stage's epoch count).
    """
    stages = []
    for stage in (1, 2):
        log = stage_log(model_dir, stage)
        if log.empty:
            break
        stages.append(log.sort_values("epoch").assign(epoch=range(len(log)), stage=stage))
    return pd.concat(stages, ignore_index=True) if stages else pd.DataFrame()


def speed_facts(settings: dict, model_dir: Path) -> dict:
    """What the speed table of a run still training needs (:func:`lrnbook.speed.stage_section`), from
    its fit stage's ``settings`` and its run folder: ``settings`` (size, width and, on the paper
    protocol, the numbers of training and validation photos; ``stop_on``, the loss the plateau
    rule watches, when set), the sgemm rate each training
    process measured (``machine_sgemm_gflops``) and its ``stints`` (``stints.json``)."""
    config = settings.get("config", {})
    facts = {k: config[k] for k in ("size", "width", "stop_on") if k in config}
    if settings.get("protocol") == "paper":
        facts.update(n_train=PAPER_COUNTS["train"], n_val=PAPER_COUNTS["val"])
    path = model_dir / "stints.json"
    stints = json.loads(path.read_text()) if path.is_file() else []
    return {"settings": facts, "machine_sgemm_gflops": [s["sgemm_gflops"] for s in stints if s.get("sgemm_gflops")],
            "stints": stints}


def same_run(facts: Path, model_dir: Path) -> bool:
    """Whether the committed curve whose facts are in ``facts`` was logged by the run in ``model_dir``
    (same model key); a curve committed before the facts named their key counts as the same run."""
    if not facts.is_file():
        return True
    return json.loads(facts.read_text()).get("model_key", model_dir.name) == model_dir.name


def write_all(profile: str) -> list[str]:
    """Write the curve so far of every unfinished run of ``profile``; remove the others.

    Returns the names of the runs whose curve was written.
    """
    written = []
    for stage, model_dir, _ in fits(profile):
        path = runs_dir(profile) / curve(stage.short)
        logged = curve_so_far(model_dir)
        facts = runs_dir(profile) / curve(stage.short, ".json")
        if path.is_file() and same_run(facts, model_dir):  # the committed curve: did this machine lose some of it?
            entry = lost_work.note_loss(runs_dir(profile), stage.short, pd.read_csv(path), logged)
            if entry:
                print(f"[lrnbook.curves] {stage.name}: {entry['epochs']} epochs of the committed curve ({entry['hours']:.1f} "
                      f"h) are not in this machine's log: lost, noted in {lost_work.lost_path(runs_dir(profile), stage.short)}",
                      file=sys.stderr, flush=True)
        so_far = pd.DataFrame() if (model_dir / "model.keras").is_file() else logged
        if so_far.empty:
            path.unlink(missing_ok=True)
            facts.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        so_far.to_csv(path, index=False, float_format="%.6g")
        facts.write_text(json.dumps({**speed_facts(stage.settings, model_dir), "model_key": model_dir.name}, indent=1)
                         + "\n")
        written.append(stage.short)
        print(f"[lrnbook.curves] {stage.name}: {len(so_far)} epochs so far in {path}", file=sys.stderr, flush=True)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lrnbook.curves", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="cpu")
    write_all(parser.parse_args(argv).profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
