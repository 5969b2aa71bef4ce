"""Concurrent queries for one encoder share a forward pass, and each still gets exactly its own vector."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from embedkit.encoders import get_encoder
from embedkit.serve import ServeSettings, create_app
from embedkit.serve.batching import BatchedEncoder, QueryBatcher
from embedkit.serve.encoders import LoadedEncoders
from embedkit.store import open_store


def doubled(queries):
    return np.array([[query, 2 * query] for query in queries], dtype=np.float32)


def run_together(count, work):
    """`work(n)` in `count` threads that start at once; their answers in order."""
    start = threading.Barrier(count)

    def one(n):
        start.wait()
        return work(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_announced_queries_are_gathered_into_one_batch_and_each_gets_its_own_row():
    batcher = QueryBatcher(doubled, max_batch=8, max_wait=5.0)

    def query(n):
        with batcher.expect():
            time.sleep(0.01 * n)  # reading and preprocessing take each request its own time
            return batcher.submit(n)

    answers = run_together(8, query)
    assert [list(answer) for answer in answers] == [[n, 2 * n] for n in range(8)]
    assert batcher.batches == [8]
    batcher.close()


def test_a_batch_holds_at_most_max_batch_queries():
    batcher = QueryBatcher(doubled, max_batch=3, max_wait=5.0)

    def query(n):
        with batcher.expect():
            return batcher.submit(n)

    answers = run_together(7, query)
    assert [int(answer[0]) for answer in answers] == list(range(7))
    assert sum(batcher.batches) == 7 and max(batcher.batches) <= 3
    batcher.close()


def test_a_lone_query_runs_at_once_instead_of_waiting_for_company():
    batcher = QueryBatcher(doubled, max_batch=32, max_wait=30.0)
    started = time.monotonic()
    with batcher.expect():
        assert list(batcher.submit(4)) == [4, 8]
    assert time.monotonic() - started < 10  # far below the 30 s a batch may wait for announced queries
    assert batcher.batches == [1]
    batcher.close()


def test_an_error_in_a_batch_reaches_every_query_in_it():
    def failing(queries):
        raise RuntimeError("out of memory")

    batcher = QueryBatcher(failing, max_batch=4, max_wait=5.0)

    def query(n):
        with batcher.expect():
            try:
                batcher.submit(n)
            except RuntimeError as error:
                return str(error)

    assert run_together(4, query) == ["out of memory"] * 4
    batcher.close()


def test_batched_image_vectors_equal_one_at_a_time_encoding(photos):
    images = list(photos.values())
    encoder = get_encoder("mobilenet_v2.random", image_size=64, device="cpu", precision="fp32")
    alone = np.stack([encoder.encode_images([image])[0] for image in images])
    batched = BatchedEncoder(encoder, max_batch=len(images), max_wait=5.0)

    def query(n):
        with batched.expect():
            return batched.encode_images([images[n]])[0]

    together = np.stack(run_together(len(images), query))
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert max(batched.images.batches) > 1
    batched.close()


def test_batched_text_vectors_equal_one_at_a_time_encoding():
    encoder = get_encoder("st:all-MiniLM-L6-v2", device="cpu")
    texts = ["a red square", "green", "a small blue circle on a white table", "red"]
    alone = np.stack([encoder.encode_texts([text])[0] for text in texts])
    batched = BatchedEncoder(encoder, max_batch=4, max_wait=5.0)

    def query(n):
        with batched.expect():
            return batched.encode_texts([texts[n]])[0]

    np.testing.assert_allclose(np.stack(run_together(4, query)), alone, atol=1e-5)
    batched.close()


@pytest.fixture
def client(served):
    with open_store(served.store) as store:
        yield TestClient(create_app(store, ServeSettings(query_wait_ms=200)), base_url="http://localhost")


def test_concurrent_searches_by_image_answer_as_one_at_a_time_ones(client, served, tmp_path):
    files = []
    for n, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)] * 3):
        pixels = np.clip(np.array(colour) + np.random.default_rng(n).normal(0, 25, (24, 24, 3)), 0, 255)
        Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / f"{n}.png")
        files.append((tmp_path / f"{n}.png").read_bytes())
    path = f"/api/collections/{served.collection}/search/image"

    def ask(n):
        answer = client.post(path, files={"image": (f"{n}.png", files[n], "image/png")}, data={"k": "5"})
        assert answer.status_code == 200, answer.text
        return [(hit["sample_id"], round(hit["score"], 5)) for hit in answer.json()["hits"]]

    alone = [ask(n) for n in range(len(files))]
    assert run_together(len(files), ask) == alone
    [sizes] = client.app.state.server.encoders.batch_sizes().values()
    assert sizes[: len(files)] == [1] * len(files) and max(sizes[len(files):]) > 1


class Colour:
    """A tiny image encoder (the mean colour) standing in for a model, with the vector a CollectionVector hands out."""

    name, embeds_images, embeds_text, input_size = "colour", True, False, None

    def preprocess(self, image):
        import torch

        return torch.tensor(np.asarray(image.convert("RGB"), dtype=np.float32).mean(axis=(0, 1)))

    def embed_pixels(self, pixels):
        return pixels.numpy() / np.linalg.norm(pixels.numpy(), axis=1, keepdims=True)


class Stored:
    def __init__(self, key):
        self.key = key

    def encoder(self):
        return Colour()


def test_an_encoder_let_go_of_while_a_request_uses_it_answers_that_request_then_stops():
    loaded = LoadedEncoders(1, max_wait_ms=1)
    red = Image.new("RGB", (4, 4), (200, 10, 10))
    with loaded.using(Stored("first")) as first:
        with loaded.using(Stored("second")) as second:  # the limit is 1: the first is let go of
            assert loaded.names() == ["colour"] and second is not first
        assert first.images._worker.is_alive()
        np.testing.assert_allclose(first.encode_images([red])[0], Colour().embed_pixels(
            Colour().preprocess(red)[None])[0], atol=1e-6)
    first.images._worker.join(timeout=10)
    assert not first.images._worker.is_alive()
    assert second.images._worker.is_alive()  # still kept
