"""Wrapped errors: one line for the user, the original cause kept for --debug."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import embedkit
from embedkit.cli import main
from embedkit.errors import ImageLoadError, InvalidOptionError


def test_a_wrapped_error_keeps_its_cause(tmp_path):
    with pytest.raises(ImageLoadError, match="does not exist") as caught:
        embedkit.load_image(tmp_path / "missing.jpg")
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_a_bad_option_keeps_the_parsers_error():
    from embedkit.encoders.ensemble import parse_members

    with pytest.raises(InvalidOptionError, match="not a number") as caught:
        parse_members("resnet50*heavy+vgg16")
    assert isinstance(caught.value.__cause__, ValueError)


def test_the_cli_shows_one_line_and_debug_shows_the_chain(tmp_path):
    missing = str(tmp_path / "missing.jpg")
    plain = CliRunner().invoke(main, ["embed", missing, "-e", "mobilenet_v2"])
    assert plain.exit_code == 1
    assert plain.stderr.count("\n") == 1 and "Traceback" not in plain.stderr
    debug = CliRunner().invoke(main, ["--debug", "embed", missing, "-e", "mobilenet_v2"])
    assert isinstance(debug.exception, ImageLoadError)
    assert isinstance(debug.exception.__cause__, FileNotFoundError)


def test_no_error_is_raised_from_none():
    package = Path(embedkit.__file__).parent
    hiding = [f"{path.relative_to(package)}:{number}" for path in package.rglob("*.py")
              for number, line in enumerate(path.read_text().splitlines(), 1) if "from None" in line]
    assert hiding == []
