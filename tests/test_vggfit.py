"""The -VGG fit wrapper: weights named by sha256, not by path; the training log kept beside the model."""
import json
import sys

from lrn import provenance
from lrnbook import vggfit


def test_resolved_settings_put_the_weights_file_in_the_config(tmp_path):
    settings = {"variant": "lrn_vgg", "config": {"variant": "lrn_vgg", "epochs": 15}, "onednn": False}
    resolved = vggfit.resolved_settings(settings, tmp_path / "w.h5")
    assert resolved["config"] == {"variant": "lrn_vgg", "epochs": 15, "encoder_weights": str(tmp_path / "w.h5"),
                                  "preprocessing": "torch"}
    assert settings["config"] == {"variant": "lrn_vgg", "epochs": 15}  # not changed in place


def test_provenance_names_the_weights_by_sha256(tmp_path):
    import pandas as pd

    weights = tmp_path / "cache" / "vgg16" / "w.h5"
    csv = tmp_path / "history.csv"
    provenance.write_csv(pd.DataFrame({"epoch": [0], "loss": [1.0]}), csv,
                         {"settings": {"encoder_weights": str(weights), "variant": "lrn_vgg"}})
    vggfit.name_weights_by_sha(csv, weights, "ab" * 32)
    history, record = provenance.read_csv(csv)
    assert record["settings"]["encoder_weights"] == "torchvision:sha256:" + "ab" * 32
    assert str(tmp_path) not in csv.read_text() and list(history["loss"]) == [1.0]


def test_logged_stdout_appends_each_process_part(tmp_path, capsys):
    log = tmp_path / "run" / "train.log"
    for epoch in (1, 2):
        with vggfit.logged_stdout(log):
            print(f"Epoch {epoch}/15")
    assert log.read_text() == f"{vggfit.START_LINE}\nEpoch 1/15\n{vggfit.START_LINE}\nEpoch 2/15\n"
    assert capsys.readouterr().out == "Epoch 1/15\nEpoch 2/15\n"
    assert sys.stdout is not None


def test_other_weights_are_refused(tmp_path):
    import pytest

    settings = {"encoder": {"weights": "torchvision", "member_sha256": "0" * 64}, "config": {}}
    with pytest.raises(ValueError, match="torchvision's weights"):
        vggfit.run(settings, tmp_path / "m", tmp_path / "o")
    assert not (tmp_path / "m").exists()
    json.dumps(settings)
