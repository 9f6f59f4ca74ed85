"""lrn.data.ccp: the head-and-torso box rule, the fixed split, small fake folders and the real mirror."""
import hashlib
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from lrn import imageops
from lrn.data import ccp
from lrn.data.download import read_manifest
from lrn.errors import InputError


# ----------------------------------------------------------------------------- the box rule
def figure(shape=(400, 300), top=40, x=150, arm=0):
    """A standing figure: head (circle r=25), torso, two legs down to the feet; optional arm to the right."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    head = (yy - (top + 25)) ** 2 + (xx - x) ** 2 <= 25 ** 2
    torso = (yy >= top + 50) & (yy < top + 180) & (abs(xx - x) <= 40)
    legs = (yy >= top + 180) & (yy < top + 320) & (abs(abs(xx - x) - 20) <= 12)
    mask = head | torso | legs
    if arm:
        mask |= (yy >= top + 200) & (yy < top + 215) & (xx >= x) & (xx < x + arm)
    return mask, head, (yy >= top + 300) & mask


def inside(box, shape):
    top, left, h, w = box
    return top >= 0 and left >= 0 and top + h <= shape[0] and left + w <= shape[1] and h > 0 and w > 0


def test_box_keeps_the_head_drops_the_feet_3_by_4():
    mask, head, feet = figure()
    top, left, h, w = box = ccp.head_torso_box(mask)
    crop = np.zeros_like(mask)
    crop[top:top + h, left:left + w] = True
    assert crop[head].all(), "the whole head is inside"
    assert not crop[feet].any(), "the feet are outside"
    assert abs(w - 0.75 * h) <= 1 and inside(box, mask.shape)
    assert box == (24, 91, 160, 120)  # person: rows 40..359; top 40 - 16, height 0.5 * 320, centred on 150.5


def test_box_ignores_an_arm_below_the_torso_band_and_follows_the_person():
    assert ccp.head_torso_box(figure(arm=120)[0]) == ccp.head_torso_box(figure()[0])
    assert ccp.head_torso_box(figure(x=120)[0])[1] == 61


def test_box_is_shifted_inside_at_the_edges():
    for mask in (figure(top=0, x=26)[0], figure(shape=(360, 300), top=39, x=273)[0]):
        top, left, h, w = box = ccp.head_torso_box(mask)
        assert inside(box, mask.shape) and (h, w) == (160, 120), "shifted, not shrunk"
    assert ccp.head_torso_box(figure(top=0, x=26)[0])[:2] == (0, 0)


def test_box_larger_than_the_frame_is_shrunk_keeping_3_by_4():
    mask = np.zeros((200, 40), bool)
    mask[:, 15:25] = True  # a person 200 rows tall wants a 100 x 75 box; the frame is 40 wide
    top, left, h, w = box = ccp.head_torso_box(mask)
    assert inside(box, mask.shape) and (h, w) == (53, 40)


@pytest.mark.parametrize("bad", [np.zeros((10, 10), bool), np.ones((10, 10), np.uint8), np.ones((2, 3, 4), bool)])
def test_box_refuses_empty_or_non_bool_masks(bad):
    with pytest.raises(InputError, match="no person pixel|expected bool"):
        ccp.head_torso_box(bad)


# ----------------------------------------------------------------------------- the fixed split
def test_packaged_manifest_and_split_constants():
    ids = ccp.manifest_ids()
    assert ids == [f"{k:04d}" for k in range(1, 1005)]
    entries = read_manifest(ccp.PACKAGED_MANIFEST)
    assert len(entries) == 2009 and "label_list.mat" in entries
    split = ccp.split_ids(ids)
    assert {k: len(v) for k, v in split.items()} == ccp.SPLIT_COUNTS == {"train": 601, "val": 201, "test": 201}
    train, val, test = (set(split[k]) for k in ("train", "val", "test"))
    assert not (train & val or train & test or val & test)
    assert train | val | test == set(ids) - {"0536"}
    assert all(v == sorted(v) for v in split.values())
    assert ccp.split_ids(reversed(ids)) == split, "a function of the id set only"
    assert split["test"][:5] == ["0008", "0009", "0014", "0016", "0018"]
    digest = hashlib.sha256(",".join(split["test"] + ["|"] + split["val"]).encode()).hexdigest()
    assert digest[:16] == "364c0f8cf4e36a0d", "the split is fixed: changing it invalidates published scores"


# ----------------------------------------------------------------------------- small fakes
LABELS = ["null", "bag", "hair", "skin"]


def savemat(path: Path, **content):
    buf = io.BytesIO()
    scipy.io.savemat(buf, content)
    path.write_bytes(buf.getvalue())


def make_ccp(root: Path, ids=range(1, 11), empty=(), unannotated=(), unlisted=()) -> Path:
    """A tiny CCP layout under root/ccp with a manifest at root/MANIFEST; returns the manifest."""
    folder = root / "ccp"
    (folder / "photos").mkdir(parents=True)
    (folder / "annotations" / "pixel-level").mkdir(parents=True)
    cells = np.empty((1, len(LABELS)), object)
    cells[0, :] = [np.array([n]) for n in LABELS]
    savemat(folder / "label_list.mat", label_list=cells)
    rng = np.random.default_rng(0)
    for k in (*ids, *unannotated):
        i = f"{k:04d}"
        Image.fromarray(rng.integers(0, 256, (96, 64, 3), dtype=np.uint8)).save(folder / "photos" / f"{i}.jpg")
        if k in unannotated:
            continue
        labels = np.zeros((96, 64), np.uint8)
        if i not in empty:
            labels[10:20, 26:38] = 2  # hair
            labels[20:90, 20:44] = 3  # skin
            labels[50:60, 44:50] = 1  # bag
        savemat(folder / "annotations" / "pixel-level" / f"{i}.mat", groundtruth=labels)
    lines = []
    for f in sorted(folder.rglob("*")):
        rel = f.relative_to(folder).as_posix()
        unannotated_photo = f.parent.name == "photos" and int(f.stem) in unannotated
        if f.is_file() and rel not in unlisted and not unannotated_photo:
            lines.append(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  ./{rel}\n")
    manifest = root / "MANIFEST"
    manifest.write_text("".join(lines))
    return manifest


def load(*args, **kwargs):
    """ccp.load() plus the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = ccp.load(*args, **kwargs)
    return data, [str(w.message) for w in caught]


