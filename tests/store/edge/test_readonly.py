"""An embedded store this process may not write: reads work on temporary copies, writes fail in one line,
and nothing in the store changes.

The store is made read-only two ways, each skipped where this machine cannot do it: a folder without write
permission (`chmod -R a-w`; as root, which permissions do not stop, the reader runs without
CAP_DAC_OVERRIDE), and a read-only bind mount in a private mount namespace (`unshare`). The commands run in
one child process that sees the store that way.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from embedkit import get_encoder
from embedkit.cli import main
from embedkit.errors import StoreLockedError
from embedkit.ingestion import ingest
from embedkit.store import open_store
from embedkit.store.edge.lock import DirectoryLock
from embedkit.store.edge.readonly import copy_sparse
from tests.support.photos import PER_CLASS, make_photo_folder

COLLECTION = "folder-photos"
VECTOR = "mobilenet_v2.random-64px"
SAMPLE = "folder/cat/3.jpg"

RUN_COMMANDS = """
import json, sys
from click.testing import CliRunner
from embedkit.cli import main
results = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(main, args)
    crash = None if result.exception is None or isinstance(result.exception, SystemExit) else repr(result.exception)
    results.append({"exit_code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr, "crash": crash})
print(json.dumps(results))
"""

DROP_CAPABILITIES = ["setpriv", "--bounding-set=-dac_override,-fowner", "--inh-caps=-all"]
PROBE = """
import errno, sys
try:
    open(sys.argv[1], "w").close()
    print("written")
except OSError as error:
    print("refused" if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else error)
"""
READ_ONLY_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'


def make_read_only(mode: str, root: Path) -> list[str]:
    """Make `root` read-only for the commands run after the returned prefix; skip where this cannot be done."""
    if mode == "permissions":
        subprocess.run(["chmod", "-R", "a-w", str(root)], check=True)
        prefix = DROP_CAPABILITIES if os.geteuid() == 0 else []
    else:
        prefix = ["unshare", "-m" if os.geteuid() == 0 else "-rm", "sh", "-c", READ_ONLY_MOUNT, str(root)]
    try:
        probe = subprocess.run([*prefix, sys.executable, "-c", PROBE, str(root / "probe")], capture_output=True,
                               text=True)
    except FileNotFoundError as error:
        pytest.skip(f"{mode}: {error.filename} is not installed")
    if probe.stdout.strip() == "written":
        os.unlink(root / "probe")
        pytest.skip(f"{mode}: permissions do not stop this process's writes (root), and setpriv could not drop "
                    f"CAP_DAC_OVERRIDE")
    if probe.stdout.strip() != "refused":
        pytest.skip(f"{mode}: cannot make a folder read-only here ({probe.stderr.strip().splitlines()[-1:]})")
    return prefix


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under `root`: its content hash, modification time and mode."""
    seen = {}
    for path in sorted(root.rglob("*")):
        info = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        seen[str(path.relative_to(root))] = (digest, info.st_mtime_ns, info.st_mode)
    return seen


def run_commands(prefix: list[str], commands: list[list[str]], tmp: Path) -> list[dict]:
    env = {**os.environ, "TMPDIR": str(tmp)}
    done = subprocess.run([*prefix, sys.executable, "-c", RUN_COMMANDS, json.dumps(commands)], capture_output=True,
                          text=True, env=env, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["crash"] for r in results] == [None] * len(results), results
    return results


@pytest.fixture(scope="module")
def made(tmp_path_factory, photos) -> tuple[Path, Path, dict]:
    """A photo folder, the store ingest made of it, and what a search of that store answered."""
    base = tmp_path_factory.mktemp("made")
    folder = make_photo_folder(base / "photos", photos)
    encoder = get_encoder("mobilenet_v2.random", image_size=64, device="cpu")
    report = ingest(f"folder:{folder}", encoder, store=base / "store", workers=0)
    assert (report.collection, report.vector_name, report.stored) == (COLLECTION, VECTOR, 2 * PER_CLASS)
    searched = CliRunner().invoke(main, search_args(base / "store"), catch_exceptions=False)
    return folder, base / "store", json.loads(searched.stdout)


def search_args(root: Path) -> list[str]:
    return ["search", "-c", COLLECTION, "--id", SAMPLE, "-k", "3", "--qdrant", str(root), "--json"]


@pytest.fixture(scope="module", params=["permissions", "mount"])
def outcome(request, tmp_path_factory, made):
    """Reads and writes of a read-only store, as the CLI ran them, with the store before and after."""
    base = tmp_path_factory.mktemp(f"read-only-{request.param}")
    folder, root = made[0], base / "store"
    shutil.copytree(made[1], root)
    (base / "out").mkdir()
    (base / "tmp").mkdir()
    store = ["--qdrant", str(root)]
    try:
        prefix = make_read_only(request.param, root)
        before = snapshot(root)
        results = run_commands(prefix, [
            ["collections", *store, "--json"],
            search_args(root),
            ["export", "-c", COLLECTION, "-o", str(base / "out" / "x.parquet"), *store, "--json"],
            ["push", "-c", COLLECTION, "--to", f"local:{base / 'out' / 'q'}", *store, "--json"],
            ["ingest", f"folder:{folder}", "-e", "mobilenet_v2.random", "--image-size", "64", "--device", "cpu",
             "--workers", "0", *store],
            ["delete", "-c", COLLECTION, "--id", SAMPLE, "--yes", *store],
            ["collections", "drop", COLLECTION, *store],
            ["collections", "default", COLLECTION, VECTOR, *store],
        ], base / "tmp")
        yield {"results": results, "before": before, "after": snapshot(root), "tmp": base / "tmp", "base": base,
               "writable_search": made[2]}
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(root)], check=True)


