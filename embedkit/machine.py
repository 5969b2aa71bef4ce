"""The cores this process may use, and how an ingest splits them between the forward pass and decoding.

The cores are counted from the CPU affinity (`os.sched_getaffinity`) and a cgroup's CPU quota (a container's
`cpu.max`, or cgroup v1's CFS quota), not from `os.cpu_count()`, which counts the whole machine. Torch's
intra-op threads follow the cores unless `OMP_NUM_THREADS` says otherwise; `--workers` sets the decoding
processes. The store is written by one thread beside the forward pass: an ingest keeps one batch in flight.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

CGROUP = Path("/sys/fs/cgroup")
INLINE_DECODING_SHARE = 0.15
"""Decoding in the main process up to this share of the forward pass's time: worker processes would take more
from the forward pass than they give."""
THREADS_VARIABLE = "OMP_NUM_THREADS"
"""Torch's intra-op threads, when set: then embedkit leaves them as they are."""


def cores_available(cgroup: Path = CGROUP) -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup CPU quota (rounded down, at least 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup)
    if quota is not None:
        cores = min(cores, max(1, math.floor(quota)))
    return max(1, cores)


def cgroup_cpu_quota(cgroup: Path = CGROUP) -> float | None:
    """The CPUs a cgroup quota allows (`cpu.max` "200000 100000" is 2.0); None when there is no quota."""
    try:
        quota, _, period = (cgroup / "cpu.max").read_text().partition(" ")
        return None if quota.strip() == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    for folder in ("cpu", "cpu,cpuacct"):  # cgroup v1
        try:
            quota_us = int((cgroup / folder / "cpu.cfs_quota_us").read_text())
            period_us = int((cgroup / folder / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    return None


@dataclass(frozen=True)
class CoreSplit:
    """Decoding processes and the forward pass's threads."""

    workers: int
    threads: int


def split_cores(decoding: float, forward: float, cores: int) -> CoreSplit:
    """How to split `cores` when decoding a batch takes `decoding` seconds in one process and its forward pass
    `forward` seconds on all the cores.

    Decoding stays in this process when it costs at most INLINE_DECODING_SHARE of the forward pass, or when
    there is one core. Otherwise the split whose batch takes least: in this process a batch takes decoding +
    forward; with W decoding processes beside T = cores - W forward threads (at least one), the slower of the
    two, decoding / W and forward x cores / T. So on 2 cores a decoding process pays off only when decoding
    takes longer than the forward pass would lose (measured in benchmarks/threads.py: 12 MP JPEGs with a CNN
    decode fastest in this process there).
    """
    inline = CoreSplit(0, cores)
    if cores <= 1 or decoding <= INLINE_DECODING_SHARE * forward:
        return inline
    best, least = inline, decoding + forward
    for workers in range(1, cores + 1):
        threads = max(1, cores - workers)
        taken = max(decoding / workers, forward * cores / threads)
        if taken < least:
            best, least = CoreSplit(workers, threads), taken
    return best


class CoreBudget:
    """Torch's intra-op threads set to the cores available for a run, and given back after it.

    `split` then moves cores to decoding processes by the first batch's timings. With OMP_NUM_THREADS set,
    the threads are left as it says.
    """

    def __init__(self, cores: int | None = None):
        self.cores = cores_available() if cores is None else cores
        self._before: int | None = None

    def __enter__(self) -> CoreBudget:
        import torch

        self._before = torch.get_num_threads()
        self._use(self.cores)
        return self

    def split(self, decoding: float, forward: float) -> int:
        """The decoding processes to start, the forward pass's threads set to what they leave."""
        chosen = split_cores(decoding, forward, self.cores)
        self._use(chosen.threads)
        log.info("%d core(s): %d decoding process(es), %d forward thread(s)", self.cores, chosen.workers,
                 chosen.threads)
        return chosen.workers

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._before is not None:
            self._use(self._before, given=True)

    def _use(self, threads: int, given: bool = False) -> None:
        import torch

        if (given or not os.environ.get(THREADS_VARIABLE)) and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
