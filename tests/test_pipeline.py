"""Staleness in both directions, on a scratch copy of the repository (the real one is never touched).

The copy holds the library, the book side, the notebooks and the committed runs of the cpu
profile; ``status`` runs in a subprocess that imports the copy's packages.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

PROFILE = "cpu"
STATUS = """
import json, sys
from lrnbook import stages
print(json.dumps({s.stage.name: [s.state, s.why, s.text_only] for s in stages.status(sys.argv[1])}))
"""


@pytest.fixture
def scratch(tmp_path):
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "failed")
    for part in ("lrn", "bookkit", "params"):
        shutil.copytree(REPO / part, copy / part, ignore=ignore)
    shutil.copytree(REPO / "notebooks", copy / "notebooks",
                    ignore=shutil.ignore_patterns("__pycache__", "failed", "smoke", "quick", "paper"))
    return copy


def env_for(copy):
    env = dict(os.environ, PYTHONPATH=f"{copy}{os.pathsep}{copy / 'bookkit'}")
    return env


def status(copy) -> dict:
    result = subprocess.run([sys.executable, "-c", STATUS, PROFILE], capture_output=True, text=True,
                            env=env_for(copy), cwd=copy)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def edit(path, old, new, count=1):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


def stale(states, kind=None):
    return sorted(n for n, (state, _, _) in states.items() if state != "current" and (kind is None or n.startswith(kind)))


def test_the_scratch_copy_starts_all_current(scratch):
    states = status(scratch)
    assert stale(states) == [], {n: s for n, s in states.items() if s[0] != "current"}


def test_docstring_and_comment_edits_in_every_library_module_leave_every_stage_current(scratch):
    modules = sorted((scratch / "lrn").rglob("*.py"))
    assert len(modules) > 20
    for path in modules:
        text = path.read_text()
        doc = re.search(r'"""(.*?)"""', text, re.S)
        if doc:  # reword the first docstring
            text = text.replace(doc.group(0), '"""' + doc.group(1) + ' Reworded."""', 1)
        path.write_text("# an edited comment\n" + text.replace("\n\n\n", "\n\n\n# another comment\n", 1))
    assert stale(status(scratch)) == []


def test_a_hausdorff_change_makes_only_scores_and_pages_stale(scratch):
    path = scratch / "lrn" / "metrics.py"
    text = path.read_text()
    body = text[text.index("def hausdorff("):]
    returns = re.search(r"\n    return (.+)\n", body)
    edit(path, returns.group(0), f"\n    return 1.0 + {returns.group(1)}\n")
    states = status(scratch)
    assert stale(states, "fit/") == []
    scores = [n for n in states if n.startswith("score/")]
    assert stale(states, "score/") == sorted(scores)
    assert all("lrn.metrics" in states[n][1] for n in scores)
    assert set(stale(states)) <= {n for n in states if n.startswith(("score/", "page/"))}


def test_a_loss_change_makes_exactly_the_fits_that_import_it_stale(scratch):
    edit(scratch / "lrn" / "losses.py", "def bce():", "EPSILON = 1e-7\n\n\ndef bce():")
    states = status(scratch)
    fits = [n for n in states if n.startswith("fit/")]
    assert stale(states, "fit/") == sorted(fits)  # every fit trains with the loss
    assert all("lrn.losses" in states[n][1] for n in fits)
    assert states["page/data"][0] == "current"  # the data page does not train
    assert states["page/peer"][0] == "current"


def test_a_change_to_the_code_writing_predictions_makes_every_reader_of_them_stale(scratch):
    edit(scratch / "lrn" / "predict.py", "np.rint(np.clip(level, 0, 1) * 255)", "np.floor(np.clip(level, 0, 1) * 255)")
    states = status(scratch)
    assert all(states[n][0] == "stale" for n in states if n.startswith(("fit/", "score/", "page/train_")))
    for page in ("page/results", "page/claims", "page/coarse_to_fine", "page/ablations"):
        assert "which is not current" in states[page][1]
    # the data page reads no stored predictions; it is stale only because its cells import
    # lrnbook.pages, which imports lrn.predict
    assert "which is not current" not in states["page/data"][1] and "lrn.predict" in states["page/data"][1]


def test_an_edited_result_file_makes_its_producer_and_readers_stale(scratch):
    path = scratch / "notebooks" / "runs" / PROFILE / "results" / "unet_small_seed0" / "test_per_image.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))  # drop the last image's row
    states = status(scratch)
    assert "outputs changed" in states["score/unet_small_seed0"][1]
    assert states["page/train_unet_small_seed0"][0] == states["page/claims"][0] == "stale"
    assert states["score/lrn_small_seed0"][0] == states["fit/unet_small_seed0"][0] == "current"


def test_a_markdown_edit_makes_only_its_own_page_stale_and_rerendering_keeps_the_outputs(scratch):
    notebook = scratch / "notebooks" / "results.ipynb"
    edit(notebook, "## Table 1", "## Table 1 of the paper, recomputed")
    states = status(scratch)
    assert stale(states) == ["page/results"]
    assert states["page/results"][2] is True  # text only: re-rendered, nothing re-executed
    executed = scratch / "notebooks" / "runs" / PROFILE / "results.ipynb"
    outputs_before = [c.get("outputs") for c in json.loads(executed.read_text())["cells"] if c["cell_type"] == "code"]
    result = subprocess.run([sys.executable, "-m", "lrnbook", "execute", "--profile", PROFILE, "--no-stale"],
                            capture_output=True, text=True, env=env_for(scratch), cwd=scratch)
    assert result.returncode == 0, result.stderr
    cells = json.loads(executed.read_text())["cells"]
    assert any("Table 1 of the paper, recomputed" in "".join(c["source"]) for c in cells)
    assert [c.get("outputs") for c in cells if c["cell_type"] == "code"] == outputs_before
    assert stale(status(scratch)) == []



def test_a_code_cell_tag_edit_is_rerendered_not_executed(scratch):
    """Folding a table (``hide-output``) changes how a page shows, not what it computes."""
    notebook = scratch / "notebooks" / "results.ipynb"
    source = json.loads(notebook.read_text())
    shown = next(c for c in source["cells"] if c["cell_type"] == "code" and not c["metadata"].get("tags"))
    shown["metadata"]["tags"] = ["hide-output"]
    notebook.write_text(json.dumps(source, indent=1) + "\n")
    states = status(scratch)
    assert stale(states) == ["page/results"] and states["page/results"][2] is True
    executed = scratch / "notebooks" / "runs" / PROFILE / "results.ipynb"
    outputs_before = [c.get("outputs") for c in json.loads(executed.read_text())["cells"] if c["cell_type"] == "code"]
    result = subprocess.run([sys.executable, "-m", "lrnbook", "execute", "--profile", PROFILE, "--no-stale"],
                            capture_output=True, text=True, env=env_for(scratch), cwd=scratch)
    assert result.returncode == 0, result.stderr
    cells = [c for c in json.loads(executed.read_text())["cells"] if c["cell_type"] == "code"]
    assert [c.get("outputs") for c in cells] == outputs_before
    assert sum("hide-output" in c["metadata"].get("tags", []) for c in cells) == sum(
        "hide-output" in c["metadata"].get("tags", []) for c in source["cells"] if c["cell_type"] == "code")
    assert stale(status(scratch)) == []

SUSPEND = """
import json, sys
from lrnbook import stages
from lrnbook.plan import plan, runs_dir
stage = next(s for s in plan(sys.argv[1]) if s.name == "fit/unet_vgg")
parked = runs_dir(sys.argv[1]) / "parked" / "unet_vgg"
parked.mkdir(parents=True, exist_ok=True)
(parked / "parked.json").write_text(json.dumps({"finished_epochs": {"stage1": 3}}))
out = runs_dir(sys.argv[1]) / "results" / "unet_vgg"
(out / "not_run.json").write_text(json.dumps({"status": "not run", "in_progress": True, "reason": "r"}))
for name in ("predictions.npz", "history.csv"):
    (out / name).unlink(missing_ok=True)
