"""CIFAR batches found on disk are unpickled with an allow-list: the official format loads, code does not run."""

from __future__ import annotations

import builtins
import io
import os
import pickle
import struct
import subprocess
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from embedkit import get_dataset
from embedkit.datasets.cifar import CIFAR_GLOBALS, load_batch
from embedkit.datasets.safe_pickle import RefusedGlobal, load_restricted
from embedkit.errors import DatasetFormatError, UntrustedFileError
from tests.support.datasets import CIFAR10_SIZES, cifar_pixel, make_cifar10, make_cifar100


class RunsACommand:
    """What an attacker puts in a pickle: unpickling it calls os.system."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class WritesAFile:
    """The same through builtins.exec."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",)


class StartsAProcess:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return subprocess.Popen, (["touch", str(self.marker)],)


@pytest.fixture
def unpacked_cifar10(tmp_path, monkeypatch) -> Path:
    """CIFAR-10's batches found already unpacked in the data folder, as a user or another tool left them."""
    data = tmp_path / "data"
    monkeypatch.setenv("EMBEDKIT_DATA", str(data))
    monkeypatch.setenv("EMBEDKIT_SYSTEM_DATA", "")
    (tmp_path / "published").mkdir()
    with tarfile.open(make_cifar10(tmp_path / "published")) as archive:
        archive.extractall(data / "cifar10", filter="data")
    return data / "cifar10" / "cifar-10-batches-py"


def python2_pickle(obj: object) -> bytes:
    """`obj` as Python 2's cPickle wrote the official files at protocol 2: every str and bytes a BINSTRING,
    numpy's reconstructor under its numpy 1.x module."""

    class Pickler(pickle._Pickler):  # the pure-Python pickler, whose dispatch table can be changed
        def save_binstring(self, text: str | bytes) -> None:
            data = text.encode("latin1") if isinstance(text, str) else text
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
            self.memoize(text)

        dispatch = {**pickle._Pickler.dispatch, str: save_binstring, bytes: save_binstring}

    stream = io.BytesIO()
    Pickler(stream, protocol=2).dump(obj)
    return stream.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


@pytest.mark.parametrize("crafted", ["batches.meta", "data_batch_3"])
@pytest.mark.parametrize("payload", [RunsACommand, WritesAFile, StartsAProcess])
def test_a_crafted_batch_is_refused_and_its_code_never_runs(unpacked_cifar10, tmp_path, crafted, payload):
    marker = tmp_path / "pwned"
    (unpacked_cifar10 / crafted).write_bytes(pickle.dumps({"label_names": [payload(marker)]}, protocol=2))

    with pytest.raises(UntrustedFileError) as raised:
        get_dataset("cifar10", download=False)
    assert not marker.exists()
    message = str(raised.value)
    assert "\n" not in message
    assert f"{unpacked_cifar10 / crafted} is not a CIFAR batch" in message
    assert f"delete {unpacked_cifar10}" in message and "embedkit datasets download cifar10" in message
    assert isinstance(raised.value, DatasetFormatError)

    pickle.loads((unpacked_cifar10 / crafted).read_bytes())  # the payload is live: plain pickle runs it
    if payload is StartsAProcess:
        time.sleep(0.5)
    assert marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_every_protocol_goes_through_the_allow_list(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps([1, RunsACommand(marker)], protocol=protocol))
    with pytest.raises(RefusedGlobal):
        load_restricted(path, CIFAR_GLOBALS)
    assert not marker.exists()


@pytest.mark.parametrize("stream", [
    b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x04\x00\x00\x00zlib\x86R.",  # another codec than latin1
    b"\x80\x02c__builtin__\nbytes\nJ\x00\xe4\x0bT\x85R.",  # bytes(n): 1.4 GB of zeros
    b"\x80\x02cnumpy\nload\nX\x01\x00\x00\x00x\x85R.",  # a numpy function other than the reconstructor
    b"\x80\x02cnumpy\nndarray.tofile\nX\x01\x00\x00\x00x\x85R.",  # an attribute of an allowed name
], ids=["codecs-zlib", "bytes-n", "numpy-load", "dotted-name"])
def test_allowed_names_cannot_be_turned_to_other_uses(tmp_path, stream):
    path = tmp_path / "batch"
    path.write_bytes(stream)
    with pytest.raises(pickle.UnpicklingError):
        load_restricted(path, CIFAR_GLOBALS)


def test_an_object_array_holds_only_what_the_allow_list_lets_through(tmp_path):
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps(np.array(["a", 3], dtype=object), protocol=2))
    assert load_restricted(path, CIFAR_GLOBALS).tolist() == ["a", 3]
    path.write_bytes(pickle.dumps(np.array([RunsACommand(tmp_path / "pwned")], dtype=object), protocol=2))
    with pytest.raises(RefusedGlobal):
        load_restricted(path, CIFAR_GLOBALS)
    assert not (tmp_path / "pwned").exists()


def test_a_batch_pickled_by_python_2_loads(tmp_path):
    """The official files: Python 2 str keys and values, a uint8 array whose bytes are a BINSTRING."""
    rows = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    path = tmp_path / "data_batch_1"
    path.write_bytes(python2_pickle({"batch_label": "training batch 1 of 5", "labels": [6, 9], "data": rows,
                                     "filenames": ["leptodactylus_pentadactylus_s_000004.png", "camion_s_000148.png"]}))
    assert b"cnumpy.core.multiarray\n_reconstruct" in path.read_bytes()
    assert b"_codecs" not in path.read_bytes() and b"X\x06\x00\x00\x00labels" not in path.read_bytes()

    batch = load_batch(path)
    assert batch["labels"] == [6, 9] and batch["filenames"][1] == "camion_s_000148.png"
    assert batch["data"].dtype == np.uint8 and np.array_equal(batch["data"], rows)


def test_batches_pickled_by_python_3_load_with_bytes_or_str_keys(tmp_path):
    for make, member, key in ((make_cifar10, "cifar-10-batches-py/test_batch", "labels"),
                              (make_cifar100, "cifar-100-python/train", "fine_labels")):
        with tarfile.open(make(tmp_path)) as archive:
            archive.extractall(tmp_path / "unpacked", filter="data")
        batch = load_batch(tmp_path / "unpacked" / member)
        assert set(batch) >= {key, "data", "filenames"} and batch["data"].dtype == np.uint8


def test_the_found_batches_still_read_as_a_dataset(unpacked_cifar10):
    dataset = get_dataset("cifar10", download=False)
    assert len(dataset) == sum(CIFAR10_SIZES.values())
    sample = dataset.view("train")[13]
    assert sample.image().getpixel((5, 7)) == cifar_pixel(13, sample.label)


def test_a_damaged_batch_is_a_one_line_format_error(unpacked_cifar10):
    meta = unpacked_cifar10 / "batches.meta"
    meta.write_bytes(meta.read_bytes()[:40])
    with pytest.raises(DatasetFormatError, match="cannot read CIFAR batch") as raised:
        get_dataset("cifar10", download=False)
    assert "\n" not in str(raised.value) and not isinstance(raised.value, UntrustedFileError)
