"""docs/serve.md: its Python snippets run against a store that `embedkit ingest` made from (a small copy of)
Fashion-MNIST, and its claims about the default store hold (issue 29: the page named a store path embedkit never
used, and its Python example opened an empty store there)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from embedkit import get_encoder
from embedkit.ingestion import ingest
from embedkit.store.location import default_store_path
from tests.support.docs import DOCS, python_block

pytest.importorskip("fastapi", reason="embedkit serve needs the serve extra")

from fastapi.testclient import TestClient  # noqa: E402

DOC = DOCS / "serve.md"


@pytest.fixture
def home(mirror, tmp_path, monkeypatch):
    """$EMBEDKIT_HOME with the default store in it, holding collection fashion-mnist (6 test images)."""
    monkeypatch.setenv("EMBEDKIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EMBEDKIT_QDRANT", raising=False)
    encoder = get_encoder("mobilenet_v2.random", image_size=64, device="cpu")
    report = ingest("fashion-mnist", encoder, split="test", workers=0)
    assert report.stored == 6 and default_store_path() == tmp_path / "home" / "qdrant"
    return tmp_path / "home"


def test_the_default_store_the_options_name_is_the_one_embedkit_uses(monkeypatch, tmp_path):
    row = next(line for line in DOC.read_text().splitlines() if line.startswith("| `--qdrant LOCATION`"))
    assert "$EMBEDKIT_HOME/qdrant" in row and "~/.cache/embedkit/store" not in row
    monkeypatch.setenv("EMBEDKIT_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "qdrant"
    monkeypatch.delenv("EMBEDKIT_HOME")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert default_store_path() == Path.home() / ".local" / "share" / "embedkit" / "qdrant"


def test_the_python_example_serves_the_store_that_ingest_filled(home, monkeypatch):
    import uvicorn

    answers = {}

    def run(app, host, port):  # instead of serving forever: ask the app what it serves, as a client would
        client = TestClient(app, base_url="http://localhost")
        answers["collections"] = client.get("/api/collections", headers={"X-API-Key": "s3cret"}).json()
        answers["refused"] = client.get("/api/collections").status_code

    monkeypatch.setattr(uvicorn, "run", run)
    exec(compile(python_block(DOC, "## Python"), str(DOC), "exec"), {"__name__": "docs_snippet"})
    assert [(c["name"], c["points"]) for c in answers["collections"]] == [("fashion-mnist", 6)]
    assert answers["refused"] == 401


def test_the_requests_example_searches_by_image_by_examples_and_embeds(home, tmp_path, monkeypatch):
    from embedkit.serve import ServeSettings, create_app
    from embedkit.store import open_store

    Image.new("L", (28, 28), 200).save(tmp_path / "sneaker.png")
    monkeypatch.chdir(tmp_path)
    code = python_block(DOC, "### Python `requests`").replace("import requests\n", "")
    with open_store() as store:
        client = TestClient(create_app(store, ServeSettings()), base_url="http://127.0.0.1:8000")
        namespace = {"__name__": "docs_snippet", "requests": client}
        exec(compile(code, str(DOC), "exec"), namespace)
    assert len(namespace["found"]["hits"]) == 6 and all(hit["label_name"] for hit in namespace["found"]["hits"])
    assert namespace["more"]["hits"] and len(namespace["liked"]) == 3
    assert len(namespace["vector"]) == 1280


def test_docs_serve_names_the_test_that_runs_its_snippets():
    assert f"tests/{Path(__file__).name}" in DOC.read_text()