stages.write_record(sys.argv[1], stage, stages.components(sys.argv[1], stage), ["results/unet_vgg/not_run.json"], 0)
picked = []
stages.execute_stage = lambda profile, stage, **kw: picked.append(stage.name)
stages.execute(sys.argv[1], stale=False, only="fit/unet_vgg")
stages.execute(sys.argv[1], stale=True, only="fit/unet_vgg")
print(json.dumps({s.stage.name: [s.state, s.why, s.unfinished] for s in stages.status(sys.argv[1])} | {"picked": picked}))
"""


def test_a_parked_fit_is_current_unfinished_and_goes_on_only_when_stale_stages_run(scratch):
    """A -VGG fit stopped part-way is current (the book shows it as in progress), ``make book``
    (missing stages only) leaves it, ``make train`` (stale and unfinished) picks it up, and
    a new park changes what it reads."""
    result = subprocess.run([sys.executable, "-c", SUSPEND, PROFILE], capture_output=True, text=True,
                            env=env_for(scratch), cwd=scratch)
    assert result.returncode == 0, result.stderr
    states = json.loads(result.stdout)
    state, why, unfinished = states["fit/unet_vgg"]
    assert (state, unfinished) == ("current", True) and why == "r"
    assert states["picked"] == ["fit/unet_vgg"]  # once: by the stale run, not by the missing-only one
    assert states["fit/unet_small_seed0"][2] is False  # a finished fit
    edit(scratch / "notebooks" / "runs" / PROFILE / "parked" / "unet_vgg" / "parked.json", '"stage1": 3', '"stage1": 4')
    state, why, _ = status(scratch)["fit/unet_vgg"]
    assert state == "stale" and "reads" in why


def test_a_runner_still_going_past_its_deadline_is_ended_and_named(tmp_path):
    from lrnbook import stages

    stages._subprocess("json.tool", {"a": 1}, "json.tool")
    slow = tmp_path / "slow_module.py"
    slow.write_text("import time\ntime.sleep(30)\n")
    started = __import__("time").monotonic()
    env = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{env}"
    try:
        with pytest.raises(RuntimeError, match="slow was still running"):
            stages._subprocess("slow_module", {}, "slow", timeout=1)
    finally:
        os.environ["PYTHONPATH"] = env
    assert __import__("time").monotonic() - started < 20
