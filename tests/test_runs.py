"""Notebook runs: keys, staleness, the smoke profile executed end to end, Table 1 read back."""
import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from conftest import REPO
from lrn import book, metrics, provenance, runs
from lrn.errors import InputError


def test_plan_has_one_training_run_per_variant_and_keys_are_stable():
    names = [run.name for run in runs.plan("smoke")]
    small = ["train_lrn_small_seed0", "train_unet_small_seed0",
             "train_lrn_small_finest", "train_lrn_small_squeeze", "train_lrn_small_backgrounds",
             "train_lrn_small_larger"]
    assert names == ["data", "train_lrn", "train_lrn_vgg", "train_unet", "train_unet_vgg", *small, "results",
                     "claims", "ablations", "coarse_to_fine"]  # smoke: no peer, no model card
    assert "model_card" in [run.name for run in runs.plan("cpu")]
    assert runs.run_keys("smoke") == runs.run_keys("smoke")
    assert len(set(runs.run_keys("smoke").values())) == len(names)


def test_keys_change_with_parameters_and_flow_into_dependent_runs(monkeypatch):
    before = runs.run_keys("smoke")
    original = runs.load_profile

    def changed(profile):
        return {**original(profile), "learning_rate": 0.5}

    monkeypatch.setattr(runs, "load_profile", changed)
    after = runs.run_keys("smoke")
    assert after["data"] == before["data"]            # does not read the learning rate
    assert after["train_lrn"] != before["train_lrn"]
    assert after["results"] != before["results"]      # reads the training runs


def test_seed_runs_and_ablations_reach_the_claims_and_ablations_pages():
    plan = {run.name: run for run in runs.plan("cpu")}
    claims = plan["claims"].parameters["seed_runs"]
    assert claims == [f"{v}_small_seed{s}" for v in ("lrn", "unet") for s in (0, 1, 2)]
    assert all(f"train_{name}" in plan["claims"].inputs for name in claims)
    ablations = plan["ablations"]
    assert ablations.parameters["baseline"] == "lrn_small_seed0"
    assert ablations.parameters["ablations"] == [f"lrn_small_{k}" for k in runs.ABLATIONS]
    assert ablations.inputs == [f"train_lrn_small_seed{s}" for s in (0, 1, 2)] + [
        f"train_lrn_small_{k}" for k in runs.ABLATIONS]  # the LRN seeds give the baseline's seed spread
    assert {"claims.py", "stats.py", "book.py", "plots.py"} <= set(ablations.modules)
    assert "book.py" in plan["claims"].modules


def toc_files(part=None):
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    return [chapter["file"] for p in toc["parts"] if part in (None, p["caption"]) for chapter in p["chapters"]]


def test_toc_lists_the_ablations_page_and_every_small_training_run():
    prefix = "notebooks/runs/cpu/"
    listed = [f.removeprefix(prefix) for f in toc_files() if f.startswith(prefix)]
    plan = [run.name for run in runs.plan("cpu")]
    assert set(listed) <= set(plan), "the toc lists a page that no cpu run writes"
    small = [name for name in plan if "_small_" in name]
    assert len(small) == 10
    assert [f.removeprefix(prefix) for f in toc_files("Seeds and ablations")] == ["ablations", *small]
    intro = (REPO / "book" / "intro.md").read_text()
    assert "{doc}`../notebooks/runs/cpu/ablations`" in intro


def test_unknown_profile_and_settings_are_named(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="'nope'"):
        runs.load_profile("nope")
    (tmp_path / "odd.yaml").write_text("size: 64\nlearning_rat: 0.1\n")
    monkeypatch.setattr(runs, "PARAMS", tmp_path)
    with pytest.raises(InputError, match="learning_rat"):
        runs.load_profile("odd")


