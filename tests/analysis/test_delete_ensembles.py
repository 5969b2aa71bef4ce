"""Deleting points keeps ensembles consistent: a point's ensemble vector goes with it and does not come back."""

from __future__ import annotations

from embedkit.analysis.ensembles import build_from_store
from embedkit.ingestion import ingest
from embedkit.store import open_store
from tests.support.manifests import CountingEncoder, make_manifest

MEMBERS = ("colour.v1", "thumb.v1")


def counts(store, ensemble: str) -> list[int]:
    return [store.count("shapes", name) for name in (*MEMBERS, ensemble)]


def test_a_deleted_points_ensemble_vector_goes_with_it_and_a_rebuild_does_not_resurrect_it(tmp_path):
    manifest = make_manifest(tmp_path / "data", per_class=4)
    colour, thumb = CountingEncoder("colour"), CountingEncoder("thumb")
    with open_store(tmp_path / "store") as store:
        for encoder in (colour, thumb):
            ingest(f"manifest:{manifest}", encoder, store=store, collection="shapes", workers=0)
        ensemble = build_from_store(store, "shapes", [colour, thumb]).vector_name
        all_ids = [s for ids, _, _ in store.iter_points("shapes", [ensemble]) for s in ids]
        gone = all_ids[3:8]

        assert store.delete("shapes", gone) == 5
        assert counts(store, ensemble) == [19, 19, 19] and store.count("shapes") == 19
        assert store.missing_ids("shapes", ensemble, all_ids) == [s for s in all_ids if s in gone]

        report = build_from_store(store, "shapes", [colour, thumb])
        assert (report.written, report.skipped) == (19, 0)
        assert counts(store, ensemble) == [19, 19, 19]
        for name in (*MEMBERS, ensemble):
            assert store.missing_ids("shapes", name, all_ids) == [s for s in all_ids if s in gone]

        seen = colour.images_seen
        again = ingest(f"manifest:{manifest}", colour, store=store, collection="shapes", workers=0)
        assert (again.already_stored, again.stored, colour.images_seen - seen) == (19, 5, 5)
        report = build_from_store(store, "shapes", [colour, thumb])
        assert (report.written, report.skipped) == (19, 5)  # thumb.v1 is still missing for those five
        ingest(f"manifest:{manifest}", thumb, store=store, collection="shapes", workers=0)
        assert build_from_store(store, "shapes", [colour, thumb]).written == 24
        assert counts(store, ensemble) == [24, 24, 24]
