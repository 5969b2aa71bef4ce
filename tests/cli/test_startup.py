"""Starting the command is quick: help and listings import no model library (torch alone takes seconds)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "torchvision", "open_clip", "transformers", "sentence_transformers")

PROBE = """
import json, sys
from embedkit.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
{then}
print("\\nIMPORTED", json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def heavy_modules_after(*args: str, then: str = "") -> list[str]:
    """The model libraries in `sys.modules` after `embedkit ARGS` ran in a fresh interpreter (and `then`)."""
    result = subprocess.run([sys.executable, "-c", PROBE.format(then=then, heavy=HEAVY), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.rpartition("\nIMPORTED ")[2])


@pytest.mark.parametrize("args", [
    ["--help"], ["encoders"], ["encoders", "--json"], ["encoders", "clip:ViT-B-32*"], ["encoders", "nothing*"],
    ["datasets"], ["datasets", "--json"], ["collections", "--help"], ["ingest", "--help"], ["search", "--help"],
    ["bench", "--help"], ["stack", "train", "--help"], ["embed", "--help"],
], ids=" ".join)
def test_help_and_listings_import_no_model_library(args):
    assert heavy_modules_after(*args) == []


def test_the_probe_sees_a_model_library_once_an_encoder_class_is_touched():
    touched = heavy_modules_after("encoders", then="from embedkit.encoders import Encoder")
    assert "torch" in touched


def test_the_written_out_stacking_methods_are_the_analysis_rooms():
    from embedkit.analysis.stacking import METHODS
    from embedkit.cli.ensembles import STACKING_METHODS

    assert STACKING_METHODS == METHODS


@pytest.fixture(scope="module")
def vectors_only(tmp_path_factory):
    """An embedded store of 60 labelled points whose record names an encoder that needs torch to run."""
    import numpy as np

    from embedkit.records import VectorRecord
    from embedkit.store import open_store

    location = tmp_path_factory.mktemp("read-only") / "store"
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    with open_store(location) as store:
        store.ensure_vector("things", "efficientnet_lite0.imagenet1k",
                            VectorRecord("efficientnet_lite0.imagenet1k", 16, "image", weights="imagenet1k"))
        store.upsert("things", "efficientnet_lite0.imagenet1k", [f"p{n}" for n in range(60)],
                     centres[np.arange(60) % 3] + rng.normal(scale=0.1, size=(60, 16)),
                     [{"label": n % 3, "split": "train" if n < 40 else "test"} for n in range(60)])
        store.optimize("things")
    return location


@pytest.mark.parametrize("args", [
    ["search", "-c", "things", "--id", "p1"], ["search", "-c", "things", "--like", "p1", "--unlike", "p2"],
    ["collections"], ["export", "-c", "things", "-o", "{tmp}/e.parquet"], ["classify", "-c", "things", "--cv", "2", "--out-dir", "{tmp}/c"],
    ["cluster", "-c", "things", "--k", "3"], ["duplicates", "-c", "things"], ["map", "-c", "things", "-o", "{tmp}/m.png"],
    ["browse", "-c", "things", "--filter", "label=1", "-o", "{tmp}/b.png"], ["search", "-c", "things", "--filter", "split=test"],
    ["mistakes", "-c", "things", "-k", "3", "-o", "{tmp}/s.png"], ["rank", "-c", "things", "--by", "uniqueness", "-o", "{tmp}/r.png"],
], ids=" ".join)
def test_what_only_reads_stored_vectors_imports_no_model_library(args, vectors_only, tmp_path):
    given = [arg.format(tmp=tmp_path) for arg in args]
    assert heavy_modules_after(*given, "--qdrant", str(vectors_only)) == []


def test_a_search_by_id_from_python_imports_no_model_library(vectors_only):
    code = ("import sys, embedkit\n"
            f"hits = embedkit.search('things', sample_id='p1', k=3, store={str(vectors_only)!r}).hits\n"
            f"print(len(hits), sorted(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.split("\n")[0] == "3 []", result.stderr[-2000:]
