"""Shared fixtures: real photos that ship inside scikit-image, and the built-in datasets' published files
served by an HTTP server on 127.0.0.1 (built small by tests/support/datasets.py)."""

from __future__ import annotations

import os

# Set before any plugin loads, so that no other installed plugin changes what the tests see; a test that
# needs another plugin names it itself.
os.environ.setdefault("EMBEDKIT_LOAD_PLUGINS", "efficientnet_lite")

import hashlib
import http.server
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from embedkit.datasets import download
from embedkit.datasets.caltech import Caltech101
from embedkit.datasets.cifar import Cifar10, Cifar100
from embedkit.datasets.mnist import FashionMnist, Mnist
from tests.support.datasets import make_caltech, make_cifar10, make_cifar100, make_idx


@pytest.fixture(scope="session", autouse=True)
def cpu_without_native_bf16():
    """`auto` precision picks fp32 on any CPU the suite runs on, here and in the processes tests start, so that
    vectors do not depend on the machine (tests/encoders/test_precision.py reports other CPUs to the choice)."""
    from embedkit.encoders import precision

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(precision, "cpu_native", lambda name: (False, "a CPU pinned by the tests"))
        patch.setenv(precision.PRECISION_VARIABLE, "fp32")
        precision.forget_choices()
        yield
    precision.forget_choices()


def _photo(name: str) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


@pytest.fixture(scope="session")
def photos() -> dict[str, Image.Image]:
    """Chelsea the cat, a cup of coffee, the astronaut, a rocket, and a cropped mirrored cat."""
    cat = _photo("chelsea")
    return {
        "cat": cat,
        "cat_crop_mirror": ImageOps.mirror(cat.crop((40, 20, 400, 280))),
        "coffee": _photo("coffee"),
        "astronaut": _photo("astronaut"),
        "rocket": _photo("rocket"),
    }


@pytest.fixture(scope="session")
def made_shards():
    """WebDataset and Parquet shards written by img2dataset, a Hugging Face dataset written by `datasets`
    (tests/support/shards.py; made once per machine). Read-only: a test that damages one copies it first."""
    pytest.importorskip("img2dataset", reason="img2dataset (the test extra) writes the shards")
    pytest.importorskip("datasets", reason="datasets (the test extra) writes the Hugging Face dataset")
    from tests.support.shards import cached_shards

    return cached_shards()


@pytest.fixture(scope="session")
def photo_files(photos, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    files = {}
    for name, image in photos.items():
        files[name] = folder / f"{name}.jpg"
        image.save(files[name], quality=95)
    return files


@dataclass
class OfficialFiles:
    folder: Path
    md5: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
def official_files(tmp_path_factory) -> OfficialFiles:
    """Every built-in's published files, generated small, with their MD5s."""
    folder = tmp_path_factory.mktemp("published")
    for name in ("cifar10", "cifar100", "caltech101", "fashion-mnist", "mnist"):
        (folder / name).mkdir()
    made = [make_cifar10(folder / "cifar10"), make_cifar100(folder / "cifar100"), make_caltech(folder / "caltech101")]
    made += make_idx(folder / "fashion-mnist", offset=0) + make_idx(folder / "mnist", offset=100)
    files = OfficialFiles(folder)
    for path in made:
        files.md5[str(path.relative_to(folder))] = hashlib.md5(path.read_bytes()).hexdigest()
    return files


class Server:
    """What the test server was asked, and which files it cuts short on their first request."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.requests: list[tuple[str, str | None, int]] = []
        self.cut_once: set[str] = set()
        self.cut_always: set[str] = set()
        self.ignore_range = False
        self.url = ""

    def reset(self) -> None:
        self.requests.clear()
        self.cut_once.clear()
        self.cut_always.clear()
        self.ignore_range = False


def _handler(server: Server) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            name = self.path.lstrip("/")
            path = server.folder / name
            range_header = self.headers.get("Range")
            if not path.is_file():
                server.requests.append((name, range_header, 404))
                self.send_error(404)
                return
            data = path.read_bytes()
            start = 0
            if range_header and not server.ignore_range:
                start = int(range_header.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    server.requests.append((name, range_header, 416))
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            body = data[start:]
            cut = name in server.cut_always or name in server.cut_once
            server.cut_once.discard(name)
            server.requests.append((name, range_header, 206 if start else 200))
            self.wfile.write(body[: len(body) // 2] if cut else body)
            if cut:
                self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def published_server(official_files):
    state = Server(official_files.folder)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def dataset_server(published_server) -> Server:
    published_server.reset()
    yield published_server
    published_server.reset()


@dataclass
class Mirror:
    server: Server
    data: Path
    files: OfficialFiles


@pytest.fixture
def mirror(monkeypatch, tmp_path, dataset_server, official_files) -> Mirror:
    """Downloads go to the test server, with the generated files' MD5s as the published ones;
    the data folder is empty and no system location is searched."""
    data = tmp_path / "data"
    monkeypatch.setenv("EMBEDKIT_DATA", str(data))
    monkeypatch.setenv("EMBEDKIT_SYSTEM_DATA", "")
    monkeypatch.setenv("EMBEDKIT_DATASETS_MIRROR", dataset_server.url)
    monkeypatch.setattr(download, "BACKOFF", 0.0)
    for dataset in (Cifar10, Cifar100, Caltech101, FashionMnist, Mnist):
        resources = tuple(replace(r, md5=official_files.md5[f"{dataset.name}/{r.filename}"])
                          for r in dataset.resources)
        monkeypatch.setattr(dataset, "resources", resources)
    return Mirror(dataset_server, data, official_files)
