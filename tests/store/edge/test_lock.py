"""A lock whose holder is gone is taken over once the processes it forked let go; decoding workers die with
the process that started them, so a re-run right after a kill -9 opens the store."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest

from embedkit.errors import StoreLockedError
from embedkit.ingestion import ingest
from embedkit.store import open_store
from embedkit.store.edge import lock
from embedkit.store.edge.lock import DirectoryLock


def hold_after_death(directory, seconds: float, drop: bool = False) -> int:
    """A process takes the lock, forks a child that lives `seconds` (letting go of the lock first with `drop`, as
    a decoding worker does), and dies at once (as kill -9 would). Returns the child's process id."""
    script = textwrap.dedent(f"""
        import os, time
        from pathlib import Path
        from embedkit.store.edge.lock import DirectoryLock, drop_inherited_locks
        held = DirectoryLock(Path({str(directory)!r}))
        held.acquire()
        child = os.fork()
        if child == 0:
            if {drop}:
                drop_inherited_locks()
            time.sleep({seconds})
            os._exit(0)
        Path({str(directory / "child")!r}).write_text(str(child))
        os._exit(0)
    """)
    # no pipes: the child would hold them open, and reading them to their end would wait for it
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    return int((directory / "child").read_text())


def test_a_lock_whose_holder_is_gone_is_taken_over_with_a_note(tmp_path, caplog):
    hold_after_death(tmp_path, 1.0)
    taken = DirectoryLock(tmp_path)
    with caplog.at_level(logging.WARNING, logger="embedkit.store.edge.lock"):
        assert taken.acquire() is None
    assert "which is gone" in caplog.text
    taken.release()


def test_leftovers_that_keep_it_too_long_are_named(tmp_path, monkeypatch):
    monkeypatch.setattr(lock, "LEFTOVER_WAIT", 0.3)
    hold_after_death(tmp_path, 5.0)
    with pytest.raises(StoreLockedError, match="left over from process .* which is gone; end them"):
        DirectoryLock(tmp_path).acquire()


def test_a_rerun_right_after_a_kill_9_with_decoding_workers_opens_the_store(tmp_path, photos, monkeypatch):
    monkeypatch.setattr(lock, "LEFTOVER_WAIT", 0.0)  # the workers must be gone at once, not after a wait
    folder = tmp_path / "photos"
    (folder / "cat").mkdir(parents=True)
    for index in range(40):  # enough that the workers are still decoding when their parent dies
        photos["cat"].rotate(index).save(folder / "cat" / f"{index}.jpg", quality=90)
    store = tmp_path / "store"
    script = textwrap.dedent(f"""
        import os, signal, time
        from embedkit.encoders.base import Encoder
        real, calls = Encoder.embed_pixels, []

        def embed(self, pixels):  # killed at the second batch, once its workers have filled their queue and wait
            calls.append(1)
            if len(calls) == 2:
                time.sleep(2)
                os.kill(os.getpid(), signal.SIGKILL)
            return real(self, pixels)

        Encoder.embed_pixels = embed
        from embedkit.ingestion import ingest
        ingest("folder:{folder}", "mobilenet_v2.random", image_size=32, device="cpu", store="{store}", workers=2,
               batch_size=2)
    """)
    # not capturing its output: reading the pipes to their end would wait for the workers, which hold them too
    killed = subprocess.run([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            timeout=300)
    assert killed.returncode == -9
    with open_store(store) as opened:  # at once: no model to build first
        assert opened.count("folder-photos") >= 2
    rest = ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=32, device="cpu", store=store, workers=0)
    assert rest.stored + rest.already_stored == 40


def test_a_child_that_dropped_its_inherited_lock_does_not_keep_the_store_after_its_parent_died(tmp_path,
                                                                                             monkeypatch):
    import os
    import signal

    monkeypatch.setattr(lock, "LEFTOVER_WAIT", 0.0)  # no waiting for leftovers: the lock must be free at once
    child = hold_after_death(tmp_path, 30.0, drop=True)
    try:
        os.kill(child, 0)  # the child still lives
        taken = DirectoryLock(tmp_path)
        assert taken.acquire() is None
        taken.release()
    finally:
        os.kill(child, signal.SIGKILL)