def test_fake_full_and_head_torso(tmp_path):
    manifest = make_ccp(tmp_path, unannotated=(77,))
    full, messages = load("full", 32, tmp_path, manifest=manifest)
    assert messages == []
    assert (len(full.train), len(full.val), len(full.test)) == (6, 2, 2)
    assert full.counts == {"ids": 10, "excluded": 0, "unlisted_photos": 1, "train": 6, "val": 2, "test": 2}
    assert full.labels == tuple(LABELS) and full.excluded == {}
    assert full.manifest_sha256 == hashlib.sha256(manifest.read_bytes()).hexdigest() == full.test.manifest_sha256
    i = full.test.ids[0]
    photo = imageops.read_photo(tmp_path / "ccp" / "photos" / f"{i}.jpg")
    np.testing.assert_array_equal(full.test.images[0], imageops.resize_photo(photo, 32))
    mask = np.zeros((96, 64), bool)
    mask[10:20, 26:38] = mask[20:90, 20:44] = mask[50:60, 44:50] = True
    np.testing.assert_array_equal(full.test.masks[0], imageops.resize_mask(mask, 32))

    crop, _ = load("head_torso", 32, tmp_path, splits=["test"], manifest=manifest)
    assert crop.train is None and crop.val is None and crop.test.ids == full.test.ids
    top, left, h, w = ccp.head_torso_box(mask)
    np.testing.assert_array_equal(crop.test.images[0], imageops.resize_photo(photo[top:top + h, left:left + w], 32))
    assert crop.test.masks.mean() > full.test.masks.mean()

    originals = ccp.originals([i], "head_torso", tmp_path, manifest=manifest)
    assert originals[0][0].shape == (h, w, 3) and originals[0][1].dtype == bool
    (photo_full, mask_full), = ccp.originals([i], "full", tmp_path, manifest=manifest)
    assert photo_full.shape == (96, 64, 3) and np.array_equal(mask_full, mask)


def test_empty_masks_excluded(tmp_path):
    manifest = make_ccp(tmp_path, ids=(*range(1, 11), 536), empty=("0536", "0003"))
    data, messages = load("head_torso", 32, tmp_path, manifest=manifest)
    assert data.excluded == {"0003": "annotation is all background", "0536": ccp.KNOWN_EXCLUDED["0536"]}
    kept = set(data.train.ids) | set(data.val.ids) | set(data.test.ids)
    assert kept == {f"{k:04d}" for k in range(1, 11)} - {"0003"}
    assert len(messages) == 1 and "0003" in messages[0] and "0536" not in messages[0], "0536 is expected"
    with pytest.raises(InputError, match="0536: the annotation is empty"):
        ccp.originals(["0536"], "head_torso", tmp_path, manifest=manifest)


def test_missing_folder_says_where_to_put_the_files(tmp_path):
    with pytest.raises(InputError) as err:
        ccp.load(root=tmp_path / "nowhere")
    message = str(err.value)
    assert str(tmp_path / "nowhere" / "ccp" / "photos") in message and "annotations/pixel-level" in message
    assert "bearpaw/clothing-co-parsing" in message and ccp.PINNED_COMMIT in message and "LRN_DATA" in message


def test_no_root_and_no_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("LRN_DATA", raising=False)
    where = f"(?s)LRN_DATA is not set.*<folder>/ccp/.*bearpaw/clothing-co-parsing.*{ccp.PINNED_COMMIT}"
    with pytest.raises(InputError, match=where):
        ccp.load()
    monkeypatch.setenv("LRN_DATA", str(tmp_path))
    with pytest.raises(InputError, match="from the LRN_DATA environment variable"):
        ccp.originals(["0001"], "full")


