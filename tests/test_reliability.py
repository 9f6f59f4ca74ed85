"""Untrusted model files and determinism."""
import keras

from lrn import cli, evaluate, train
from lrn.data import synthetic


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


def train_and_score(tmp_path, name):
    config = train.TrainConfig(variant="lrn", size=64, width=0.125, epochs=2, batch_size=8,
                               learning_rate=3e-3, patience=None, seed=11)
    result = train.train(config, synthetic(16, size=64, seed=0), synthetic(4, size=64, seed=1),
                         tmp_path / name, verbose=0)
    return evaluate.evaluate(result.model, synthetic(6, size=224, seed=2))


def test_same_seed_gives_bit_identical_per_image_scores(tmp_path, monkeypatch):
    monkeypatch.setenv("LRN_CACHE", str(tmp_path / "cache"))
    first, second = train_and_score(tmp_path, "a"), train_and_score(tmp_path, "b")
    for column in first.columns:
        assert first[column].tolist() == second[column].tolist(), column  # exact, not approximate
    assert first["jaccard_s1"].nunique() > 1  # scores vary over images: the test can tell runs apart
