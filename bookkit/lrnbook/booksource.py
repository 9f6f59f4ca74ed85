"""The book's sources for one profile, copied to ``_build/src``; result CSVs published beside the pages.

Tracked files are never modified: the copy's ``_toc.yml`` points at
``notebooks/runs/<profile>/``, stale pages get a visible notice as their first cell, and
TensorFlow's start-up log lines are dropped from the copies.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from lrn.errors import InputError
from lrn.variants import DISPLAY_NAMES
from lrnbook import plots, stages
from lrnbook.plan import REPO, runs_dir

SOURCES = REPO / "_build" / "src"
STALE_NOTICE = ("```{{warning}}\nThis page is stale: {why}. Its numbers may not match the code any more: "
                "`make reproduce PROFILE={profile}` re-executes it.\n```")


def copy_sources(profile: str) -> Path:
    """Copy the book's sources for ``profile`` into ``_build/src`` and return that folder."""
    states = {s.stage.name: s for s in stages.status(profile)}
    pages = [s for s in states.values() if s.stage.kind == "page"]
    missing = [s.stage.name for s in pages if s.state == "missing"]
    if missing:
        raise InputError(f"profile {profile!r}: pages not executed yet: {', '.join(missing)} (make book executes them)")
    if SOURCES.exists():
        shutil.rmtree(SOURCES)
    SOURCES.mkdir(parents=True)
    shutil.copy2(REPO / "_config.yml", SOURCES / "_config.yml")
    shutil.copytree(REPO / "book", SOURCES / "book")
    names = {s.stage.short for s in pages}
    toc = [line for line in (REPO / "_toc.yml").read_text().splitlines(keepends=True)
           if "notebooks/runs/cpu/" not in line or line.strip().rsplit("/", 1)[-1] in names]  # e.g. no peer
    (SOURCES / "_toc.yml").write_text(for_profile("".join(toc), profile))
    for chapter in (SOURCES / "book").glob("*.md"):
        text = chapter.read_text()
        if for_profile(text, profile) != text:  # rewrite only what changes: Sphinx rebuilds by mtime
            chapter.write_text(for_profile(text, profile))
    target = SOURCES / "notebooks" / "runs" / profile
    shutil.copytree(runs_dir(profile), target, ignore=shutil.ignore_patterns("failed", "stages", "*.keras"))
    for state in pages:
        path = target / f"{state.stage.short}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        changed = name_the_variant(notebook, state.stage)
        changed = hide_parameter_cells(notebook) or changed
        changed = fold_code_cells(notebook) or changed
        changed = drop_empty_sections(notebook) or changed
        changed = stages.drop_unused_widget_state(notebook) or changed
        if state.state == "stale":
            notice = STALE_NOTICE.format(why=state.why, profile=profile)
            notebook.cells.insert(0, nbformat.v4.new_markdown_cell(notice))
            changed = True
        if changed:
            nbformat.write(notebook, path)
    plots.architecture(SOURCES / "book" / "architecture.png")
    return SOURCES


def for_profile(text: str, profile: str) -> str:
    """Point links to the committed cpu runs at another profile's runs."""
    return text.replace("notebooks/runs/cpu/", f"notebooks/runs/{profile}/")


PARAMETER_TAGS = ("parameters", "injected-parameters")


def hide_parameter_cells(notebook) -> bool:
    """Tag the notebook's default and papermill-injected parameter cells ``remove-cell``: the
    page's settings box already shows the values, so a reader does not see them twice."""
    changed = False
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if any(t in tags for t in PARAMETER_TAGS) and "remove-cell" not in tags:
            tags.append("remove-cell")
            changed = True
    return changed


def fold_code_cells(notebook) -> bool:
    """Tag every shown code cell ``hide-input``: the page shows its tables, figures and sentences,
    and each cell's code stays a click away ("Show code cell source")."""
    changed = False
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.setdefault("tags", [])
        if "remove-cell" not in tags and "remove-input" not in tags and "hide-input" not in tags:
            tags.append("hide-input")
            changed = True
    return changed


def drop_empty_sections(notebook) -> bool:
    """Remove every headed section (a markdown cell starting with ``## `` up to the next heading
    cell) whose code cells all have no output, e.g. the learning curves of a run still training:
    a heading over a paragraph and folded code with nothing under it tells a reader nothing."""
    def heading(cell):
        return cell.cell_type == "markdown" and cell.source.lstrip().startswith("#")

    kept, k, changed = [], 0, False
    cells = notebook.cells
    while k < len(cells):
        end = k + 1
        while end < len(cells) and not heading(cells[end]):
            end += 1
        section = cells[k:end]
        code = [c for c in section if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])]
        if cells[k].cell_type == "markdown" and cells[k].source.lstrip().startswith("## ") and code \
                and not any(c.get("outputs") for c in code):
            changed = True
        else:
            kept += section
        k = end
    notebook.cells = kept
    return changed


def name_the_variant(notebook, stage: stages.Stage) -> bool:
    """Title a training page by its run ("Training LRN"), so the table of contents tells them apart."""
    variant = stage.settings.get("variant")
    first = notebook.cells[0] if notebook.cells else None
    if variant is None or first is None or first.cell_type != "markdown":
        return False
    title, _, rest = first.source.partition("\n")
    if not title.startswith("# Training"):
        return False
    first.source = f"# Training {stage.title or DISPLAY_NAMES[variant]}\n{rest}"
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
