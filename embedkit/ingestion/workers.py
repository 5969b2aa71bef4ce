"""DataLoader worker processes that end with the process that started them.

A worker is forked with the parent's open files, among them the store's lock and Qdrant Edge's WAL: one that
outlived a killed parent (PyTorch's workers notice only seconds later) would keep the store locked.

Ctrl-C and SIGTERM reach the workers too when they are sent to the process group (a terminal, `timeout`, systemd):
the workers ignore both and the parent decides. PyTorch's own SIGTERM handler in a worker re-raises a SIGTERM
that its parent did not send, and the parent then fails with "DataLoader worker ... is killed by signal:
Terminated" in the middle of finishing the batches in flight.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

from embedkit.store.edge.lock import drop_inherited_locks

PR_SET_PDEATHSIG = 1


def die_with_parent(worker_id: int) -> None:
    """`worker_init_fn` for a DataLoader: the worker lets go of the store locks it inherited, leaves Ctrl-C and SIGTERM
    to its parent, which ends it, and the kernel kills it when its parent dies (Linux)."""
    drop_inherited_locks()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
