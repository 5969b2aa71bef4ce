"""A payload write over a collection killed half-way (SIGKILL at a chosen chunk) leaves a record on the metadata point:
`collections`, a search filtered on the field, `verify` and the API's collection info say in one line that the field is
half-written and which command finishes it; a run of that command to its end clears it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from embedkit.cli import main
from embedkit.ingestion import ingest
from embedkit.ingestion.verify import verify
from embedkit.store import open_store
from tests.support.manifests import make_manifest

KILLER = """
import os, signal, sys
import embedkit.store.payloads as payloads
from embedkit.store.edge.store import EdgeStore
payloads.ID_CHUNK = 4  # 24 points: six chunks, so that the kill falls between two of them
real = EdgeStore._set_payloads
calls = []
def killing(self, *args, **kwargs):
    calls.append(1)
    if len(calls) == int(os.environ["KILL_AT"]):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, *args, **kwargs)
EdgeStore._set_payloads = killing
from embedkit.cli import main
main(sys.argv[1:], prog_name="embedkit")
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One collection for every case: each case ends with the field finished, as it found it."""
    tmp_path = tmp_path_factory.mktemp("killed")
    store = tmp_path / "store"
    report = ingest(f"manifest:{make_manifest(tmp_path / 'data', per_class=4)}", "pixels", image_size=8, store=store,
                    collection="colours", workers=0, device="cpu")
    saved = CliRunner().invoke(main, ["classify", "-c", "colours", "--k", "3", "--save", str(tmp_path / "m.skops"),
                                      "--out", str(tmp_path / "out"), "--qdrant", str(store)])
    assert saved.exit_code == 0, saved.output
    return {"store": store, "model": tmp_path / "m.skops", "vector": report.vector_name}


COMMANDS = {  # the command, the field it writes, a value a filter looks for, what the recorded command starts with
    "cluster": (["cluster", "-c", "colours", "-k", "3", "--write"], "cluster", 0, "embedkit cluster -c colours -e "),
    "classify": (["classify", "--load", "{model}", "-c", "colours", "--write-labels"], "predicted_label", 0,
                 "embedkit classify --load "),
    "duplicates": (["duplicates", "-c", "colours", "--threshold", "0.5", "--mark"], "duplicate_group", 1,
                   "embedkit duplicates -c colours -e "),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_payload_write_killed_half_way_is_named_by_every_reader_until_a_rerun_finishes_it(world, name, caplog):
    arguments, field, value, command = COMMANDS[name]
    arguments = [a.format(model=world["model"]) for a in arguments] + ["--qdrant", str(world["store"])]
    environment = {**os.environ, "KILL_AT": "3", "PYTHONPATH": os.pathsep.join(sys.path)}
    killed = subprocess.run([sys.executable, "-c", KILLER, *arguments], env=environment, capture_output=True,
                            timeout=120, cwd=world["store"].parent)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]

    listed = CliRunner().invoke(main, ["collections", "--qdrant", str(world["store"]), "--json"])
    (line,) = json.loads(listed.stdout)[0]["half_written"]
    assert f"{field!r}" in line and "of collection 'colours'" in line and "half-written" in line
    assert f"(`{command}" in line and line.endswith("run it again to finish it")
    shown = CliRunner().invoke(main, ["collections", "--qdrant", str(world["store"])])
    assert line in " ".join(shown.stderr.split())

    with open_store(world["store"]) as opened:
        sample = opened.stored_ids("colours", world["vector"])[0]
    caplog.clear()
    found = CliRunner().invoke(main, ["search", "-c", "colours", "--id", sample, "--filter", f"{field}={value}",
                                      "--qdrant", str(world["store"]), "--json"])
    assert found.exit_code in (0, 2), found.output  # hits, or none of that value: the warning comes first either way
    (warned,) = [r.getMessage() for r in caplog.records if "half-written" in r.getMessage()]
    assert f"{field!r}" in warned and warned.endswith(line[line.index(" half-written"):])
    assert line in verify("colours", store=world["store"], sample=2, device="cpu").problems
    unfiltered = CliRunner().invoke(main, ["search", "-c", "colours", "--id", sample, "--filter", "split=test",
                                           "--qdrant", str(world["store"]), "--json"])
    assert unfiltered.exit_code == 0 and "half-written" not in unfiltered.output

    finished = CliRunner().invoke(main, arguments)
    assert finished.exit_code == 0, finished.output
    assert json.loads(CliRunner().invoke(main, ["collections", "--qdrant", str(world["store"]), "--json"])
                      .stdout)[0]["half_written"] == []
    assert verify("colours", store=world["store"], sample=2, device="cpu").ok


def test_the_api_collection_info_names_a_half_written_field(tmp_path):
    import numpy as np
    from fastapi.testclient import TestClient

    from embedkit.records import VectorRecord
    from embedkit.serve import ServeSettings, create_app

    with open_store(tmp_path / "store") as store:
        store.ensure_vector("toy", "enc", VectorRecord("enc", 2, "image"))
        store.upsert("toy", "enc", ["a", "b"], np.eye(2, dtype=np.float32), [{}, {}])
        with pytest.raises(RuntimeError), store.writing_fields("toy", ["cluster"], "embedkit cluster -c toy"):
            store.set_payloads("toy", {"a": {"cluster": 1}})
            raise RuntimeError("stopped half-way")  # an error keeps the record, as a kill does
        (info,) = TestClient(create_app(store, ServeSettings()),
                             base_url="http://localhost").get("/api/collections").json()
        assert info["half_written"] == ["payload field 'cluster' of collection 'toy' is half-written (`embedkit "
                                        "cluster -c toy` stopped before the end); run it again to finish it"]
        with store.writing_fields("toy", ["cluster"], "embedkit cluster -c toy"):
            store.set_payloads("toy", {"a": {"cluster": 1}, "b": {"cluster": 0}})
        assert store.half_written("toy") == [] and store.unfinished_fields("toy") == {}
