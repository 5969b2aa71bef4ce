"""`embedkit encoders [PATTERN] [--json]`: a glob over names and aliases; the table and the JSON list the same."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from embedkit.cli import main


def invoke(*args: str):
    result = CliRunner().invoke(main, ["encoders", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def table_rows(output: str) -> dict[str, str]:
    """The table's rows: name -> alias cell."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("─")) + 1
    cells = [line.split() for line in lines[start:] if line.strip()]
    return {row[0]: row[1] for row in cells}


def test_a_glob_over_aliases_lists_the_family_with_the_aliases_it_matched():
    (row,) = json.loads(invoke("clip:ViT-B-32*", "--json").stdout)
    assert row["name"] == "clip:" and "clip:ViT-B-32/openai" in row["aliases"]
    assert all(alias.startswith("clip:ViT-B-32") for alias in row["aliases"])  # not RN50's, not ViT-L-14's
    assert table_rows(invoke("clip:ViT-B-32*").stdout) == {"clip:": "clip:ViT-B-32/openai"}


def test_a_glob_that_matches_the_name_shows_every_alias():
    (row,) = json.loads(invoke("clip*", "--json").stdout)
    assert "clip:RN50/openai" in row["aliases"] and "clip:ViT-L-14/openai" in row["aliases"]
    (densenet,) = json.loads(invoke("densenet*", "--json").stdout)
    assert densenet["aliases"] == ["densenet121", "densenet-121"]


@pytest.mark.parametrize("pattern", ["clip:ViT-B-32*", "RESNET*", "*-50", "mobilenet*", "*lite1*", "st:*", "vgg16"])
def test_the_table_and_the_json_list_the_same_entries_with_the_same_first_alias(pattern):
    rows = json.loads(invoke(pattern, "--json").stdout)
    assert rows, pattern
    assert table_rows(invoke(pattern).stdout) == {row["name"]: (row["aliases"] or ["-"])[0] for row in rows}


def test_a_glob_that_matches_nothing_says_so_in_one_line_and_how_to_list_all():
    result = invoke("nothing*")
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "no encoder name or alias matches 'nothing*'" in line and "`embedkit encoders` lists all" in line
    assert json.loads(invoke("nothing*", "--json").stdout) == []


def test_an_empty_match_suggests_close_names_and_a_familys_prefix():
    assert "did you mean 'resnet50'" in invoke("resnt*").stderr
    assert "did you mean 'clip:vit*'" in invoke("vit*").stderr
