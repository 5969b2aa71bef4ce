"""One option grammar across every command (issue 29): `-k/--k`; `--limit N` the first N and `--sample N` a random
N; `-o/--out` a file and `--out-dir` a folder; payload writes opt-in; old spellings hidden, with a note."""

from __future__ import annotations

import json

import click
import numpy as np
import pytest
from click.testing import CliRunner

from embedkit.cli import main
from embedkit.cli.options import DeprecatedSpelling
from embedkit.records import VectorRecord
from embedkit.store import open_store
from tests.cli.test_fuzz import commands

PAYLOAD_WRITES = {"write", "mark", "write_labels"}
"""The options that write into stored payloads: flags, off unless given."""


def options():
    for path, command in commands(main):
        for param in command.params:
            if isinstance(param, click.Option):
                yield " ".join(path), command, param


def visible():
    return [(path, command, param) for path, command, param in options() if not param.hidden]


def is_folder(param: click.Option) -> bool:
    return isinstance(param.type, click.Path) and not param.type.file_okay


def test_k_is_spelt_dash_k_and_double_dash_k_wherever_it_is_an_option():
    for path, _, param in visible():
        if "-k" in param.opts or "--k" in param.opts:
            assert {"-k", "--k"} <= set(param.opts), (path, param.opts)


def test_out_names_a_file_out_dir_a_folder_and_o_is_always_out():
    for path, _, param in visible():
        if "--out" in param.opts or "-o" in param.opts:
            assert {"-o", "--out"} <= set(param.opts) and not is_folder(param), (path, param.opts)
        if "--out-dir" in param.opts:
            assert is_folder(param), path
        assert "--output" not in param.opts, path
        if is_folder(param) and param.name in ("out", "out_dir"):
            assert "--out-dir" in param.opts, (path, param.opts)


def test_limit_is_the_first_n_and_sample_a_random_n_in_every_help():
    limits = [(path, param) for path, _, param in visible() if "--limit" in param.opts]
    assert len(limits) >= 6
    for path, param in limits:
        assert "first" in param.help and "random" not in param.help, (path, param.help)
    for path, _, param in visible():
        if "--sample" in param.opts and path != "verify":
            assert "random" in param.help, (path, param.help)
    sampled = {path for path, _, param in visible() if "--sample" in param.opts}
    assert {"cluster", "map", "train", "tune"} <= sampled


def test_payload_writes_are_flags_off_by_default_and_say_what_they_write():
    found = set()
    for path, _, param in visible():
        if param.name in PAYLOAD_WRITES:
            found.add(path)
            assert param.is_flag and param.default is not True and not param.secondary_opts, (path, param.opts)
            assert "payload" in param.help or "--field" in param.help, (path, param.help)
    assert {"cluster", "duplicates", "classify"} <= found


def test_an_old_spelling_is_hidden_and_fills_the_option_that_replaced_it():
    old = [(path, command, param) for path, command, param in options() if isinstance(param, DeprecatedSpelling)]
    assert len(old) >= 8
    for path, command, param in old:
        assert param.hidden
        replacement = [p for p in command.params if p.name == param.target and not getattr(p, "hidden", False)]
        assert replacement, (path, param.opts)
        assert not param.instead or param.instead.split("/")[-1] in replacement[0].opts, (path, param.instead)


@pytest.fixture
def store(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    with open_store(tmp_path / "store") as opened:
        opened.ensure_vector("toy", "enc", VectorRecord("enc", 4, "image"))
        opened.upsert("toy", "enc", [f"s{i:02d}" for i in range(12)], vectors,
                      [{"label": i % 3, "split": "test"} for i in range(12)])
    return tmp_path / "store"


def invoke(*args: object):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def test_an_old_spelling_works_as_before_and_says_which_to_use(store, tmp_path):
    old = invoke("export", "-c", "toy", "--output", tmp_path / "old.npy", "--qdrant", store)
    new = invoke("export", "-c", "toy", "-o", tmp_path / "new.npy", "--qdrant", store)
    assert old.exit_code == 0 and new.exit_code == 0, old.output + new.output
    assert "note: --output is deprecated; use -o/--out" in old.stderr and "deprecated" not in new.stderr
    assert np.array_equal(np.load(tmp_path / "old.npy"), np.load(tmp_path / "new.npy"))
    folder = tmp_path / "groups"
    duplicates = invoke("duplicates", "-c", "toy", "--threshold", "0.01", "--out", folder, "--qdrant", store, "--json")
    assert duplicates.exit_code == 0, duplicates.output
    assert "note: --out is deprecated; use --out-dir" in duplicates.stderr
    assert json.loads(duplicates.stdout)["groups"] and any(folder.glob("group-*.png"))


def test_a_required_out_missing_in_both_spellings_is_one_error_line(store):
    result = invoke("export", "-c", "toy", "--qdrant", store)
    assert result.exit_code == 2 and "Missing option '-o' / '--out'" in result.stderr
