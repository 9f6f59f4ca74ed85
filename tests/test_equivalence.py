"""Checked refactors keep stage keys (lrnbook.equivalence) only while the code is as checked."""
import json
import subprocess
from pathlib import Path

import pytest

from lrnbook import equivalence, keys

REPO = Path(__file__).resolve().parents[1]


def record(**modules):
    return {"modules": {m: {"before": b, "after": a} for m, (b, a) in modules.items()}}


def test_a_checked_refactor_reads_as_the_code_before_it():
    found = (record(**{"lrn.a": ("a0", "a1"), "lrn.b": ("b0", "b1"), "lrn.new": (None, "n1")}),)
    hashes = {"lrn.a": "a1", "lrn.b": "b1", "lrn.new": "n1", "lrn.other": "o"}
    assert equivalence.as_before(hashes, found) == {"lrn.a": "a0", "lrn.b": "b0", "lrn.other": "o"}
    # a stage that imports only part of the refactor
    assert equivalence.as_before({"lrn.a": "a1", "lrn.new": "n1"}, found) == {"lrn.a": "a0"}
    # a stage that imports none of it is untouched
    assert equivalence.as_before({"lrn.other": "o"}, found) == {"lrn.other": "o"}


def test_any_later_edit_of_a_refactored_module_moves_the_key_again():
    found = (record(**{"lrn.a": ("a0", "a1"), "lrn.new": (None, "n1")}),)
    assert equivalence.as_before({"lrn.a": "a2", "lrn.new": "n1"}, found) == {"lrn.a": "a2", "lrn.new": "n1"}
    assert equivalence.as_before({"lrn.a": "a1", "lrn.new": "n2"}, found) == {"lrn.a": "a1", "lrn.new": "n2"}


def test_a_chain_of_refactors_leads_back_to_the_oldest_code():
    found = (record(**{"lrn.a": ("a0", "a1")}), record(**{"lrn.a": ("a1", "a2"), "lrn.new": (None, "n")}))
    assert equivalence.as_before({"lrn.a": "a2", "lrn.new": "n"}, found) == {"lrn.a": "a0"}
    assert equivalence.as_before({"lrn.a": "a1"}, found) == {"lrn.a": "a0"}


def test_code_hashes_undo_the_committed_records():
    hashes = keys.code_hashes(["lrn.data.people"])
    assert hashes == equivalence.as_before({m: keys.module_hash(keys.module_path(m))[:16]
                                            for m in keys.closure(["lrn.data.people"])})


def _committed(path: str, commit: str) -> str | None:
    shown = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:{path}"], capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


@pytest.mark.parametrize("entry", equivalence.records(), ids=lambda r: r["base"][:12])
def test_every_record_names_the_code_before_it_and_a_passed_check(entry):
    assert entry["evidence"]["before"] == entry["evidence"]["after"] and entry["items"] > 0
    assert entry["check"] in ("data-loaders", "training-defaults") and entry["summary"]
    for module, change in entry["modules"].items():
        assert change["after"] is not None and change["after"] != change["before"], module
        top, *rest = module.split(".")
        folder = "lrn" if top == "lrn" else "bookkit/lrnbook"
        paths = ["/".join([folder, *rest]) + ".py", "/".join([folder, *rest, "__init__.py"])]
        source = next((s for s in (_committed(p, entry["base"]) for p in paths) if s is not None), None)
        before = None if source is None else keys.normalised_hash(source)[:16]
        assert before == change["before"], module


def test_the_records_file_is_a_list_of_records():
    found = json.loads(equivalence.RECORDS.read_text())
    assert isinstance(found, list) and found and all({"base", "modules", "check", "evidence"} <= set(r) for r in found)
