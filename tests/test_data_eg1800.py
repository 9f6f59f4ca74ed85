"""lrn.data.eg1800 on the real mirror (protocols, exclusions, determinism) and on small fakes (bad input)."""
import hashlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from lrn import imageops
from lrn.data import EG1800Data, eg1800
from lrn.errors import InputError

PACKAGED = Path(__file__).resolve().parents[1] / "lrn" / "data" / "eg1800.SHA256SUMS"
eg1800_module = sys.modules["lrn.data.eg1800"]  # the package attribute is the function


def load(*args, **kwargs):
    """eg1800() plus the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = eg1800(*args, **kwargs)
    return data, [str(w.message) for w in caught]


def official(root):
    lists = {}
    for name in ("trainlist", "testlist"):
        values = scipy.io.loadmat(root / "eg1800" / f"{name}.mat")[name].ravel()
        lists[name] = {f"{int(v):05d}" for v in values}
    return lists["trainlist"], lists["testlist"]


def present(root):
    return {p.stem for p in (root / "eg1800" / "images_data_crop").glob("*.jpg")}


@pytest.fixture(scope="module")
def paper(eg1800_root):
    return load(eg1800_root, protocol="paper", size=224, seed=0)


@pytest.fixture(scope="module")
def paper_small(eg1800_root):
    return load(eg1800_root, protocol="paper", size=32, seed=0)[0]


@pytest.fixture(scope="module")
def full(eg1800_root):
    return load(eg1800_root, protocol="full", size=32, seed=0)[0]


# ----------------------------------------------------------------------------- real data: paper
def test_paper_counts_disjoint_and_official(paper, eg1800_root):
    data, _ = paper
    assert isinstance(data, EG1800Data)
    assert (len(data.train), len(data.val), len(data.test)) == (250, 25, 48)
    train, val, test = set(data.train.ids), set(data.val.ids), set(data.test.ids)
    assert not (train & val or train & test or val & test)
    official_train, official_test = official(eg1800_root)
    have = present(eg1800_root)
    assert train | val <= official_train & have and test <= official_test & have
    assert all(len(i) == 5 and i.isdigit() for i in train | val | test)
    assert data.train.ids == sorted(data.train.ids)
    assert (data.protocol, data.seed, data.size, data.root) == ("paper", 0, 224, eg1800_root)


def test_paper_arrays(paper):
    data, _ = paper
    for split, name in ((data.train, "train"), (data.val, "val"), (data.test, "test")):
        assert split.name == name
        assert split.images.dtype == np.uint8 and split.images.shape == (len(split), 224, 224, 3)
        assert split.masks.dtype == bool and split.masks.shape == (len(split), 224, 224)
        fraction = split.masks.mean(axis=(1, 2))
        assert fraction.min() > 0 and fraction.max() < 1, "masks are neither empty nor full"
        assert split.images.reshape(len(split), -1).std(axis=1).min() > 5


def test_paper_pixels_are_the_files_resized(paper, eg1800_root):
    data, _ = paper
    i = data.test.ids[3]
    folder = eg1800_root / "eg1800"
    photo = imageops.read_photo(folder / "images_data_crop" / f"{i}.jpg")
    mask = imageops.read_mask(folder / "images_mask" / f"{i}_mask.mat")
    np.testing.assert_array_equal(data.test.images[3], imageops.resize_photo(photo, 224))
    np.testing.assert_array_equal(data.test.masks[3], imageops.resize_mask(mask, 224))


def test_02188_excluded_and_reported(paper):
    data, messages = paper
    assert list(data.excluded) == ["02188"] and "all foreground" in data.excluded["02188"]
    assert all("02188" not in s.ids for s in (data.train, data.val, data.test))
    reports = [m for m in messages if "02188" in m]
    assert len(reports) == 1 and "absent" in reports[0]
    assert data.counts["absent_train"] == 239 and data.counts["absent_test"] == 36


def test_manifest_hash(paper):
    data, _ = paper
    expected = hashlib.sha256(PACKAGED.read_bytes()).hexdigest()
    assert data.manifest_sha256 == expected
    assert {s.manifest_sha256 for s in (data.train, data.val, data.test)} == {expected}


def test_same_seed_same_ids_at_any_size(paper, paper_small):
    data, _ = paper
    for name in ("train", "val", "test"):
        assert getattr(paper_small, name).ids == getattr(data, name).ids
    assert paper_small.train.images.shape[1:] == (32, 32, 3)


def test_seed_changes_the_draw(paper, eg1800_root):
    other, _ = load(eg1800_root, protocol="paper", size=32, seed=1)
    data, _ = paper
    assert set(other.train.ids) != set(data.train.ids)
    assert set(other.test.ids) != set(data.test.ids)
    assert (len(other.train), len(other.val), len(other.test)) == (250, 25, 48)


# ----------------------------------------------------------------------------- real data: full
def test_full_protocol(full, eg1800_root):
    official_train, official_test = official(eg1800_root)
    have = present(eg1800_root)
    assert (len(full.train), len(full.val), len(full.test)) == (1160, 129, 264)
    train_val = set(full.train.ids) | set(full.val.ids)
    assert not set(full.train.ids) & set(full.val.ids)
    assert train_val == (official_train & have) - {"02188"}
    assert set(full.test.ids) == official_test & have
    assert "02238" in train_val, "the legitimate close-up is kept"
    assert list(full.excluded) == ["02188"]
    assert full.train.masks.any(axis=(1, 2)).all() and full.test.masks.any(axis=(1, 2)).all()
    assert full.train.images.shape == (1160, 32, 32, 3)


# ----------------------------------------------------------------------------- arguments and sources
@pytest.mark.parametrize("kwargs,named", [
    ({"protocol": "paperz"}, r"protocol='paperz'; expected one of 'paper', 'full'"),
    ({"size": 100}, "size=100"),
    ({"size": 0}, "size=0"),
    ({"seed": -1}, "seed=-1"),
    ({"seed": 1.5}, "seed=1.5"),
])
def test_bad_arguments(eg1800_root, kwargs, named):
    with pytest.raises(InputError, match=named):
        eg1800(eg1800_root, **kwargs)


def test_missing_root_explains_layout(tmp_path):
    with pytest.raises(InputError) as err:
        eg1800(tmp_path / "nowhere")
    message = str(err.value)
    assert str(tmp_path / "nowhere" / "eg1800") in message
    assert "images_data_crop" in message and "images_mask" in message and "LRN_DATA" in message


def test_lrn_data_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("LRN_DATA", str(tmp_path))
    with pytest.raises(InputError, match=f"root {tmp_path} from the LRN_DATA environment variable"):
        eg1800()


def test_without_root_or_env_uses_the_download_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("LRN_DATA", raising=False)
    calls = []
    monkeypatch.setattr(eg1800_module, "fetch_eg1800", lambda: calls.append(1) or tmp_path)
    with pytest.raises(InputError, match="from the download cache"):
        eg1800()
    assert calls == [1]


def link_tree(real_root: Path, dest: Path) -> Path:
    """A copy of the mirror made of symbolic links (nothing is copied)."""
    for sub in ("images_data_crop", "images_mask"):
        (dest / "eg1800" / sub).mkdir(parents=True)
        for f in (real_root / "eg1800" / sub).iterdir():
            (dest / "eg1800" / sub / f.name).symlink_to(f)
    for name in ("trainlist.mat", "testlist.mat"):
        (dest / "eg1800" / name).symlink_to(real_root / "eg1800" / name)
    return dest


def test_missing_list_named(eg1800_root, tmp_path):
    root = link_tree(eg1800_root, tmp_path)
    (root / "eg1800" / "testlist.mat").unlink()
    with pytest.raises(InputError, match=r"(?s)testlist.mat does not exist.*LRN_DATA"):
        eg1800(root)


def test_changed_list_refused(eg1800_root, tmp_path):
    root = link_tree(eg1800_root, tmp_path)
    (root / "eg1800" / "trainlist.mat").unlink()
    scipy.io.savemat(root / "eg1800" / "trainlist.mat", {"trainlist": np.arange(1, 400, dtype=np.uint16)[None]})
    with pytest.raises(InputError, match=r"trainlist.mat has sha256 .*not the EG1800 file"):
        eg1800(root)


def test_changed_photo_refused(eg1800_root, tmp_path):
    root = link_tree(eg1800_root, tmp_path)
    foreign = tmp_path / "foreign.jpg"
    Image.fromarray(np.zeros((800, 600, 3), np.uint8)).save(foreign)
    for f in (root / "eg1800" / "images_data_crop").iterdir():
        f.unlink()
        f.symlink_to(foreign)
    with pytest.raises(InputError, match=r"images_data_crop/\d{5}.jpg has sha256 .*not the EG1800 file"):
        eg1800(root)


def test_missing_mask_named(eg1800_root, tmp_path):
    root = link_tree(eg1800_root, tmp_path)
    for f in (root / "eg1800" / "images_mask").iterdir():
        f.unlink()
    with pytest.raises(InputError, match=r"not found: .*images_mask/\d{5}_mask.mat"):
        eg1800(root)


# ----------------------------------------------------------------------------- small fakes
def fake(root: Path, train=range(1, 11), test=range(20, 24), uniform=(), mask_shape=(64, 48),
         no_photo=(), unlisted_in_manifest=()) -> Path:
    """A tiny EG1800 layout with a matching manifest; returns the manifest path."""
    folder = root / "eg1800"
    (folder / "images_data_crop").mkdir(parents=True)
    (folder / "images_mask").mkdir()
    rng = np.random.default_rng(0)
    for k in (*train, *test):
        mh, mw = mask_shape
        mask = np.zeros((mh, mw), np.uint8)
        mask[mh // 3:, mw // 4: 3 * mw // 4] = 1
        if k in uniform:
            mask[:] = uniform[k]
        scipy.io.savemat(folder / "images_mask" / f"{k:05d}_mask.mat", {"mask": mask})
        if k not in no_photo:
            Image.fromarray(rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)).save(
                folder / "images_data_crop" / f"{k:05d}.jpg")
    scipy.io.savemat(folder / "trainlist.mat", {"trainlist": np.array([list(train)], np.uint16)})
    scipy.io.savemat(folder / "testlist.mat", {"testlist": np.array([list(test)], np.uint16)})
    lines = []
    for f in sorted(folder.rglob("*")):
        rel = f.relative_to(folder).as_posix()
        if f.is_file() and rel not in unlisted_in_manifest:
            lines.append(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  ./{rel}\n")
    manifest = root / "MANIFEST"
    manifest.write_text("".join(lines))
    return manifest


def test_uniform_masks_excluded_generically(tmp_path):
    manifest = fake(tmp_path, uniform={3: 0, 5: 1, 21: 1})
    data, messages = load(tmp_path, protocol="full", size=32, manifest=manifest)
    assert data.excluded == {
        "00003": "mask is all background (00003_mask.mat)",
        "00005": "mask is all foreground (00005_mask.mat)",
        "00021": "mask is all foreground (00021_mask.mat)",
    }
    assert (len(data.train), len(data.val), len(data.test)) == (7, 1, 3)  # 10 % of 8 rounded = 1
    assert len(messages) == 1 and all(i in messages[0] for i in ("00003", "00005", "00021"))


def test_draw_replaces_excluded_ids(tmp_path, monkeypatch):
    manifest = fake(tmp_path, train=range(1, 11), test=range(20, 26), uniform={1: 0, 2: 0, 3: 1, 4: 1, 20: 0})
    monkeypatch.setattr(eg1800_module, "PAPER_COUNTS", {"train": 4, "val": 2, "test": 5})
    replaced = 0
    for seed in range(5):
        data, _ = load(tmp_path, protocol="paper", size=32, seed=seed, manifest=manifest)
        assert (len(data.train), len(data.val), len(data.test)) == (4, 2, 5)
        chosen = set(data.train.ids) | set(data.val.ids) | set(data.test.ids)
        assert not chosen & {"00001", "00002", "00003", "00004", "00020"}
        assert set(data.excluded) <= {"00001", "00002", "00003", "00004", "00020"}
        replaced += bool(data.excluded)
    assert replaced, "some draw must have hit a uniform mask and replaced it"


def test_paper_needs_enough_ids(tmp_path):
    manifest = fake(tmp_path)
    with pytest.raises(InputError, match="protocol 'paper' needs 275 usable official training ids"):
        eg1800(tmp_path, protocol="paper", size=32, manifest=manifest)


def test_absent_ids_are_counted_not_excluded(tmp_path):
    manifest = fake(tmp_path, no_photo=(2, 7, 21))
    data, messages = load(tmp_path, protocol="full", size=32, manifest=manifest)
    assert data.excluded == {}
    assert data.counts["absent_train"] == 2 and data.counts["absent_test"] == 1
    assert "2 training and 1 test ids" in messages[0]
    assert len(data.train) + len(data.val) == 8 and len(data.test) == 3


def test_mask_same_aspect_other_size_is_resized(tmp_path):
    manifest = fake(tmp_path, mask_shape=(128, 96))
    data, messages = load(tmp_path, protocol="full", size=32, manifest=manifest)
    assert messages == [], "nothing excluded or absent: no warning"
    assert data.train.masks[0, 20:, 10:20].all()


def test_mask_other_aspect_refused(tmp_path):
    manifest = fake(tmp_path, mask_shape=(64, 64))
    with pytest.raises(InputError, match=r"_mask.mat is 64x64 .* photo is 48x64"):
        eg1800(tmp_path, protocol="full", size=32, manifest=manifest)


def test_photo_not_in_manifest_refused(tmp_path):
    manifest = fake(tmp_path, unlisted_in_manifest=("images_data_crop/00004.jpg",))
    with pytest.raises(InputError, match=r"00004.jpg is not listed in the EG1800 manifest"):
        eg1800(tmp_path, protocol="full", size=32, manifest=manifest)


def test_id_in_both_lists_refused(tmp_path):
    manifest = fake(tmp_path, train=range(1, 11), test=range(9, 13))
    with pytest.raises(InputError, match=r"\['00009', '00010'\] are in both"):
        eg1800(tmp_path, protocol="full", size=32, manifest=manifest)
