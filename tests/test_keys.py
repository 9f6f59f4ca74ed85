"""lrnbook.keys: normalised source, import closures and content hashes."""
import json

import numpy as np
import pytest

from lrnbook import keys

SOURCE = '''"""Module docstring."""
import numpy as np


def area(mask):
    """Pixels in the mask."""
    # count them
    if mask.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got {mask.ndim} dimensions")
    print("counting", mask.shape)
    return int(mask.sum()) * 2
'''


def test_comments_docstrings_formatting_and_messages_do_not_count():
    variants = [
        SOURCE.replace("# count them", "# count the person's pixels"),
        SOURCE.replace('"""Pixels in the mask."""', '"""Number of ``True`` pixels (int)."""'),
        SOURCE.replace("int(mask.sum()) * 2", "int( mask.sum() )*2"),
        SOURCE.replace("expected a 2-D mask", "mask must be 2-D"),
        SOURCE.replace('print("counting"', 'print("summing"'),
        SOURCE.replace('"""Module docstring."""', '"""Another module docstring."""\n"""An attribute note."""'),
    ]
    assert {keys.normalised_source(v) for v in variants} == {keys.normalised_source(SOURCE)}


@pytest.mark.parametrize("change", [("* 2", "* 3"), ("!= 2", "!= 3"), ("mask.sum()", "mask.mean()"),
                                    ("import numpy as np", "import numpy as np\nSCALE = 2")])
def test_arithmetic_and_constants_count(change):
    assert keys.normalised_source(SOURCE.replace(*change)) != keys.normalised_source(SOURCE)


def test_the_training_closure_holds_its_modules_and_parent_packages_but_not_scoring_or_the_cut_out():
    closure = set(keys.closure(["lrnbook.fit"]))
    assert {"lrn", "lrn.train", "lrn.losses", "lrn.models", "lrn.augment", "lrn.data", "lrn.data.eg1800",
            "lrn.imageops", "lrn.predict", "lrnbook", "lrnbook.fit"} <= closure
    assert not {"lrn.metrics", "lrn.postprocess", "lrn.evaluate", "lrn.cutout", "lrn.fastforward",
                "lrn.shipped", "lrnbook.stages"} & closure
    assert {"lrn.metrics", "lrn.evaluate", "lrn.postprocess"} <= set(keys.closure(["lrnbook.score"]))


def test_lazy_attributes_of_a_package_are_not_followed():
    assert "lrn.cutout" not in keys.imported_modules("lrn")  # lrn.segment is a PEP 562 lazy attribute
    assert "lrn.variants" in keys.imported_modules("lrn")


def test_content_hash_ignores_npz_timestamps_and_volatile_provenance(tmp_path):
    arrays = {"ids": np.array(["a", "b"]), "level1": np.arange(6, dtype=np.uint8).reshape(2, 3)}
    np.savez_compressed(tmp_path / "a.npz", **arrays)
    np.savez_compressed(tmp_path / "b.npz", **arrays)
    assert keys.content_hash(tmp_path / "a.npz") == keys.content_hash(tmp_path / "b.npz")
    np.savez_compressed(tmp_path / "c.npz", ids=arrays["ids"], level1=arrays["level1"] + 1)
    assert keys.content_hash(tmp_path / "c.npz") != keys.content_hash(tmp_path / "a.npz")

    def csv(path, commit, created, value):
        record = {"git_commit": commit, "created_utc": created, "settings": {"width": 0.25}}
        path.write_text(f"{keys.PROVENANCE_PREFIX}{json.dumps(record)}\nid,jaccard\r\n01,{value}\r\n")
        return keys.content_hash(path)

    first = csv(tmp_path / "x.csv", "abc", "2026-01-01", 90.5)
    assert csv(tmp_path / "y.csv", "def+dirty", "2026-02-02", 90.5) == first
    assert csv(tmp_path / "z.csv", "abc", "2026-01-01", 90.6) != first
    summary = {"jaccard": {"mean": 90.5}, "provenance": {"git_commit": "abc", "created_utc": "t", "seed": 0}}
    (tmp_path / "s.json").write_text(json.dumps(summary))
    (tmp_path / "t.json").write_text(json.dumps({**summary, "provenance": {"git_commit": "x", "seed": 0}}))
    assert keys.content_hash(tmp_path / "s.json") == keys.content_hash(tmp_path / "t.json")
