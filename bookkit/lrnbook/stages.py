"""Keys, records and states of a profile's stages; executing what is missing or stale.

A stage's *key* hashes its *components*: its settings, the data manifest (if it reads
EG1800), the normalised source of its code (:mod:`lrnbook.keys`), the content of the files
it reads and, for a page, its notebook's code cells. After a stage runs, a *record*
``stages/<kind>/<name>.json`` in the profile's folder keeps its key, its components and
the content hashes of the files it wrote.

A stage is *current* when its record carries the key computed now, its outputs still hold
what it wrote and every stage that produces a file it reads is current; *stale* otherwise
(the reason names what changed); *missing* when it never ran. Because keys hash the content
of what a stage reads, re-running a producer that writes the same content leaves its
readers current.
"""
from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lrn.cache import MODELS, cache_dir
from lrn.errors import InputError
from lrnbook import keys
from lrnbook.plan import NOTEBOOKS, REPO, Stage, load_profile, plan, runs_dir

MANIFEST = "@lrn/data/eg1800.SHA256SUMS"


def resolve(profile: str, path: str) -> Path:
    """A stage path: ``@lrn/...`` inside the installed package, else relative to the profile folder."""
    if path.startswith("@"):
        package, _, rest = path[1:].partition("/")
        return keys.package_root(package) / rest
    return runs_dir(profile) / path


def file_hash(path: Path) -> str:
    """Content hash of a file, or ``"absent"``."""
    return keys.content_hash(path)[:16] if path.is_file() else "absent"


