"""`run(*args)`: the `embedkit` command run in this process, its arguments turned into strings."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from embedkit.cli import main


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: object):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke
