"""The `embedkit` command: a thin click layer over the Python API (the group itself is in group.py)."""

from __future__ import annotations

import sys

try:
    from embedkit.cli.group import ErrorReportingGroup, main
except KeyboardInterrupt:  # Ctrl-C while the commands load, before the group can catch it: no traceback
    sys.stderr.write("interrupted\n")
    sys.exit(130)

__all__ = ["ErrorReportingGroup", "main"]