def notebook_cells(stage: Stage, kind: str = "code") -> list[str]:
    """The sources of a page's ``code`` (or ``markdown``) cells."""
    cells = json.loads((NOTEBOOKS / stage.notebook).read_text())["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == kind]


def code_cell_tags(stage: Stage) -> list[list[str]]:
    """The tags of a page's code cells (``hide-input``, ``hide-output``...): how they show, not what they compute."""
    cells = json.loads((NOTEBOOKS / stage.notebook).read_text())["cells"]
    return [list(c.get("metadata", {}).get("tags", [])) for c in cells if c["cell_type"] == "code"]


def components(profile: str, stage: Stage) -> dict:
    """What the key of ``stage`` hashes, component by component (see the module doc)."""
    parts = {"settings": keys.digest(stage.settings)}
    if stage.data:
        parts["data"] = file_hash(resolve(profile, MANIFEST))
    roots = set(stage.roots)
    if stage.notebook:
        cells = notebook_cells(stage)
        parts["notebook"] = keys.digest([keys.normalised_cell(c) for c in cells])
        parts["text"] = keys.digest(notebook_cells(stage, "markdown") + [json.dumps(code_cell_tags(stage))])
        roots |= keys.cell_modules(cells)
    parts["code"] = keys.code_hashes(sorted(roots))
    if stage.reads:
        parts["reads"] = {path: file_hash(resolve(profile, path)) for path in stage.reads}
    return parts


def stage_key(parts: dict) -> str:
    return keys.digest(parts)


def model_key(parts: dict) -> str:
    """The key a fit's trained model is cached under: its components without the book side's code.

    Training is decided by the settings, the data and the library; a change to the fit stage's
    own wrapper (``lrnbook.fit``) re-runs the stage, which then reuses the cached model and
    only predicts again.
    """
    library = {m: h for m, h in parts["code"].items() if m != "lrnbook" and not m.startswith("lrnbook.")}
    return keys.digest({"settings": parts["settings"], "data": parts.get("data"), "code": library})


def record_path(profile: str, stage: Stage) -> Path:
    return runs_dir(profile) / "stages" / f"{stage.name}.json"


def notebook_output(profile: str, stage: Stage) -> Path:
    """The executed notebook of a page stage."""
    return runs_dir(profile) / f"{stage.short}.ipynb"


def read_record(profile: str, stage: Stage) -> dict | None:
    path = record_path(profile, stage)
    return json.loads(path.read_text()) if path.is_file() else None


def changes(old: dict, new: dict) -> list[str]:
    """Which components differ, in words (``code: lrn/losses.py``, ``reads: results/lrn/predictions.npz``)."""
    said = []
    for part in sorted(set(old) | set(new)):
        a, b = old.get(part), new.get(part)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            names = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            said.append(f"{part}: {', '.join(names)}")
        else:
            said.append(part)
    return said


@dataclass
class State:
    stage: Stage
    key: str
    state: str  # current / stale / missing
    why: str = ""
    text_only: bool = False  # stale only because a page's markdown changed: re-rendered, not re-executed
    unfinished: bool = False  # a fit still training or queued (it wrote an in-progress note)

    @property
    def outputs_current(self) -> bool:
        """Whether what the stage wrote is still what it would write now."""
        return self.state == "current" or self.text_only


def status(profile: str, stages: list[Stage] | None = None) -> list[State]:
    """The state of every stage of ``profile``, in plan order."""
    stages = stages if stages is not None else plan(profile)
    producers = {}
    for stage in stages:
        for out in stage.outputs:
            producers[out] = stage.name
    states: dict[str, State] = {}
    for stage in stages:
        parts = components(profile, stage)
        key = stage_key(parts)
        record = read_record(profile, stage)
        if record is None:
            states[stage.name] = State(stage, key, "missing", "never executed")
            continue
        why = []
        changed = changes(record.get("components", {}), parts) if record["key"] != key else []
        text_only = changed == ["text"]
        if record["key"] != key:
            why += ["text: its markdown or code-cell tags changed"] if text_only else changed or ["key"]
        edited = [p for p, h in record.get("outputs", {}).items() if file_hash(resolve(profile, p)) != h]
        if edited:
            why.append(f"outputs changed since it ran: {', '.join(edited)}")
        waiting = sorted({producers[r] for r in stage.reads if r in producers
                          and not states[producers[r]].outputs_current})
        if waiting:
            why.append(f"reads the output of {', '.join(waiting)}, which is not current")
        text_only = text_only and not edited and not waiting
        state = "stale" if why else "current"
        note = in_progress(profile, stage)
        unfinished = note is not None
        if unfinished and not why:
            # a one-stage run's note names its stage "training": "still training: training, epoch 8 ..."
            reason = note["reason"].replace("still training: training, ", "still training: ")
            why.append(reason.replace(" hours so far", " hours so far" + lost_hours(profile, stage), 1))
        states[stage.name] = State(stage, key, state, "; ".join(why), text_only, unfinished)
    return [states[s.name] for s in stages]


def lost_hours(profile: str, stage: Stage) -> str:
    """What :func:`status` adds after the "hours so far" of a run still training when some of its
    hours were lost with a training machine (:mod:`lrnbook.lost_work`): ``" (and 1.7 more, lost
    with a training machine)"``, else ``""``. The note's hours count only the epochs its log holds."""
    from lrnbook import lost_work

    return lost_work.more_hours_text(lost_work.lost_hours(lost_work.read(stage.short, runs_dir(profile))))


def in_progress(profile: str, stage: Stage) -> dict | None:
    """The in-progress note of a fit still training or queued (:mod:`lrnbook.fit`, :func:`queue`), else ``None``."""
    if stage.kind != "fit":
        return None
    note = runs_dir(profile) / "results" / stage.short / "not_run.json"
    if not note.is_file():
        return None
    content = json.loads(note.read_text())
    return content if content.get("in_progress") else None


def write_record(profile: str, stage: Stage, parts: dict, outputs: list[str], seconds: float) -> Path:
    path = record_path(profile, stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"stage": stage.name, "key": stage_key(parts), "components": parts,
              "outputs": {o: file_hash(resolve(profile, o)) for o in outputs},
              "seconds": round(seconds, 1),
              "finished_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return path


def _subprocess(module: str, spec: dict, label: str, timeout: float | None = None,
                ends_when: Path | None = None) -> bool:
    """Run ``python -m module SPEC.json`` (:mod:`lrnbook.runner`); a runner still going ``timeout``
    seconds after it was due to stop is ended (it keeps a backup after every epoch).

    ``ends_when``: a file whose appearance ends the runner at once (see :func:`execute_stage`);
    returns whether that happened.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    due = None if timeout is None else time.monotonic() + timeout
    try:
        process = subprocess.Popen([sys.executable, "-m", module, handle.name], cwd=REPO)
        while True:
            left = None if due is None else max(0.0, due - time.monotonic())
            wait = left if ends_when is None else min(POLL_SECONDS, left if left is not None else POLL_SECONDS)
            try:
                returncode = process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                if ends_when is not None and ends_when.exists():
                    process.terminate()
                    process.wait()
                    return True
                if due is not None and time.monotonic() >= due:
                    process.terminate()
                    process.wait()
                    raise RuntimeError(f"{label} was still running {timeout / 60:.0f} minutes after its deadline and "
                                       "was ended; its last finished epoch is kept in the cache") from None
    finally:
        os.unlink(handle.name)
    if returncode != 0:
        raise RuntimeError(f"{label} failed (exit {returncode}); its outputs are left as they were")
    return False


POLL_SECONDS = 10.0
"""How often a runner watched for ``ends_when`` is looked at."""


PROGRESS_BAR = re.compile(r"\d+%\|")
"""What a tqdm bar looks like in its text form (``48/48 100%|####|``)."""


def clean_outputs(notebook) -> bool:
    """Remove what a reader should not see from an executed page's outputs; ``True`` if anything went.

    Every stderr stream goes (TensorFlow's C++ start-up lines, which ignore
    ``TF_CPP_MIN_LOG_LEVEL``, warnings, text progress bars): a warning that matters to a reader
    is a sentence of the page. Progress-bar widgets go; the home folder in any text output
    becomes ``~``.
    """
    home = str(Path.home()).rstrip("/") + "/"
    changed = False
    for cell in notebook.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                changed = True
                continue
            data = output.get("data", {})
            text = "".join(data.get("text/plain", ""))
            if "application/vnd.jupyter.widget-view+json" in data and PROGRESS_BAR.search(text):
                changed = True
                continue
            for key, value in list(data.items()) + [("text", output.get("text"))]:
                joined = "".join(value) if isinstance(value, list) else value
                if isinstance(joined, str) and home in joined:
                    (data if key != "text" else output)[key] = joined.replace(home, "~/")
                    changed = True
            kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept
    return drop_unused_widget_state(notebook) or changed


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def drop_unused_widget_state(notebook) -> bool:
    """Keep only the saved widget models connected to a shown widget view (the models it refers
    to, and those that refer to them, such as the links between a slider and its pictures); drop
    the rest (e.g. progress bars whose views were cleaned away), and the whole state when no view
    is left, so that a page without widgets ships none."""
    widgets = notebook.metadata.get("widgets", {})
    state = widgets.get(WIDGET_STATE, {}).get("state")
    if state is None:
        return False
    neighbours = {k: set() for k in state}
    for model, saved in state.items():
        for ref in _model_refs(saved.get("state", {})):
            if ref in state:
                neighbours[model].add(ref)
                neighbours[ref].add(model)
    todo = [output["data"][WIDGET_VIEW]["model_id"] for cell in notebook.cells for output in cell.get("outputs", [])
            if WIDGET_VIEW in output.get("data", {})]
    reached = set()
    while todo:
        model = todo.pop()
        if model in reached or model not in state:
            continue
        reached.add(model)
        todo += neighbours[model]
    if reached == set(state):
        return False
    if reached:
        widgets[WIDGET_STATE]["state"] = {k: v for k, v in state.items() if k in reached}
    else:
        del widgets[WIDGET_STATE]
        if not widgets:
            del notebook.metadata["widgets"]
    return True


def _model_refs(value) -> list[str]:
    """Model ids a widget's saved state refers to (``"IPY_MODEL_<id>"`` strings, at any depth)."""
    if isinstance(value, str):
        return [value[len("IPY_MODEL_"):]] if value.startswith("IPY_MODEL_") else []
    if isinstance(value, dict):
        return [m for v in value.values() for m in _model_refs(v)]
    if isinstance(value, list):
        return [m for v in value for m in _model_refs(v)]
    return []


def rerender_page(profile: str, stage: Stage) -> Path:
    """Bring a page's new markdown and code-cell tags into its executed notebook, keeping every code cell's outputs.

    For a page whose code cells are unchanged (its key differs only in ``text``): each code
    cell of the executed notebook is paired with the source's in order, and papermill's
    injected-parameters cell stays after the parameters cell.
    """
    import nbformat

    final = notebook_output(profile, stage)
    executed = nbformat.read(final, as_version=4)
    source = nbformat.read(NOTEBOOKS / stage.notebook, as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    ran = [c for c in executed.cells if c.cell_type == "code" and c not in injected]
    if len(ran) != sum(c.cell_type == "code" for c in source.cells):
        raise RuntimeError(f"{stage.name}: the executed notebook's code cells do not match {stage.notebook}")
    cells, pending = [], iter(ran)
    for cell in source.cells:
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        ran_cell = next(pending)
        ran_cell.metadata["tags"] = list(cell.metadata.get("tags", []))  # how it shows follows the source
        if not ran_cell.metadata["tags"]:
            del ran_cell.metadata["tags"]
        cells.append(ran_cell)
        if "parameters" in cell.metadata.get("tags", []):
            cells.extend(injected)
    executed.cells = cells
    clean_outputs(executed)
    nbformat.write(executed, final)
    return final


def execute_stage(profile: str, stage: Stage, text_only: bool = False, deadline: float | None = None) -> None:
    """Run one stage and write its record (nothing is recorded for a failed stage).

    ``text_only``: a page whose markdown alone changed is re-rendered (:func:`rerender_page`).
    ``deadline`` (``time.time()`` seconds): a fit stops training at an epoch boundary before
    it and records where it stands (:mod:`lrnbook.fit`).
    """
    folder = runs_dir(profile)
    parts = components(profile, stage)
    started = time.monotonic()
    if stage.kind == "fit":
        out_dir = folder / "results" / stage.short
        spec = {"settings": stage.settings, "model_dir": str(cache_dir() / MODELS / model_key(parts)),
                "out_dir": str(out_dir), "deadline": deadline}
        parked = folder / "parked" / stage.short
        if any(read.startswith("parked/") for read in stage.reads):
            spec["parked"] = str(parked)
        model_dir = Path(spec["model_dir"])
        drop_empty_logs(model_dir)
        second_log = model_dir / "history_stage2.csv"
        # A second stage always begins in a fresh process: Keras keeps the epoch a resumed first stage
        # started from and would start the second stage there too (fewer epochs than its limit), and
        # the process's deadline check knows only first-stage epochs, about half as long.
        watch = not second_log.exists() and not first_stage_over(model_dir)
        if _subprocess(stage.runner, spec, stage.name, grace_timeout(deadline), ends_when=second_log if watch else None):
            drop_empty_logs(model_dir)
            spec["deadline"] = second_stage_deadline(model_dir, deadline)
            starts = "starts now" if spec["deadline"] == deadline else "starts next time: too little time left"
            print(f"[lrnbook] {stage.name}: first stage finished; the second {starts}", file=sys.stderr, flush=True)
            _subprocess(stage.runner, spec, stage.name, grace_timeout(spec["deadline"]))
            if not second_log.exists():
                note_second_stage(out_dir / "not_run.json")
        outputs = [f"results/{stage.short}/{p.name}" for p in sorted(out_dir.iterdir())
                   if p.name in ("predictions.npz", "history.csv", "not_run.json")]
        if (out_dir / "predictions.npz").is_file() and parked.exists():
            shutil.rmtree(parked)  # finished: nothing left to go on from
        if stage.reads:  # the park may have changed: the code stays as it ran
            parts = {**parts, "reads": components(profile, stage)["reads"]}
    elif stage.kind == "score":
        _subprocess(stage.runner, {"settings": stage.settings, "folder": str(folder / "results" / stage.short)},
                    stage.name)
        outputs = stage.outputs
    else:
        if text_only:
            rerender_page(profile, stage)
        else:
            execute_page(profile, stage, stage_key(parts))
        outputs = [str(notebook_output(profile, stage).relative_to(folder)), *stage.outputs]
    write_record(profile, stage, parts, outputs, time.monotonic() - started)


def execute_page(profile: str, stage: Stage, key: str) -> Path:
    """Execute a page with papermill; on success the executed notebook replaces the old one.

    A failed page never overwrites the executed notebook in place: its partial output is kept
    in ``notebooks/runs/<profile>/failed/`` and the error names the cell that failed.
    """
    import papermill

    final = notebook_output(profile, stage)
    final.parent.mkdir(parents=True, exist_ok=True)
    parameters = {**stage.settings, "run_key": key}
    source = NOTEBOOKS / stage.notebook
    declared = set(papermill.inspect_notebook(str(source)))
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise InputError(f"{source.name}: unknown parameter(s) {', '.join(unknown)}; "
                         f"it declares {', '.join(sorted(declared))}")
    with tempfile.TemporaryDirectory() as tmp:
        partial = Path(tmp) / final.name
        try:
            papermill.execute_notebook(str(source), str(partial), parameters=parameters, cwd=str(final.parent),
                                       progress_bar=sys.stderr.isatty(), kernel_name="python3")
        except papermill.PapermillExecutionError as error:
            failed = final.parent / "failed" / final.name
            failed.parent.mkdir(exist_ok=True)
            shutil.copy(partial, failed)
            first_line = (error.source or "").strip().splitlines()[0][:80] if error.source else ""
            raise RuntimeError(f"{stage.name}: cell {error.cell_index} ({first_line!r}) failed with {error.ename}: "
                               f"{error.evalue}; partial notebook kept in {failed}; {final} left unchanged") from None
        import nbformat

        executed = nbformat.read(partial, as_version=4)
        clean_outputs(executed)
        nbformat.write(executed, final)
    return final


GRACE_SECONDS = 1800
"""How long a fit may run past its deadline (one long epoch) before it is ended."""


def grace_timeout(deadline: float | None) -> float | None:
    """How long a fit runner may run: to ``deadline`` and :data:`GRACE_SECONDS` beyond (it stops by
    itself at an epoch boundary before the deadline; the grace covers one long epoch)."""
    return None if deadline is None else max(0.0, deadline - time.time()) + GRACE_SECONDS


def drop_empty_logs(model_dir: Path) -> list[Path]:
    """Remove the per-epoch logs (``history_stage<s>.csv``) of ``model_dir`` that hold no epoch.

    Keras' CSV logger creates a stage's log when the stage begins and writes its first line at
    the end of the first epoch; a runner ended inside that epoch leaves an empty file that
    :func:`lrn.train.read_log` cannot read. It carries nothing, so it goes. Returns those removed.
    """
    empty = [p for p in sorted(model_dir.glob("history_stage*.csv")) if not p.read_text().strip()]
    for path in empty:
        path.unlink()
    return empty


def first_stage_over(model_dir: Path) -> bool:
    """Whether the first stage of the -VGG run trained in ``model_dir`` is over (its end is in the
    run's backups, found by :func:`lrnbook.run_backups.find_backups`)."""
    from lrn.cache import BACKUPS
    from lrnbook import parking, run_backups

    backups = run_backups.find_backups(model_dir, cache_dir() / BACKUPS)
    return backups is not None and (backups / parking.STAGE1_DONE).is_file()


STAGE2_EPOCH_FACTOR = 2.5
"""An epoch of all layers against one with the encoder frozen, at most: 2.4x for LRN and 1.2x for
U-Net at width 1 (training images per second, ``benchmarks/width1_speed.json``)."""


def second_stage_deadline(model_dir: Path, deadline: float | None) -> float | None:
    """The deadline for the runner that begins a run's second stage: ``deadline`` when start-up
    and a second-stage epoch (:data:`STAGE2_EPOCH_FACTOR` times the first stage's,
    :func:`next_epoch_seconds`) still end before it, else now (the runner then only records
    where the run stands, and the next stint begins the second stage)."""
    if deadline is None:
        return None
    first = next_epoch_seconds(model_dir, 1) or 0.0
    return deadline if time.time() + STARTUP_SECONDS + STAGE2_EPOCH_FACTOR * first <= deadline else time.time()


def note_second_stage(path: Path) -> None:
    """Make the in-progress note ``path`` of a run whose first stage is over and whose second has
    no epoch yet say so (the runner, reading only logged epochs, says "stage 1, epoch k")."""
    if not path.is_file():
        return
    note = json.loads(path.read_text())
    if not note.get("in_progress") or note.get("stage") != 1:
        return
    note["reason"] = re.sub(r"stage 1 \([^)]*\), epoch \d+", "stage 2 (all layers), epoch 0", note["reason"])
    note.update(stage=2, epoch=0)
    path.write_text(json.dumps(note, indent=2) + "\n")


def execute(profile: str, stale: bool = True, force: bool = False, only: str | None = None,
            minutes: float | None = None) -> list[str]:
    """Execute the missing stages of ``profile`` (``stale``: also stale ones and unfinished
    fits; ``force``: all).

    Pages whose markdown alone changed are always re-rendered (cheap: nothing runs).
    ``minutes``: fits stop training at an epoch boundary before that many minutes from now and
    record where they stand; fits not reached are recorded as queued (:func:`queue`). They go
    on from there next time. Fits run in the order of the profile's ``queue``
    (:func:`queue_order`), other stages in plan order.

    ``only``: a shell pattern on stage names (``fit/*``, ``page/results``); other stages are
    left as they are. States are recomputed after every stage, so a reader runs after its
    producer and is skipped when the producer wrote the same content again.
    """
    done = []
    deadline = None if minutes is None else time.time() + 60 * minutes
    stages = queue_order(profile, plan(profile))
    states = {s.stage.name: s for s in status(profile, stages)}
    for stage in stages:
        if only is not None and not fnmatch.fnmatch(stage.name, only):
            continue
        state = states[stage.name]
        if force or state.state == "missing" or state.text_only or (stale and (state.state == "stale" or state.unfinished)):
            waiting = [p.name for p in stages if set(p.outputs) & set(stage.reads)
                       and not states[p.name].outputs_current and p.name not in done]
            if waiting:
                print(f"[lrnbook] {stage.name} skipped: it reads the output of {', '.join(waiting)}, "
                      "which is not current", file=sys.stderr, flush=True)
                continue
            if stage.kind == "fit" and deadline is not None:
                need = stint_seconds_needed(profile, stage)
                if time.time() > deadline - need:
                    if need > MIN_STINT_SECONDS:
                        print(f"[lrnbook] {stage.name} not started: its next epoch would end after the deadline "
                              f"(about {need / 60:.0f} minutes with start-up, "
                              f"{max(0.0, deadline - time.time()) / 60:.0f} left)", file=sys.stderr, flush=True)
                    if not state.unfinished or state.state != "current" or not has_progress(profile, stage):
                        queue(profile, stage)
                    continue
            why = f" ({state.state}: {state.why})" if state.why else f" ({state.state})"
            print(f"[lrnbook] {stage.name}{why}", file=sys.stderr, flush=True)
            execute_stage(profile, stage, text_only=state.text_only and not force, deadline=deadline)
            done.append(stage.name)
            states = {s.stage.name: s for s in status(profile, stages)}  # readers see the new outputs
    return done


MIN_STINT_SECONDS = 300
"""A fit is not started with less time than this before the deadline: it is queued instead."""
STARTUP_SECONDS = 180
"""What a stint spends before its first epoch: loading the photos, building the model, reading its backup."""


def next_epoch_seconds(model_dir: Path, stage_number: int) -> float | None:
    """How long the next epoch of a run's stage ``stage_number`` should take, in seconds: the
    longest of the last three epochs in its log (``seconds`` of ``history_stage<s>.csv`` in the
    run folder ``model_dir``); ``None`` when that stage has logged no timed epoch."""
    log = model_dir / f"history_stage{stage_number}.csv"
    if not log.is_file():
        return None
    with log.open(newline="") as handle:
        seconds = [float(row["seconds"]) for row in csv.DictReader(handle) if row.get("seconds")]
    return max(seconds[-3:]) if seconds else None


def stint_seconds_needed(profile: str, stage: Stage) -> float:
    """The least time a fit needs before the deadline to be worth starting: start-up and one epoch
    of the stage it stands in (:func:`next_epoch_seconds`), at least :data:`MIN_STINT_SECONDS`.

    A second stage with no timed epoch yet counts :data:`STAGE2_EPOCH_FACTOR` times the first
    stage's epoch; any other run whose next epoch is unknown (queued, or a first stage with no
    timed epoch yet) gets the minimum. Why one epoch: a cut-out candidate's first stage takes
    about 25 minutes an epoch, and started with five minutes left it would end twenty minutes
    after the deadline.
    """
    note = in_progress(profile, stage)
    if not note or not note.get("stage"):
        return MIN_STINT_SECONDS
    model_dir = cache_dir() / MODELS / model_key(components(profile, stage))
    epoch = next_epoch_seconds(model_dir, int(note["stage"]))
    if epoch is None and int(note["stage"]) == 2:
        first = next_epoch_seconds(model_dir, 1)
        epoch = None if first is None else STAGE2_EPOCH_FACTOR * first
    return MIN_STINT_SECONDS if epoch is None else max(MIN_STINT_SECONDS, STARTUP_SECONDS + epoch)


def queue_order(profile: str, stages: list[Stage]) -> list[Stage]:
    """``stages`` with the fits in the order of the profile's ``queue`` (shell patterns on stage
    names; fits no pattern names come last, in plan order). Nothing reads a fit's output before
    every fit is done, so moving fits forward keeps each stage after what it reads."""
    patterns = load_profile_queue(profile)
    fits = [s for s in stages if s.kind == "fit"]
    rank = {s.name: next((i for i, p in enumerate(patterns) if fnmatch.fnmatch(s.name, p)), len(patterns))
            for s in fits}
    return sorted(fits, key=lambda s: rank[s.name]) + [s for s in stages if s.kind != "fit"]


def load_profile_queue(profile: str) -> list[str]:
    return list(load_profile(profile).get("queue") or [])


def has_progress(profile: str, stage: Stage) -> bool:
    """Whether this machine's cache holds epochs of fit ``stage``'s run (its run folder's log; a run
    restored from a park has the park's), so that a note saying where the run stands is still true."""
    model_dir = cache_dir() / MODELS / model_key(components(profile, stage))
    logs = [model_dir / f"history_stage{s}.csv" for s in (1, 2)]
    return any(log.is_file() and len(log.read_text().splitlines()) > 1 for log in logs)


def queue(profile: str, stage: Stage) -> None:
    """Record a fit that the queue has not reached: ``not_run.json`` says it is queued, and the
    pages show it so; the next ``make train`` trains it (a queued fit counts as unfinished).

    A run already under way keeps its note while this machine's cache holds its progress
    (:func:`has_progress`); when the cache lost it (a new machine, no park), the note says so."""
    out_dir = runs_dir(profile) / "results" / stage.short
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = out_dir / "not_run.json"
    under_way = previous.is_file() and "hours" in json.loads(previous.read_text())
    if under_way and has_progress(profile, stage):
        # a run already under way that this stint skipped: its note keeps saying where it stands
        print(f"[lrnbook] {stage.name}: not reached this time; {json.loads(previous.read_text())['reason']}",
              file=sys.stderr, flush=True)
        return
    for older in ("predictions.npz", "history.csv"):
        (out_dir / older).unlink(missing_ok=True)
    reason = ("queued: its progress was lost with a training machine, so it starts again; `make train` trains it in "
              "its turn" if under_way else "queued: not started yet; `make train` trains it in its turn")
    note = {"status": "not run", "in_progress": True, "queued": True, "reason": reason}
    (out_dir / "not_run.json").write_text(json.dumps(note, indent=2) + "\n")
    write_record(profile, stage, components(profile, stage), [f"results/{stage.short}/not_run.json"], 0.0)
    print(f"[lrnbook] {stage.name}: queued", file=sys.stderr, flush=True)
