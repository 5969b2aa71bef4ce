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
    everything = verify("folder-photos", store=store, device="cpu", sample=None, repair=True)
    assert everything.repaired == 1 and everything.checked == 2 * PER_CLASS - 1
    assert verify("folder-photos", store=store, device="cpu", sample=None).ok  # the repaired vector is right again
    with open_store(store) as opened:  # one damaged byte: a small change of one component, the cosine ~1
        nudged = opened.get_vectors("folder-photos", report.vector_name, ["folder/cat/1.jpg"])
        nudged[0, 7] += 1e-3 * np.linalg.norm(nudged)
        opened.upsert("folder-photos", report.vector_name, ["folder/cat/1.jpg"], nudged, [{}])
    slightly = verify("folder-photos", store=store, device="cpu", sample=None, repair=True)
    assert [i for i, _ in slightly.differing] == ["folder/cat/1.jpg"] and slightly.differing[0][1] > 0.9999
    assert slightly.largest_difference <= 1e-5
    with open_store(store) as opened:
        damaged = opened.get_vectors("folder-photos", report.vector_name, ["folder/cat/2.jpg"])
        opened.upsert("folder-photos", report.vector_name, ["folder/cat/2.jpg"], -damaged, [{}])
    with open_store(store) as opened:  # the damaged point gone: a missing point alone is reported, not a failure
        opened.delete("folder-photos", ["folder/cat/2.jpg"])
    partial = verify("folder-photos", store=store, device="cpu")
    assert partial.ok and partial.missing == 2 and not partial.differing
    result = CliRunner().invoke(main, ["verify", "-c", "folder-photos", "--qdrant", str(store), "--device", "cpu",
                                       "--sample", "5", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["checked"] == 5 and document["missing"] == 2 and document["ok"] is True


def test_a_writer_opening_a_collection_that_lost_points_or_its_metadata_warns_in_one_line(tmp_path, caplog):
    import qdrant_edge as qe

    from embedkit.store.points import Conditions
    from embedkit.store import schema
    from tests.support.manifests import CountingEncoder, make_manifest

    manifest = make_manifest(tmp_path / "data", per_class=3)
    store = tmp_path / "store"
    ingest(f"manifest:{manifest}", CountingEncoder(), store=store, collection="c", workers=0)
    with open_store(store) as opened:
        assert opened.count_problems("c") == []
        opened.delete("c", ["manifest/img/test-red-0.png"])  # a delete is a change, not a loss
        assert opened.count_problems("c") == []
        opened._delete("c", Conditions(match={"label": 0}))  # what a damaged store does: points gone unrecorded
        lost = opened.count("c", "colour.v1")
    caplog.set_level("WARNING")
    report = ingest(f"manifest:{manifest}", CountingEncoder(), store=store, collection="c", workers=0)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert f"holds {lost} points with vector 'colour.v1' but 17 were recorded" in warnings[0]
    assert report.stored == 18 - lost  # the lost ones and the deleted one are stored again
    with open_store(store) as opened:
        assert opened.count_problems("c") == [] and opened.count("c") == 18
        opened._writable("c").update(qe.UpdateOperation.delete_points([schema.METADATA_POINT_ID]))
        problems = opened.count_problems("c")
    assert len(problems) == 1 and "lost its metadata point" in problems[0] and "ingest its datasets again into a new collection" in problems[0]


def test_verify_fails_on_points_lost_unrecorded_and_on_a_lost_metadata_point(tmp_path, photos):
    import qdrant_edge as qe

    from embedkit.store import schema
    from embedkit.store.points import Conditions

    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=32, device="cpu", store=store, workers=0)
    command = ["verify", "-c", "folder-photos", "--qdrant", str(store), "--device", "cpu"]
    assert CliRunner().invoke(main, command).exit_code == 0
    with open_store(store) as opened:  # what a damaged store does: points gone, the recorded counts unchanged
        opened._delete("folder-photos", Conditions(match={"label": 0}))
    lost = verify("folder-photos", store=store, device="cpu")
    assert not lost.ok and not lost.differing and len(lost.problems) == 1
    assert f"but {2 * PER_CLASS} were recorded" in lost.problems[0] and lost.missing == PER_CLASS
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1 and "lost (a damaged store?)" in result.stderr
    document = json.loads(CliRunner().invoke(main, [*command, "--json"]).stdout)
    assert document["ok"] is False and document["problems"] == lost.problems

    with open_store(store) as opened:
        opened._writable("folder-photos").update(qe.UpdateOperation.delete_points([schema.METADATA_POINT_ID]))
    orphaned = verify("folder-photos", store=store, device="cpu")
    assert not orphaned.ok and orphaned.checked == 0 and "lost its metadata point" in orphaned.problems[0]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1 and "lost its metadata point" in result.stderr and "Traceback" not in result.output


def test_verify_refuses_a_tolerance_that_is_not_a_number(tmp_path):
    result = CliRunner().invoke(main, ["verify", "-c", "x", "--qdrant", str(tmp_path / "store"), "--tolerance", "nan"])
    assert result.exit_code == 2 and "tolerance" in result.output and not (tmp_path / "store").exists()


def test_verify_tells_the_unreadable_files_ingest_skipped_from_lost_points(tmp_path, photos):
    folder = make_photo_folder(tmp_path / "photos", photos)  # with cat/broken.jpg, which ingest skips
    store = tmp_path / "store"
    ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=32, device="cpu", store=store, workers=0)
    with open_store(store) as opened:
        opened.delete("folder-photos", ["folder/coffee/3.jpg"])
    report = verify("folder-photos", store=store, device="cpu", sample=2)
    assert (report.missing, report.missing_unreadable) == (2, 1)
    result = CliRunner().invoke(main, ["verify", "-c", "folder-photos", "--qdrant", str(store), "--device", "cpu",
                                       "--sample", "2"])
    assert result.exit_code == 0, result.output
    assert ("2 samples of its datasets have no vector: 1 in files that cannot be read (ingest skipped them; "
            "`embedkit datasets check` says why); 1 left out by ingest's --split or --limit, or lost") in \
        " ".join(result.stderr.split())


def test_ctrl_c_during_verify_all_reports_the_points_checked_so_far(tmp_path, photos, monkeypatch):
    from embedkit.encoders.base import Encoder

    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=32, device="cpu", store=store, workers=0)
    real, calls, stop_at = Encoder.embed_pixels, [], [3]

    def embed(self, pixels):  # Ctrl-C while the third batch is embedded
        calls.append(1)
        if len(calls) == stop_at[0]:
            raise KeyboardInterrupt
        return real(self, pixels)

    monkeypatch.setattr(Encoder, "embed_pixels", embed)
    heard = []
    report = verify("folder-photos", store=store, device="cpu", sample=None, batch_size=4, progress=heard.append)
    assert report.interrupted and (report.checked, report.to_check) == (8, 2 * PER_CLASS) and report.ok
    assert [(p.done, p.total) for p in heard if p.stage == "embedding again"] == [(0, 12), (4, 12), (8, 12)]
    calls.clear()
    stop_at[0] = 1  # the command embeds 32 at a time: Ctrl-C in its first batch
    result = CliRunner().invoke(main, ["verify", "-c", "folder-photos", "--qdrant", str(store), "--device", "cpu",
                                       "--all"])
    assert result.exit_code == 130
    assert "folder-photos / mobilenet_v2.random-32px: 0 points embedded again" in result.stderr
    assert f"interrupted after 0 of {2 * PER_CLASS} points: the counts above are theirs" in result.stderr
