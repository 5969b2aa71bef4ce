"""`embedkit serve`'s options for Qdrant's API: writes only with a key, and the API on a port of its own."""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner
from qdrant_client import QdrantClient

from embedkit.cli import main
from tests.serve.qdrant_api.conftest import COLLECTION, KEY, POINTS
from tests.serve.running import free_port, running_server


def test_writes_without_an_access_key_are_refused_in_one_line(store_path):
    finished = CliRunner(env={"EMBEDKIT_ACCESS_KEY": None}).invoke(
        main, ["serve", "--qdrant", str(store_path), "--port", str(free_port()), "--qdrant-api-writes"])
    assert finished.exit_code == 2
    assert finished.output.strip() == ("error: --qdrant-api-writes lets clients change the store: give "
                                       "--access-key KEY too")


def test_the_qdrant_api_port_must_differ_from_the_port(store_path):
    port = free_port()
    finished = CliRunner().invoke(main, ["serve", "--qdrant", str(store_path), "--port", str(port),
                                         "--qdrant-api-port", str(port)])
    assert finished.exit_code == 2 and "--qdrant-api-port" in finished.output


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_qdrants_api_on_a_port_of_its_own_answers_at_its_root_and_stops_with_the_server(store_path, tmp_path):
    import shutil

    store = shutil.copytree(store_path, tmp_path / "store")
    port = free_port()
    with running_server(store, "--qdrant-api-port", str(port), "--access-key", KEY) as url:
        client = QdrantClient(url=f"http://127.0.0.1:{port}", prefer_grpc=False, api_key=KEY)
        assert client.count(COLLECTION).count == POINTS
        assert [c.name for c in client.get_collections().collections] == [COLLECTION]
        assert httpx.get(f"{url}/qdrant/collections", headers={"api-key": KEY}).status_code == 404
        client.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
