"""lrn.data.download: fetch, extract and verify an EG1800-shaped archive from a loopback server."""
import hashlib
import http.server
import io
import socket
import threading
import warnings
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.io
from PIL import Image

from lrn.data import eg1800
from lrn.data.download import PINNED_COMMIT, fetch_eg1800, read_manifest
from lrn.errors import InputError

TOP = f"AutoPortraitMatting-{PINNED_COMMIT}"


def fake_files(train=(1, 2, 3, 4, 5, 6), test=(8, 9, 10), no_photo=(7,)) -> dict[str, bytes]:
    """A tiny EG1800-shaped data set: relative path -> bytes."""
    rng = np.random.default_rng(0)
    files = {}
    yy, xx = np.mgrid[0:64, 0:48]
    for k in (*train, *test, *no_photo):
        mask = (((yy - 40) / 30) ** 2 + ((xx - 24) / 16) ** 2 < 1).astype(np.uint8)
        buf = io.BytesIO()
        scipy.io.savemat(buf, {"mask": mask})
        files[f"images_mask/{k:05d}_mask.mat"] = buf.getvalue()
        if k not in no_photo:
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)).save(buf, format="JPEG")
            files[f"images_data_crop/{k:05d}.jpg"] = buf.getvalue()
    for name, ids in (("trainlist", (*train, *no_photo)), ("testlist", test)):
        buf = io.BytesIO()
        scipy.io.savemat(buf, {name: np.array([ids], np.uint16)})
        files[f"{name}.mat"] = buf.getvalue()
    files["crop.txt"] = b"00001.jpg 0 47 0 63\n"
    return files


