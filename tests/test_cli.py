"""``lrn train`` and ``lrn evaluate`` on the real EG1800 files, and the CLI's errors."""
import json

import pytest

from lrn import cli, provenance


@pytest.mark.slow
def test_train_then_evaluate_on_eg1800(eg1800_root, tmp_path, monkeypatch):
    monkeypatch.setenv("LRN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert cli.main(["train", "--variant", "lrn", "--data", str(eg1800_root), "--size", "64",
                     "--width", "0.125", "--epochs", "1", "--batch-size", "16", "--stop-on", "finest",
                     "-o", str(out)]) == 0
    summary = json.loads((out / "test_summary.json").read_text())
    assert summary["n"] == 48
    assert 0 <= summary["jaccard"]["mean"] <= 100
    record = summary["provenance"]
    assert record["seed"] == 0 and record["settings"]["width"] == 0.125 and record["data_manifest_sha256"]
    assert record["settings"]["stop_on"] == "finest"
    table, csv_record = provenance.read_csv(out / "test_per_image.csv")
    assert len(table) == 48 and csv_record == record
    assert table["id"].str.fullmatch(r"\d{5}").all()

    scored = tmp_path / "scores"
    assert cli.main(["evaluate", "--model", str(out / "model.keras"), "--data", str(eg1800_root),
                     "--split", "test", "-o", str(scored)]) == 0
    again = json.loads((scored / "test_summary.json").read_text())
    assert again["jaccard"]["mean"] == pytest.approx(summary["jaccard"]["mean"], abs=1e-6)
    assert again["provenance"]["settings"]["model_provenance"]["settings"]["run_key"]


@pytest.mark.parametrize("argv, needle", [
    (["train", "--variant", "lrn_xl", "-o", "x"], "lrn_xl"),
    (["train", "--variant", "lrn", "--width", "-1", "-o", "x"], "-1"),
    (["train", "--variant", "lrn", "--epochs", "zero", "-o", "x"], "zero"),
    (["train", "--variant", "lrn", "--protocol", "tiny", "-o", "x"], "tiny"),
    (["train", "--variant", "lrn", "--stop-on", "coarsest", "-o", "x"], "coarsest"),
    (["evaluate", "--model", "m.keras", "--split", "holdout", "-o", "x"], "holdout"),
])
def test_bad_arguments_are_named(argv, needle, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert needle in capsys.readouterr().err


def test_size_not_a_multiple_of_32_is_named(tmp_path, capsys, eg1800_root):
    code = cli.main(["train", "--variant", "lrn", "--data", str(eg1800_root), "--size", "100", "-o", str(tmp_path)])
    assert code == 2
    assert "100" in capsys.readouterr().err


@pytest.mark.parametrize("photos, names", [
    (["x/a.jpg", "x/b.png"], ["a_white.png", "b_white.png"]),  # no clash: the usual names
    (["x/a.jpg", "x/a.png", "x/b.png"], ["a.jpg_white.png", "a.png_white.png", "b_white.png"]),
    (["x/a.jpg", "y/a.jpg"], ["a.jpg_white.png", "a.jpg-2_white.png"]),  # the same name in two folders
    (["x/A.jpg", "x/a.png"], ["A.jpg_white.png", "a.png_white.png"]),  # letter case aside
    (["x/a.jpg", "x/a.png", "x/a.jpg.png"], ["a.jpg_white.png", "a.png_white.png", "a.jpg-2_white.png"]),
    (["x/a.jpg", "y/a.jpg", "x/a.jpg-2.png"], ["a.jpg_white.png", "a.jpg-3_white.png", "a.jpg-2_white.png"]),
    (["-"], ["stdin_white.png"]),
])
def test_output_names_are_distinct_and_usual_where_they_can_be(photos, names):
    assert cli.output_names(photos, "white") == names
    assert cli.output_names(photos, "mask") == [n.replace("_white", "_mask") for n in names]


def test_native_lines_are_filtered_and_real_errors_kept(capfd):
    import os

    from lrn import native_stderr

    with native_stderr.filtered():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"E0000 something real went wrong\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err.splitlines() == ["E0000 something real went wrong", "after"]


def test_python_lines_can_go_live_while_native_ones_are_held(capfd):
    import os
    import sys

    from lrn import native_stderr

    with native_stderr.filtered(("harmless",), python_live=True):
        os.write(2, b"native harmless line\n")
        os.write(2, b"native real line\n")
        print("python progress", file=sys.stderr, flush=True)
    assert capfd.readouterr().err.splitlines() == ["python progress", "native real line"], \
        "Python's line comes at once, the native real one when the block ends, the harmless one never"


def test_loading_the_shipped_model_from_python_is_quiet(tmp_path):
    """lrn.cutout.load from Python, not only the command, holds back the interpreter's INFO line and
    TensorFlow's log lines; a package without a .tflite says once that it converts, and nothing more."""
    import os
    import subprocess
    import sys

    from lrn import shipped

    code = "from lrn import cutout; cutout.load(); cutout.load(); print('loaded')"
    env = {**os.environ, "LRN_CACHE": str(tmp_path / "fresh_cache")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "loaded", done.stderr
    said = done.stderr.splitlines()
    if shipped.converted_on_first_use():
        assert len(said) == 1 and said[0].startswith("lrn: converting the shipped model to LiteRT once"), said
    else:
        assert said == [], said
