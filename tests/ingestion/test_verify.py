"""`embedkit verify` finds stored vectors that are not what their sources embed to, and missing points."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from embedkit.cli import main
from embedkit.ingestion import ingest
from embedkit.ingestion.verify import verify
from embedkit.store import open_store
from tests.support.photos import PER_CLASS, make_photo_folder


def test_a_sound_collection_verifies_and_a_damaged_one_is_named(tmp_path, photos):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    report = ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=32, device="cpu", store=store, workers=0)
    sound = verify("folder-photos", store=store, device="cpu")
    assert sound.ok and sound.checked == 2 * PER_CLASS and sound.vector_name == report.vector_name
    with open_store(store) as opened:  # one vector damaged, one point lost
        damaged = np.random.default_rng(0).standard_normal((1, 1280)).astype(np.float32)
        opened.upsert("folder-photos", report.vector_name, ["folder/cat/2.jpg"], damaged, [{}])
        opened.delete("folder-photos", ["folder/coffee/3.jpg"])
    found = verify("folder-photos", store=store, device="cpu")
    assert [sample_id for sample_id, _ in found.differing] == ["folder/cat/2.jpg"]
    assert found.missing == 1 and found.checked == 2 * PER_CLASS - 1 and not found.ok
    with open_store(store) as opened:  # the damaged point gone: a missing point alone is reported, not a failure
        opened.delete("folder-photos", ["folder/cat/2.jpg"])
    partial = verify("folder-photos", store=store, device="cpu")
    assert partial.ok and partial.missing == 2 and not partial.differing
    result = CliRunner().invoke(main, ["verify", "-c", "folder-photos", "--qdrant", str(store), "--device", "cpu",
                                       "--sample", "5", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["checked"] == 5 and document["missing"] == 2 and document["ok"] is True
