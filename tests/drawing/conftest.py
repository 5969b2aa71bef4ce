"""The coloured images stored once per module (the analysis tests' fixture): maps to draw from."""

from tests.analysis.conftest import ingested  # noqa: F401
