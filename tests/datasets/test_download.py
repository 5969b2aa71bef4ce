"""Downloads: checksums, atomic writes, resuming an interrupted transfer, bounded retries, look-up order."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from embedkit.datasets import get_dataset
from embedkit.datasets.cifar import Cifar10
from embedkit.datasets.download import Resource, fetch
from embedkit.datasets.locate import candidate_dirs, data_root
from embedkit.errors import ChecksumError, DatasetFormatError, DatasetUnavailableError

CIFAR = "cifar10/cifar-10-python.tar.gz"


def resource(mirror, name: str = CIFAR, md5: str | None = None) -> Resource:
    return Resource(name.split("/")[-1], md5 or mirror.files.md5[name], ())


def test_checksum_mismatch_removes_the_file_and_says_so(mirror, monkeypatch, tmp_path):
    monkeypatch.setattr(Cifar10, "resources", (replace(Cifar10.resources[0], md5="0" * 32),))
    with pytest.raises(ChecksumError, match=r"not the published 0{32}; the file was removed"):
        get_dataset("cifar10")
    assert list((mirror.data / "cifar10").iterdir()) == []


def test_the_file_appears_only_once_verified(mirror, tmp_path):
    seen_during = []

    def progress(name, done, total):
        seen_during.append((tmp_path / "out" / name).exists())

    path = fetch(resource(mirror), tmp_path / "out", mirror=mirror.server.url, mirror_folder="cifar10",
                 progress=progress)
    assert path.read_bytes() == (mirror.files.folder / CIFAR).read_bytes()
    assert seen_during and not any(seen_during)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["cifar-10-python.tar.gz"]


def test_an_interrupted_transfer_resumes_where_it_stopped(mirror):
    mirror.server.cut_once.add(CIFAR)
    dataset = get_dataset("cifar10")
    assert len(dataset) > 0
    size = (mirror.files.folder / CIFAR).stat().st_size
    transfers = [r for r in mirror.server.requests if r[0] == CIFAR]
    assert transfers == [(CIFAR, None, 200), (CIFAR, f"bytes={size // 2}-", 206)]


def test_a_partial_file_from_an_earlier_run_is_resumed(mirror, tmp_path):
    whole = (mirror.files.folder / CIFAR).read_bytes()
    (tmp_path / "cifar-10-python.tar.gz.part").write_bytes(whole[:1000])
    fetch(resource(mirror), tmp_path, mirror=mirror.server.url, mirror_folder="cifar10")
    assert (tmp_path / "cifar-10-python.tar.gz").read_bytes() == whole
    assert mirror.server.requests == [(CIFAR, "bytes=1000-", 206)]


def test_a_server_that_ignores_range_restarts_the_file(mirror, tmp_path):
    mirror.server.ignore_range = True
    whole = (mirror.files.folder / CIFAR).read_bytes()
    (tmp_path / "cifar-10-python.tar.gz.part").write_bytes(b"x" * 1000)
    fetch(resource(mirror), tmp_path, mirror=mirror.server.url, mirror_folder="cifar10")
    assert (tmp_path / "cifar-10-python.tar.gz").read_bytes() == whole


def test_retries_are_bounded_and_the_error_says_what_to_do(mirror, tmp_path):
    mirror.server.cut_always.add(CIFAR)
    with pytest.raises(DatasetUnavailableError, match="connection closed after .*put the file in"):
        fetch(resource(mirror), tmp_path, mirror=mirror.server.url, mirror_folder="cifar10", retries=2)
    assert len(mirror.server.requests) == 3
    assert not (tmp_path / "cifar-10-python.tar.gz").exists()


def test_a_missing_file_is_not_retried(mirror, tmp_path):
    with pytest.raises(DatasetUnavailableError, match="HTTP 404"):
        fetch(Resource("nothing.tar.gz", "0" * 32, ()), tmp_path, mirror=mirror.server.url, mirror_folder="cifar10")
    assert len(mirror.server.requests) == 1


def test_official_urls_are_used_without_a_mirror():
    assert Cifar10.resources[0].locations() == ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)
    assert Cifar10.resources[0].locations("http://127.0.0.1:1/data/", "cifar10") == (
        "http://127.0.0.1:1/data/cifar10/cifar-10-python.tar.gz",)


def test_look_up_order_is_data_dir_then_system_locations(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBEDKIT_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("EMBEDKIT_SYSTEM_DATA", str(tmp_path / "system"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert candidate_dirs(("mnist", "MNIST/raw")) == [
        tmp_path / "env" / "mnist", tmp_path / "env" / "MNIST/raw", tmp_path / "env",
        tmp_path / "system" / "mnist", tmp_path / "system" / "MNIST/raw"]
    monkeypatch.delenv("EMBEDKIT_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_root() == tmp_path / "cache" / "embedkit" / "datasets"


def test_a_system_location_is_used_before_downloading(mirror, monkeypatch, tmp_path):
    system = tmp_path / "system"
    shutil.copytree(mirror.files.folder / "mnist", system / "mnist")
    monkeypatch.setenv("EMBEDKIT_SYSTEM_DATA", str(system))
    dataset = get_dataset("mnist")
    assert mirror.server.requests == []
    assert dataset.source_description() == f"mnist IDX files in {system / 'mnist'}"
    assert dataset.view("test")[0].source == f"{system / 'mnist' / 't10k-images-idx3-ubyte.gz'}::0"


def test_torchvision_layouts_are_found(mirror, tmp_path):
    raw = mirror.data / "MNIST" / "raw"
    shutil.copytree(mirror.files.folder / "mnist", raw)
    assert get_dataset("mnist").source_description() == f"mnist IDX files in {raw}"
    assert mirror.server.requests == []


def test_a_truncated_idx_file_is_a_format_error(mirror, monkeypatch, tmp_path):
    import gzip

    folder = tmp_path / "broken"
    shutil.copytree(mirror.files.folder / "mnist", folder)
    images = folder / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(gzip.compress(gzip.decompress(images.read_bytes())[:-100]))
    with pytest.raises(DatasetFormatError, match="t10k-images-idx3-ubyte.gz is truncated.*download it again"):
        get_dataset("mnist", data_dir=folder)


def test_a_found_archive_with_the_wrong_checksum_is_refused(mirror):
    (mirror.data / "cifar10").mkdir(parents=True)
    (mirror.data / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"not the archive")
    with pytest.raises(ChecksumError, match="remove it and download it again"):
        get_dataset("cifar10")
