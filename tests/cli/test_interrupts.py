"""Ctrl-C and SIGTERM to a long job's process group (a terminal, `timeout`, systemd): the job says what it did and
how to go on, exits 130 or 143, and no decoding worker prints a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from PIL import Image

from embedkit.store import open_store

IMAGES = 24


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "shapes"
    for label, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        (root / label).mkdir(parents=True)
        for index in range(IMAGES // 2):
            Image.new("RGB", (96, 64), tuple(min(255, c + 9 * index) for c in colour)).save(root / label / f"{index}.png")
    return root


def slow_ingest(folder, location, marker, extra=()):
    """An ingest with two decoding workers whose encoder takes 0.2 s a batch and touches `marker` at its third."""
    return textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from embedkit.encoders.base import Encoder
        real, calls = Encoder.embed_pixels, []

        def embed(self, pixels):
            calls.append(1)
            if len(calls) == 3:
                Path({str(marker)!r}).touch()
            time.sleep(0.2)
            return real(self, pixels)

        Encoder.embed_pixels = embed
        sys.argv = ["embedkit", *{list(extra)!r}, "ingest", "folder:{folder}", "-e", "mobilenet_v2.random",
                    "--image-size", "32", "--batch-size", "2", "--workers", "2", "--device", "cpu",
                    "--qdrant", "{location}"]
        from embedkit.__main__ import run
        run()
    """)


def start_and_signal(script, marker, sig):
    # its own process group, as `timeout` makes; Ctrl-C not ignored, as at a terminal (a shell's background job,
    # where the suite may run, ignores it, and Python then installs no KeyboardInterrupt for it)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, sig)  # the parent and its decoding workers, as `timeout` and a terminal send it
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr


@pytest.mark.parametrize("sig, exit_code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_to_the_process_group_ends_an_ingest_with_workers_quietly(folder, tmp_path, sig, exit_code):
    marker, location = tmp_path / "third-batch", tmp_path / "store"
    code, stdout, stderr = start_and_signal(slow_ingest(folder, location, marker), marker, sig)
    assert code == exit_code, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr and "killed by signal" not in stderr
    assert "interrupted; run again to finish" in stdout
    with open_store(location) as store:
        stored = sum(len(ids) for ids, _, _ in store.iter_points("folder-shapes", ["mobilenet_v2.random-32px"]))
    assert f"stored {stored}," in stdout and 0 < stored < IMAGES