def test_a_read_only_store_lists_searches_exports_and_pushes(outcome):
    listed, searched, exported, pushed = outcome["results"][:4]
    assert [r["exit_code"] for r in (listed, searched, exported, pushed)] == [0, 0, 0, 0], outcome["results"][:4]
    [info] = json.loads(listed["stdout"])
    assert (info["name"], info["points"], info["default_vector"]) == (COLLECTION, 2 * PER_CLASS, VECTOR)
    hits = json.loads(searched["stdout"])["hits"]
    assert len(hits) == 3 and hits == outcome["writable_search"]["hits"]  # what the writable store answered
    assert json.loads(exported["stdout"])["points"] == 2 * PER_CLASS
    assert (outcome["base"] / "out" / "x.parquet").stat().st_size > 0
    assert json.loads(pushed["stdout"])["points"] == {VECTOR: 2 * PER_CLASS}


@pytest.mark.parametrize("index, action", [(4, "add vector"), (5, "delete points of collection"),
                                           (6, "drop collection"), (7, "set the default vector")])
def test_a_write_to_a_read_only_store_is_one_line_naming_the_remedy(outcome, index, action):
    result = outcome["results"][index]
    assert result["exit_code"] == 1
    assert result["stdout"] == "" and len(result["stderr"].strip().splitlines()) == 1, result
    line = result["stderr"].strip()
    assert line.startswith(f"error: cannot {action}") and "is read-only here" in line, line
    assert "cp -r" in line and "chmod -R u+w NEW_DIR" in line and "--qdrant NEW_DIR" in line
    assert "?" not in line  # drop refuses before asking for a confirmation


def test_nothing_in_a_read_only_store_changes_and_its_copies_are_removed(outcome):
    assert outcome["after"] == outcome["before"]
    assert ".embedkit.lock" in outcome["before"]
    assert list(outcome["tmp"].iterdir()) == []


def test_a_read_only_store_that_a_writer_holds_is_refused_naming_the_writer(tmp_path, made):
    root = tmp_path / "store"
    shutil.copytree(made[1], root)
    (tmp_path / "tmp").mkdir()
    with open_store(root) as writer:
        assert writer.read_only is False
        try:
            prefix = make_read_only("permissions", root)
            [listed] = run_commands(prefix, [["collections", "--qdrant", str(root)]], tmp_path / "tmp")
        finally:
            subprocess.run(["chmod", "-R", "u+w", str(root)], check=True)
        assert listed["exit_code"] == 1
        assert f"is being written by process {os.getpid()}; wait for that process" in listed["stderr"]
        assert writer.count(COLLECTION) == 2 * PER_CLASS


def test_a_copy_keeps_a_files_data_and_its_holes(tmp_path):
    source = tmp_path / "sparse"
    with open(source, "wb") as handle:
        handle.write(b"head")
        handle.seek(32 << 20)
        handle.write(b"tail")
        handle.seek(48 << 20)
        handle.truncate()
    copy_sparse(source, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == source.read_bytes()
    assert (tmp_path / "copy").stat().st_blocks * 512 < 1 << 20


def test_a_writer_that_opens_a_store_while_a_reader_copies_it_is_told_to_retry(tmp_path):
    (tmp_path / "store").mkdir()
    with open_store(tmp_path / "store"):
        pass
    with DirectoryLock(tmp_path / "store").shared():  # what a reader of a read-only store holds while copying
        with pytest.raises(StoreLockedError, match="is being copied by a process that reads it read-only; retry"):
            open_store(tmp_path / "store")
    open_store(tmp_path / "store").close()