class TableReader(HTMLParser):
    """Collects the cells of the HTML table with a given id."""

    def __init__(self, table_id):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def read_table(notebook_path, table_id):
    notebook = json.loads(notebook_path.read_text())
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            html = "".join(output.get("data", {}).get("text/html", []))
            if f'id="{table_id}"' in html:
                reader = TableReader(table_id)
                reader.feed(html)
                header, *rows = reader.rows
                return [dict(zip(header, row)) for row in rows]
    raise AssertionError(f"no table {table_id} in {notebook_path}")


@pytest.mark.slow
def test_smoke_profile_executes_and_table1_matches_the_per_image_csvs(eg1800_root, monkeypatch):
    monkeypatch.setenv("LRN_DATA", str(eg1800_root))
    runs.execute_profile("smoke", force=True)
    assert all(row["state"] == "current" for row in runs.status("smoke"))
    result = subprocess.run([sys.executable, "-m", "lrn.runs", "status", "--profile", "smoke"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr

    folder = runs.runs_dir("smoke")
    table = read_table(folder / "results.ipynb", "table1")
    assert [row["Model"] for row in table] == ["LRN", "LRN-VGG", "UNET", "UNET-VGG"]
    for row, variant in zip(table, ("lrn", "lrn_vgg", "unet", "unet_vgg")):
        paper = book.PAPER_TABLE1[variant]
        assert row["Jaccard (%), paper"] == "{:.2f} ± {:.2f}".format(*paper["jaccard"])
        summary = book.read_summary(variant, folder)
        if summary.get("status") == "not run":
            assert row["Jaccard (%), measured"] == book.NOT_RUN_NO_WEIGHTS
            continue
        scores, record = provenance.read_csv(folder / "results" / variant / "test_per_image.csv")
        assert record["run_key"] == runs.run_keys("smoke")[f"train_{variant}"]
        for column, metric in (("Jaccard (%), measured", "jaccard"), ("Hausdorff (px), measured", "hausdorff")):
            mean, std = metrics.mean_std(scores[metric].to_numpy())
            assert row[column] == metrics.format_mean_std(mean, std)
            assert re.fullmatch(r"\d+\.\d\d ± \d+\.\d\d", row[column])
        assert len(scores) == 48


def test_a_failed_run_keeps_its_partial_notebook_and_leaves_the_old_one(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "NOTEBOOKS", tmp_path)
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                         "language_info": {"name": "python"}}
    params = nbformat.v4.new_code_cell("x = 1\nrun_key = None")
    params.metadata["tags"] = ["parameters"]
    notebook.cells = [params, nbformat.v4.new_code_cell("print('fine')"),
                      nbformat.v4.new_code_cell("raise ValueError('boom in cell three')")]
    nbformat.write(notebook, tmp_path / "bad.ipynb")
    committed = tmp_path / "runs" / "p" / "bad.ipynb"
    committed.parent.mkdir(parents=True)
    committed.write_text("committed")
    with pytest.raises(RuntimeError, match="boom in cell three") as error:
        runs.execute("p", runs.Run("bad", "bad.ipynb", {"x": 2}), "key")
    assert "failed" in str(error.value)
    assert committed.read_text() == "committed"
    partial = json.loads((tmp_path / "runs" / "p" / "failed" / "bad.ipynb").read_text())
    assert any("fine" in "".join(o.get("text", "")) for c in partial["cells"] for o in c.get("outputs", []))


def test_make_book_status_reports_the_committed_cpu_runs_current():
    """The committed book is current: every cpu run carries the key the code computes now."""
    result = subprocess.run(["make", "--no-print-directory", "book-status", "PROFILE=cpu"], cwd=REPO,
                            capture_output=True, text=True)
    listed = [line.split()[-1] for line in result.stdout.splitlines() if line.startswith(("current", "stale", "missing"))]
    assert listed == [f"notebooks/runs/cpu/{run.name}.ipynb" for run in runs.plan("cpu")], result.stdout
    assert result.returncode == 0, "runs not current:\n" + result.stdout
