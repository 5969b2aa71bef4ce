"""`IngestOptions`: the less usual choices of an ingest in one record; given as keywords of `ingest` they are
refused in one line that says how to pass them, before any work (not taken for an encoder's options, nor left
unused beside an encoder object)."""

from __future__ import annotations

import pytest

from embedkit.errors import InvalidOptionError
from embedkit.ingestion import IngestOptions, RayIngest, ingest
from tests.support.manifests import CountingEncoder


@pytest.mark.parametrize("encoder", ["mobilenet_v2.random", CountingEncoder()])
def test_an_ingest_option_given_as_a_keyword_is_refused_before_any_work(tmp_path, encoder):
    with pytest.raises(InvalidOptionError, match=r"pass options=IngestOptions\(ray=\.\.\., prune_missing=\.\.\.\)"):
        ingest(f"folder:{tmp_path / 'nothing here'}", encoder, store=tmp_path / "store", ray=RayIngest(),
               prune_missing=True)
    assert not (tmp_path / "store").exists()


def test_the_defaults_are_a_plain_ingest_in_this_process():
    options = IngestOptions()
    assert options.ray is None and options.collection_options is None and options.reduced_decoding
    assert not (options.strict or options.add_dataset or options.prune_missing)
