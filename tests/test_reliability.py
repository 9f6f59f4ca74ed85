"""Untrusted model files. (Same seed, same scores: tests/test_train.py, the deadline test.)"""
import keras

from lrn import cli


def test_a_model_carrying_code_is_refused_and_its_code_never_runs(tmp_path, capsys, eg1800_root):
    marker = tmp_path / "marker.txt"
    marker_name = str(marker)  # a plain string, so the Lambda's closure can be serialised
    inputs = keras.Input((32, 32, 3))
    # The Lambda writes the marker whenever it runs (output_shape given: not while building).
    x = keras.layers.Lambda(lambda t: (open(marker_name, "w").write("ran"), t)[1], output_shape=(32, 32, 3),
                            name="payload")(inputs)
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1, activation="sigmoid")(x))
    path = tmp_path / "evil.keras"
    model.save(path)
    assert not marker.exists()

    photo = eg1800_root / "eg1800" / "images_data_crop" / "00010.jpg"
    code = cli.main(["whiten", str(photo), "--model", str(path), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "evil.keras" in err and "--trust-model" in err and "safe_mode=False" in err
    assert not marker.exists()
    assert not (tmp_path / "out").exists()

    # control: trusting the file runs its code, so the refusal above is what kept the marker away
    assert cli.main(["whiten", str(photo), "--model", str(path), "-o", str(tmp_path / "out"), "--trust-model"]) == 0
    assert marker.read_text() == "ran"