def test_changed_file_refused(tmp_path):
    manifest = make_ccp(tmp_path)
    photo = tmp_path / "ccp" / "photos" / "0004.jpg"
    expected = hashlib.sha256(photo.read_bytes()).hexdigest()
    Image.fromarray(np.zeros((96, 64, 3), np.uint8)).save(photo)
    actual = hashlib.sha256(photo.read_bytes()).hexdigest()
    with pytest.raises(InputError, match=f"0004.jpg has sha256 {actual} but the manifest .* lists {expected}"):
        ccp.load("full", 32, tmp_path, manifest=manifest)


def test_unlisted_files_refused(tmp_path):
    manifest = make_ccp(tmp_path / "a", unlisted=("annotations/pixel-level/0002.mat",))
    with pytest.raises(InputError, match="id 0002 has a photo or an annotation listed but not both"):
        ccp.load("full", 32, tmp_path / "a", manifest=manifest)
    manifest = make_ccp(tmp_path / "b", unlisted=("annotations/pixel-level/0002.mat", "photos/0002.jpg"))
    with pytest.raises(InputError, match="0002.mat is not listed in the CCP manifest"):
        ccp.load("full", 32, tmp_path / "b", manifest=manifest)
    manifest = make_ccp(tmp_path / "c", unlisted=("label_list.mat",))
    with pytest.raises(InputError, match="label_list.mat is not listed in the CCP manifest"):
        ccp.load("full", 32, tmp_path / "c", manifest=manifest)


def test_labels_out_of_range_refused(tmp_path):
    manifest = make_ccp(tmp_path)
    path = tmp_path / "ccp" / "annotations" / "pixel-level" / "0005.mat"
    savemat(path, groundtruth=np.full((96, 64), 9, np.uint8))
    lines = [line for line in manifest.read_text().splitlines() if not line.endswith("0005.mat")]
    lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  ./annotations/pixel-level/0005.mat")
    manifest.write_text("\n".join(lines))
    with pytest.raises(InputError, match=r"0005.mat: 'groundtruth' .* labels 0..3"):
        ccp.load("full", 32, tmp_path, manifest=manifest)


@pytest.mark.parametrize("kwargs,named", [
    ({"protocol": "torso"}, "protocol='torso'; expected one of 'full', 'head_torso'"),
    ({"size": 100}, "size=100"),
    ({"splits": ("test", "dev")}, "splits=.*'dev'"),
    ({"splits": ()}, r"splits=\(\)"),
])
def test_bad_arguments(tmp_path, kwargs, named):
    with pytest.raises(InputError, match=named):
        ccp.load(root=tmp_path, **kwargs)


# ----------------------------------------------------------------------------- the real mirror
@pytest.fixture(scope="module")
def real_test(mirror):
    return {protocol: ccp.load(protocol, 224, mirror, splits=("test",)) for protocol in ccp.PROTOCOLS}


def test_real_test_split(real_test):
    expected_ids = ccp.split_ids(ccp.manifest_ids())["test"]
    for data in real_test.values():
        assert data.train is None and data.val is None and data.test.ids == expected_ids
        assert data.test.images.shape == (201, 224, 224, 3) and data.test.masks.shape == (201, 224, 224)
        assert data.excluded == {"0536": ccp.KNOWN_EXCLUDED["0536"]} and len(data.labels) == 59
        assert data.counts == {"ids": 1004, "excluded": 1, "unlisted_photos": 0, "test": 201}
        assert data.manifest_sha256 == hashlib.sha256(ccp.PACKAGED_MANIFEST.read_bytes()).hexdigest()


def test_real_head_torso_crop_fills_the_frame_with_person(real_test):
    full = real_test["full"].test.masks.mean(axis=(1, 2))
    crop = real_test["head_torso"].test.masks.mean(axis=(1, 2))
    assert 0.20 < full.mean() < 0.26, "the README's median 23 %"
    assert crop.mean() > full.mean() + 0.15 and crop.min() > 0.25 and crop.max() < 0.8
    assert (crop > full).all(), "every crop holds a larger share of person than its frame"


def test_packaged_manifest_is_the_mirrors_minus_readme_and_licence(mirror):
    packaged = read_manifest(ccp.PACKAGED_MANIFEST)
    mirrors = read_manifest(mirror / "ccp" / "SHA256SUMS")
    assert set(mirrors) - set(packaged) == {"README.md", "LICENSE"}
    assert packaged == {rel: sha for rel, sha in mirrors.items() if rel in packaged}


def test_progress_false_shows_no_bar(tmp_path, capsys):
    manifest = make_ccp(tmp_path)
    capsys.readouterr()
    ccp.load("full", 32, tmp_path, splits=["test"], manifest=manifest, progress=False)
    ids = ccp.split_ids(ccp.manifest_ids(manifest))["test"]
    ccp.originals(ids, "full", tmp_path, manifest=manifest, progress=False)
    assert "CCP" not in capsys.readouterr().err
    ccp.originals(ids, "full", tmp_path, manifest=manifest)
    assert "CCP originals" in capsys.readouterr().err
