"""The coloured images stored once per module, and a copy of their store for a test to write into."""

from __future__ import annotations

import shutil

import pytest

from tests.support.manifests import ingest_colours


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """The store of the coloured images (collection `shapes`, vector `colour.v1`), and the encoder."""
    return ingest_colours(tmp_path_factory.mktemp("shapes"))


@pytest.fixture
def location(ingested, tmp_path):
    """A copy of the store of the coloured images, for one test to write into."""
    shutil.copytree(ingested[0], tmp_path / "store")
    return tmp_path / "store"
