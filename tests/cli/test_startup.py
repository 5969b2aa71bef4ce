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