def write_manifest(path: Path, files: dict[str, bytes]) -> Path:
    lines = [f"{hashlib.sha256(data).hexdigest()}  ./{rel}\n" for rel, data in sorted(files.items())]
    path.write_text("".join(lines))
    return path


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{TOP}/README.md", b"not data")
        archive.writestr(f"{TOP}/data/images_data/00001.jpg", b"an uncropped original: not extracted")
        for rel, data in files.items():
            archive.writestr(f"{TOP}/data/{rel}", data)
    return path


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server for the files in tmp_path/srv; counts GET requests."""
    root = tmp_path / "srv"
    root.mkdir()
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield SimpleNamespace(root=root, url=f"http://127.0.0.1:{httpd.server_address[1]}", hits=hits)
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def good(tmp_path, server):
    files = fake_files()
    write_zip(server.root / "good.zip", files)
    return SimpleNamespace(files=files, url=f"{server.url}/good.zip",
                           manifest=write_manifest(tmp_path / "MANIFEST", files))


def test_fetch_extracts_verifies_and_caches(tmp_path, server, good):
    cache = tmp_path / "cache"
    root = fetch_eg1800(cache_dir=cache, url=good.url, manifest=good.manifest)
    assert root == cache and server.hits == ["/good.zip"]
    for rel, data in good.files.items():
        assert (cache / "eg1800" / rel).read_bytes() == data
    assert not (cache / "eg1800" / "images_data").exists(), "only manifest files are extracted"
    assert (cache / "eg1800" / "SHA256SUMS").read_text() == good.manifest.read_text()
    assert not (cache / "eg1800.partial").exists() and not list((cache / "downloads").glob("*.zip"))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fetch_eg1800(cache_dir=cache, url=good.url, manifest=good.manifest) == cache
    assert server.hits == ["/good.zip"], "a verified cache must not download again"


def test_downloaded_data_loads(tmp_path, good):
    root = fetch_eg1800(cache_dir=tmp_path / "cache", url=good.url, manifest=good.manifest)
    with pytest.warns(UserWarning, match="1 training and 0 test ids .* absent"):
        data = eg1800(root, protocol="full", size=32, manifest=good.manifest)
    assert (len(data.train), len(data.val), len(data.test)) == (5, 1, 3)
    assert data.test.ids == ["00008", "00009", "00010"]


def test_tampered_cache_is_downloaded_again(tmp_path, server, good):
    cache = tmp_path / "cache"
    fetch_eg1800(cache_dir=cache, url=good.url, manifest=good.manifest)
    (cache / "eg1800" / "images_data_crop" / "00002.jpg").write_bytes(b"changed")
    with pytest.warns(UserWarning, match="00002.jpg has sha256"):
        fetch_eg1800(cache_dir=cache, url=good.url, manifest=good.manifest)
    assert len(server.hits) == 2
    restored = (cache / "eg1800" / "images_data_crop" / "00002.jpg").read_bytes()
    assert restored == good.files["images_data_crop/00002.jpg"]


def test_corrupted_member_named(tmp_path, server, good):
    files = dict(good.files)
    files["images_data_crop/00003.jpg"] = files["images_data_crop/00003.jpg"][:-10]
    write_zip(server.root / "bad.zip", files)
    cache = tmp_path / "cache"
    with pytest.raises(InputError, match=r"images_data_crop/00003.jpg has sha256 .*expected") as err:
        fetch_eg1800(cache_dir=cache, url=f"{server.url}/bad.zip", manifest=good.manifest)
    assert "LRN_DATA" in str(err.value)
    assert not (cache / "eg1800").exists() and not (cache / "eg1800.partial").exists()
    assert not list((cache / "downloads").glob("*.zip")), "a bad archive is deleted so a retry downloads again"


def test_missing_member_named(tmp_path, server, good):
    files = dict(good.files)
    del files["images_mask/00004_mask.mat"]
    write_zip(server.root / "short.zip", files)
    with pytest.raises(InputError, match=r"images_mask/00004_mask.mat is missing"):
        fetch_eg1800(cache_dir=tmp_path / "c", url=f"{server.url}/short.zip", manifest=good.manifest)


def test_not_a_zip(tmp_path, server, good):
    (server.root / "page.zip").write_text("<html>rate limited</html>")
    with pytest.raises(InputError, match=r"cannot extract the archive .*zip"):
        fetch_eg1800(cache_dir=tmp_path / "c", url=f"{server.url}/page.zip", manifest=good.manifest)


def test_unreachable_url_explains_what_to_do(tmp_path, good):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cache = tmp_path / "cache"
    with pytest.raises(InputError) as err:
        fetch_eg1800(cache_dir=cache, url=f"http://127.0.0.1:{port}/x.zip", manifest=good.manifest)
    message = str(err.value)
    assert f"127.0.0.1:{port}" in message and "ConnectionError" in message
    assert str(cache / "eg1800") in message and "LRN_DATA" in message and "images_data_crop" in message


def test_http_error(tmp_path, server, good):
    with pytest.raises(InputError, match=r"could not download EG1800 from .*/absent.zip.*404"):
        fetch_eg1800(cache_dir=tmp_path / "c", url=f"{server.url}/absent.zip", manifest=good.manifest)


def test_environment_variables(tmp_path, monkeypatch, server, good):
    monkeypatch.setenv("LRN_CACHE", str(tmp_path / "envcache"))
    monkeypatch.setenv("LRN_EG1800_URL", good.url)
    assert fetch_eg1800(manifest=good.manifest) == tmp_path / "envcache"
    assert server.hits == ["/good.zip"]


def test_packaged_manifest_is_the_mirrors():
    entries = read_manifest(Path(__file__).resolve().parents[1] / "lrn" / "data" / "eg1800.SHA256SUMS")
    assert len(entries) == 3495
    assert "images_data_crop/00001.jpg" in entries and "trainlist.mat" in entries


@pytest.mark.parametrize("text,named", [
    ("", "lists no files"),
    ("abc  ./x.jpg\n", "line 1"),
    ("0" * 64 + "  ./ok\n" + "1" * 64 + "  ../escape\n", "line 2"),
])
def test_bad_manifest(tmp_path, text, named):
    (tmp_path / "M").write_text(text)
    with pytest.raises(InputError, match=f"manifest .*M.*{named}"):
        read_manifest(tmp_path / "M")
    with pytest.raises(InputError, match="cannot read the manifest .*nothere"):
        read_manifest(tmp_path / "nothere")
