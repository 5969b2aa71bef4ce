"""benchmarks/fault_injection.py makes each fault happen at any size, or says that it could not: flips land inside
the stored vectors of a preallocated file, the full disk is sized from the data, and a kill that never lands in a
write ends in a "could not" row instead of a row that proves nothing (or a loop without end)."""

from __future__ import annotations

import importlib.util
import random
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

from embedkit.ingestion import ingest
from tests.support.manifests import make_manifest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "fault_injection.py"


@pytest.fixture(scope="module")
def faults():
    spec = importlib.util.spec_from_file_location("fault_injection", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory, faults):
    """A finished store of 24 points, a few hundred kB used in files preallocated far larger."""
    root = tmp_path_factory.mktemp("faults")
    ingest(f"manifest:{make_manifest(root / 'data', per_class=4)}", "pixels", image_size=8, store=root / "store",
           collection=faults.COLLECTION, workers=0, device="cpu")
    reference, points = faults.stored_vectors(root / "store")
    assert points == len(reference) == 24
    return root / "store", reference


def test_flipped_bytes_land_inside_stored_vectors_of_a_mostly_empty_file(faults, small_store, tmp_path):
    store, reference = small_store
    path = faults.vector_file(store)
    offsets = faults.vector_offsets(path, reference)
    width = 4 * len(next(iter(reference.values())))
    assert len(offsets) == 24 and offsets[-1] + width < path.stat().st_size // 2  # the file is mostly its tail
    copy = tmp_path / "vectors"
    copy.write_bytes(path.read_bytes())
    made = faults.flip_inside(copy, offsets, width, random.Random(0))
    before, after = np.frombuffer(path.read_bytes(), np.uint8), np.frombuffer(copy.read_bytes(), np.uint8)
    changed = np.flatnonzero(before != after)
    assert len(changed) == made > 32
    assert all(any(offset <= position < offset + width for offset in offsets) for position in changed)


def test_the_full_disk_is_sized_from_the_data(faults, small_store, tmp_path):
    store, _ = small_store
    faults.empty_collection(store, tmp_path / "empty")
    before, full = faults.used_mb(tmp_path / "empty"), faults.used_mb(store)
    assert 0 < before < full  # the points add to what an empty collection takes
    size = faults.disk_size_kb(64, before, full - before) / 1024
    assert 64 + before < size < 64 + full  # room for the store before its points, not for all of them


def test_kills_that_never_land_in_a_write_end_in_a_could_not_row(faults, monkeypatch, tmp_path, capsys):
    class TooQuick:  # every run ends before its kill: a store too small to be killed while it writes
        args = Namespace(seed=0)
        work = tmp_path

        def ingest(self, store, kill_after=None, sig=None):
            return faults.Outcome(0, "", 0.1)

    monkeypatch.setattr(faults, "clean_run_seconds", lambda runner: (0.2, 0.1))
    monkeypatch.setattr(faults, "compare", lambda row, store, reference: None)
    row = faults.kill_rounds(TooQuick(), {"a": np.zeros(2)}, kills=3)
    assert not row.faulted and not row.clean and row.could_not.startswith("none of 0 kills landed")
    faults.print_rows([row, faults.Row("a fault that happened", runs=1, faulted=True)])
    printed = capsys.readouterr().out
    assert f"could not: {row.could_not}" in printed
    assert printed.strip().endswith("1 of 1 rows clean; 1 fault(s) could not be made (said above)")
