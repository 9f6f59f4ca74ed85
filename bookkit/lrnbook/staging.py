"""Notebook runs behind ``make book``: what to execute, its key, whether it is current.

A *run* is one notebook executed by papermill with one set of parameters, written to
``notebooks/runs/<profile>/<name>.ipynb``. Its *key* hashes everything that decides its
results: the notebook's source (cells, not outputs), its parameters, the data manifest, the
``lrn`` modules that decide results (models, losses, metrics, data, augmentation, training,
evaluation; not plotting, widgets, command line) and the keys of the runs it reads.
A run is *current* when its executed notebook carries the key computed now, *stale* when
it carries another, *missing* when there is no executed notebook.

Command line (used by the Makefile)::

    python -m lrn.runs status  --profile cpu        # exit 1 if a run is stale or missing
    python -m lrn.runs execute --profile cpu [--stale] [--force]
    python -m lrn.runs stage   --profile cpu        # book sources for that profile in _build/src
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lrn import DISPLAY_NAMES
from lrn.errors import InputError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
PARAMS = REPO / "params"
LRN = REPO / "lrn"
RESULT_MODULES = ("models.py", "losses.py", "metrics.py", "augment.py", "train.py", "evaluate.py",
                  "imageops.py", "postprocess.py", "data/__init__.py", "data/split.py", "data/eg1800.py", "data/folder.py",
                  "data/synthetic.py", "data/download.py", "data/eg1800.SHA256SUMS")
TRAIN_PARAMETERS = ("protocol", "size", "width", "epochs", "batch_size", "learning_rate",
                    "patience", "seed", "augment")
VARIANTS = ("lrn", "lrn_vgg", "unet", "unet_vgg")


@dataclass
class Run:
    """One notebook execution: source notebook, output name, parameters, runs it reads."""

    name: str
    notebook: str
    parameters: dict
    inputs: list[str] = field(default_factory=list)
    modules: tuple[str, ...] = ()  # further lrn modules that decide this run's results
    title: str | None = None  # page title of a training run, when the variant alone does not say it


def load_profile(profile: str) -> dict:
    """Read ``params/<profile>.yaml`` (a clear error for an unknown profile)."""
    path = PARAMS / f"{profile}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PARAMS.glob("*.yaml"))
        raise InputError(f"unknown profile {profile!r}: no {path}; choose one of {', '.join(known)}")
    settings = yaml.safe_load(path.read_text()) or {}
    unknown = set(settings) - set(TRAIN_PARAMETERS) - {"variants", "description", "n_examples", "peer", "small",
                                                       "model_card"}
    if unknown:
        raise InputError(f"{path}: unknown settings {', '.join(sorted(unknown))}")
    small = settings.get("small")
    if small is not None:
        missing = sorted(set(SMALL_SETTINGS) - set(small))
        extra = sorted(set(small) - set(SMALL_SETTINGS))
        if missing or extra:
            raise InputError(f"{path}: 'small' needs exactly {', '.join(SMALL_SETTINGS)}"
                             f" (missing: {missing or 'none'}, unknown: {extra or 'none'})")
    return settings


SMALL_SETTINGS = ("size", "epochs", "seeds", "larger_size")
"""The reduced setting of the seed and ablation runs: input size, epochs, training seeds, and
the input size of the larger-input ablation."""

ABLATIONS = {  # name -> (title, train.ipynb parameters that differ from the small LRN baseline)
    "finest": ("LRN supervised on s6 only", {"supervision": "finest"}),
    "squeeze": ("LRN with the 1-channel skip squeeze", {"squeeze_skip": True}),
    "backgrounds": ("LRN with dynamic backgrounds", {"backgrounds": True}),
    "larger": ("LRN with a larger input", {}),
}


def small_runs(settings: dict, base: dict) -> tuple[list[Run], list[str], list[str]]:
    """Seed runs (LRN and U-Net, one per seed) and LRN ablations at the profile's small setting.

    Returns the runs, the names of the seed runs and of the ablation runs. Seeds change the
    weights and batches only: every run trains and tests on the split drawn with ``seed``.
    """
    small = settings["small"]
    common = {**base, "size": small["size"], "epochs": small["epochs"]}
    runs, seeds, ablations = [], [], []
    for variant in ("lrn", "unet"):
        for seed in small["seeds"]:
            name = f"{variant}_small_seed{seed}"
            runs.append(Run(f"train_{name}", "train.ipynb", {**common, "variant": variant, "train_seed": seed,
                                                             "name": name},
                            title=f"{DISPLAY_NAMES[variant]}, {small['size']} px, training seed {seed}"))
            seeds.append(runs[-1].name)
    for key, (title, changes) in ABLATIONS.items():
        if key == "larger":
            changes = {"size": small["larger_size"]}
        name = f"lrn_small_{key}"
        runs.append(Run(f"train_{name}", "train.ipynb", {**common, "variant": "lrn", "name": name, **changes},
                        title=f"{title} ({changes.get('size', small['size'])} px)"))
        ablations.append(runs[-1].name)
    return runs, seeds, ablations


def plan(profile: str) -> list[Run]:
    """The runs of a profile, in execution order (training before what reads it)."""
    settings = load_profile(profile)
    common = {k: settings[k] for k in TRAIN_PARAMETERS if k in settings}
    base = {"profile": profile, **common}
    runs = [Run("data", "data.ipynb", {"profile": profile, **{k: common[k] for k in
                                                               ("protocol", "size", "seed")
                                                               if k in common},
                                       "n_examples": settings.get("n_examples", 6)})]
    variants = settings.get("variants", list(VARIANTS))
    for variant in variants:
        runs.append(Run(f"train_{variant}", "train.ipynb", {**base, "variant": variant}))
    trained = [f"train_{v}" for v in variants]
    seed_runs, ablation_runs = [], []
    if settings.get("small"):
        extra, seed_runs, ablation_runs = small_runs(settings, base)
        runs.extend(extra)
    if settings.get("peer", True):
        runs.append(Run("peer", "peer.ipynb", {"profile": profile, **{k: common[k] for k in ("protocol", "seed")
                                                                       if k in common}}, modules=("peer.py",)))
    peer = ["peer"] if settings.get("peer", True) else []
    runs.append(Run("results", "results.ipynb", {"profile": profile, "variants": variants}, trained + peer))
    runs.append(Run("claims", "claims.ipynb", {"profile": profile, "variants": variants,
                                               "seed_runs": [r.removeprefix("train_") for r in seed_runs]},
                    trained + seed_runs, modules=("claims.py", "stats.py", "book.py")))
    if ablation_runs:
        lrn_seeds = [r for r in seed_runs if r.startswith("train_lrn_")]  # the baseline and its seed spread
        runs.append(Run("ablations", "ablations.ipynb",
                        {"profile": profile, "baseline": seed_runs[0].removeprefix("train_"),
                         "ablations": [r.removeprefix("train_") for r in ablation_runs]},
                        lrn_seeds + ablation_runs, modules=("claims.py", "stats.py", "book.py", "plots.py")))
    from lrn import shipped

    if settings.get("model_card", True):
        card_parameters = {"profile": profile, **{k: common[k] for k in ("protocol", "seed") if k in common}}
        runs.append(Run("model_card", "model_card.ipynb", card_parameters, peer,
                        modules=("shipped.py", "cutout.py", f"pretrained/{shipped.MODEL_FILE.name}",
                                 f"pretrained/{shipped.CARD_FILE.name}")))
    if "lrn" in variants:
        runs.append(Run("coarse_to_fine", "coarse_to_fine.ipynb", {"profile": profile}, ["train_lrn"]))
    return runs


def runs_dir(profile: str) -> Path:
    return NOTEBOOKS / "runs" / profile


def output_path(profile: str, run: Run) -> Path:
    return runs_dir(profile) / f"{run.name}.ipynb"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def notebook_source_hash(path: Path) -> str:
    """Hash of a notebook's cells (type and source), ignoring outputs and metadata."""
    cells = json.loads(path.read_text())["cells"]
    source = [(c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
              for c in cells]
    return sha256_bytes(json.dumps(source).encode())


def code_hash() -> str:
    """Hash of the ``lrn`` modules that decide results."""
    digest = hashlib.sha256()
    for name in RESULT_MODULES:
        digest.update(name.encode() + b"\0" + (LRN / name).read_bytes())
    return digest.hexdigest()


def run_keys(profile: str) -> dict[str, str]:
    """Key of every run of ``profile``, by run name."""
    keys: dict[str, str] = {}
    code = code_hash()
    for run in plan(profile):
        payload = {"notebook": notebook_source_hash(NOTEBOOKS / run.notebook), "parameters": run.parameters,
                   "code": code, "inputs": {name: keys[name] for name in run.inputs}}
        if run.modules:
            payload["modules"] = {m: sha256_bytes((LRN / m).read_bytes()) for m in run.modules}
        keys[run.name] = sha256_bytes(json.dumps(payload, sort_keys=True).encode())[:16]
    return keys


def recorded_key(path: Path) -> str | None:
    """The key an executed notebook carries (``None`` if it has none)."""
    if not path.exists():
        return None
    metadata = json.loads(path.read_text()).get("metadata", {})
    return metadata.get("papermill", {}).get("parameters", {}).get("run_key")


def status(profile: str) -> list[dict]:
    """One row per run: name, key, recorded key, state (``current``/``stale``/``missing``)."""
    rows = []
    keys = run_keys(profile)
    for run in plan(profile):
        path = output_path(profile, run)
        recorded = recorded_key(path)
        state = "missing" if recorded is None else "current" if recorded == keys[run.name] else "stale"
        rows.append({"run": run.name, "key": keys[run.name], "recorded": recorded, "state": state,
                     "path": str(path.relative_to(REPO))})
    return rows


def check_parameters(notebook: Path, parameters: dict) -> None:
    """Refuse parameter names the notebook's ``parameters`` cell does not declare.

    papermill would only warn and inject them anyway, where nothing reads them.
    """
    import papermill

    declared = set(papermill.inspect_notebook(str(notebook)))
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise InputError(f"{notebook.name}: unknown parameter(s) {', '.join(unknown)}; "
                         f"it declares {', '.join(sorted(declared))}")


def execute(profile: str, run: Run, key: str) -> Path:
    """Execute one run with papermill; on success the executed notebook replaces the old one.

    A failed run never overwrites the executed notebook in place: its partial output is kept
    in ``notebooks/runs/<profile>/failed/`` and the error names the cell that failed.
    """
    import papermill

    final = output_path(profile, run)
    final.parent.mkdir(parents=True, exist_ok=True)
    parameters = {**run.parameters, "run_key": key}
    check_parameters(NOTEBOOKS / run.notebook, parameters)
    with tempfile.TemporaryDirectory() as tmp:
        partial = Path(tmp) / final.name
        try:
            papermill.execute_notebook(str(NOTEBOOKS / run.notebook), str(partial), parameters=parameters,
                                       cwd=str(final.parent), progress_bar=True, kernel_name="python3")
        except papermill.PapermillExecutionError as error:
            failed = final.parent / "failed" / final.name
            failed.parent.mkdir(exist_ok=True)
            shutil.copy(partial, failed)
            first_line = (error.source or "").strip().splitlines()[0][:80] if error.source else ""
            raise RuntimeError(f"{run.name}: cell {error.cell_index} ({first_line!r}) failed with {error.ename}: "
                               f"{error.evalue}; partial notebook kept in {failed}; {final} left unchanged") from None
        shutil.move(partial, final)
    return final


def execute_profile(profile: str, stale: bool = False, force: bool = False, only: str | None = None) -> list[str]:
    """Execute the missing runs (``stale``: also stale ones; ``force``: all). Returns their names.

    ``only``: a shell pattern; runs whose name does not match are left as they are.
    """
    import fnmatch

    done = []
    keys = run_keys(profile)
    states = {row["run"]: row["state"] for row in status(profile)}
    for run in plan(profile):
        state = states[run.name]
        if only is not None and not fnmatch.fnmatch(run.name, only):
            continue
        if force or state == "missing" or (stale and state == "stale") or any(i in done for i in run.inputs):
            print(f"[lrn.runs] executing {run.name} ({state}) for profile {profile}", flush=True)
            execute(profile, run, keys[run.name])
            done.append(run.name)
    return done


STAGE = REPO / "_build" / "src"
STALE_NOTICE = ("```{{warning}}\nThis page was executed with an older version of lrn, its notebook or its "
                "parameters (run key {recorded}, current key {key}). Its numbers may not match the code any "
                "more: `make reproduce PROFILE={profile}` re-executes it.\n```")


def stage(profile: str) -> Path:
    """Copy the book's sources for ``profile`` into ``_build/src`` and return that folder.

    The copy's ``_toc.yml`` points at ``notebooks/runs/<profile>/``; stale runs get a visible
    notice as their first cell. Tracked files are never modified.
    """
    import nbformat

    rows = {row["run"]: row for row in status(profile)}
    missing = [name for name, row in rows.items() if row["state"] == "missing"]
    if missing:
        raise InputError(f"profile {profile!r}: runs not executed yet: {', '.join(missing)} "
                         f"(make book executes them)")
    if STAGE.exists():
        shutil.rmtree(STAGE)
    STAGE.mkdir(parents=True)
    shutil.copy2(REPO / "_config.yml", STAGE / "_config.yml")
    shutil.copytree(REPO / "book", STAGE / "book")
    names = {run.name for run in plan(profile)}
    toc = [line for line in (REPO / "_toc.yml").read_text().splitlines(keepends=True)
           if "notebooks/runs/cpu/" not in line or line.strip().rsplit("/", 1)[-1] in names]  # e.g. no peer
    (STAGE / "_toc.yml").write_text(for_profile("".join(toc), profile))
    for chapter in (STAGE / "book").glob("*.md"):
        text = chapter.read_text()
        if for_profile(text, profile) != text:  # rewrite only what changes: Sphinx rebuilds by mtime
            chapter.write_text(for_profile(text, profile))
    target = STAGE / "notebooks" / "runs" / profile
    shutil.copytree(runs_dir(profile), target, ignore=shutil.ignore_patterns("failed", "*.keras", "run"))
    for run in plan(profile):
        path = target / f"{run.name}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        changed = drop_log_noise(notebook) | name_the_variant(notebook, run)
        row = rows[run.name]
        if row["state"] == "stale":
            notice = STALE_NOTICE.format(recorded=row["recorded"], key=row["key"], profile=profile)
            notebook.cells.insert(0, nbformat.v4.new_markdown_cell(notice))
            changed = True
        if changed:
            nbformat.write(notebook, path)
    from lrn import plots

    plots.architecture(STAGE / "book" / "architecture.png")
    return STAGE


def for_profile(text: str, profile: str) -> str:
    """Point links to the committed cpu runs at another profile's runs."""
    return text.replace("notebooks/runs/cpu/", f"notebooks/runs/{profile}/")


# TensorFlow's C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL and say nothing about results.
LOG_NOISE = ("I0000 ", "E0000 ", "W0000 ", "WARNING: All log messages before absl::InitializeLog()")


def drop_log_noise(notebook) -> bool:
    """Remove TensorFlow's start-up log lines from stderr outputs (in the staged copy only)."""
    changed = False
    for cell in notebook.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines = output["text"].splitlines(keepends=True)
                clean = [line for line in lines if not line.startswith(LOG_NOISE)]
                if len(clean) != len(lines):
                    changed = True
                    if not "".join(clean).strip():
                        continue
                    output["text"] = "".join(clean)
            kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept
    return changed


def name_the_variant(notebook, run: Run) -> bool:
    """Title a training page by its variant ("Training LRN"), so the table of contents tells them apart."""
    variant = run.parameters.get("variant")
    first = notebook.cells[0] if notebook.cells else None
    if variant is None or first is None or first.cell_type != "markdown":
        return False
    title, _, rest = first.source.partition("\n")
    if not title.startswith("# Training"):
        return False
    first.source = f"# Training {run.title or DISPLAY_NAMES[variant]}\n{rest}"
    return True


def publish(profile: str, html_dir: Path = REPO / "_build" / "html") -> list[Path]:
    """Copy the per-image CSVs next to the built results page, which links them."""
    written = []
    for csv in sorted(runs_dir(profile).glob("results/*/test_per_image.csv")):
        target = html_dir / "notebooks" / "runs" / profile / csv.relative_to(runs_dir(profile))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(csv, target)
        written.append(target)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lrn.runs", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("status", "execute", "stage", "publish"))
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--stale", action="store_true", help="execute: re-execute stale runs too")
    parser.add_argument("--force", action="store_true", help="execute: re-execute every run")
    parser.add_argument("--only", default=None,
                        help="execute: only runs whose name matches this shell pattern (e.g. 'train_*')")
    args = parser.parse_args(argv)
    try:
        if args.command == "status":
            rows = status(args.profile)
            for row in rows:
                print(f"{row['state']:8} {row['key']}  {row['path']}")
            return 0 if all(row["state"] == "current" for row in rows) else 1
        if args.command == "stage":
            print(stage(args.profile))
            return 0
        if args.command == "publish":
            for path in publish(args.profile):
                print(f"[lrn.runs] published {path.relative_to(REPO)}")
            return 0
        execute_profile(args.profile, stale=args.stale, force=args.force, only=args.only)
    except (InputError, RuntimeError) as error:
        print(f"lrn.runs: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
