"""The `embedkit` command's entry point: signals are handled before anything else loads, so that Ctrl-C or
SIGTERM while the commands load ends in one line and exit 130 or 143, never in a traceback."""

from __future__ import annotations

import signal
from types import FrameType


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds like an exception: open stores close, locks are released


def run() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # a long command (ingest) installs its own while it works
    from embedkit.cli import main  # Ctrl-C while this loads: embedkit.cli says so in one line

    main()


if __name__ == "__main__":
    run()
