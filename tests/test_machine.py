"""The cores a process may use (affinity, cgroup quota) and how an ingest splits them."""

from __future__ import annotations

import pytest
import torch

from embedkit import machine
from embedkit.machine import CoreBudget, CoreSplit, cgroup_cpu_quota, cores_available, split_cores


@pytest.fixture
def affinity(monkeypatch):
    def cores(count: int) -> None:
        monkeypatch.setattr(machine.os, "sched_getaffinity", lambda pid: set(range(count)), raising=False)

    return cores


def test_the_cores_are_those_of_the_affinity_not_of_the_machine(affinity, tmp_path, monkeypatch):
    affinity(3)
    monkeypatch.setattr(machine.os, "cpu_count", lambda: 64)
    assert cores_available(tmp_path) == 3


@pytest.mark.parametrize("cpu_max, cores", [("150000 100000\n", 1), ("400000 100000\n", 4), ("max 100000\n", 8),
                                            ("50000 100000\n", 1)])
def test_a_cgroup_v2_quota_caps_the_cores_rounded_down_to_at_least_one(affinity, tmp_path, cpu_max, cores):
    affinity(8)
    (tmp_path / "cpu.max").write_text(cpu_max)
    assert cores_available(tmp_path) == cores


def test_a_cgroup_v1_quota_caps_the_cores_and_minus_one_is_none(affinity, tmp_path):
    affinity(8)
    (tmp_path / "cpu,cpuacct").mkdir()
    (tmp_path / "cpu,cpuacct" / "cpu.cfs_period_us").write_text("100000\n")
    (tmp_path / "cpu,cpuacct" / "cpu.cfs_quota_us").write_text("200000\n")
    assert cgroup_cpu_quota(tmp_path) == 2.0 and cores_available(tmp_path) == 2
    (tmp_path / "cpu,cpuacct" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_quota(tmp_path) is None and cores_available(tmp_path) == 8


def test_without_affinity_the_cpu_count_is_taken(monkeypatch, tmp_path):
    monkeypatch.delattr(machine.os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(machine.os, "cpu_count", lambda: 6)
    assert cores_available(tmp_path) == 6


def test_cheap_decoding_or_one_core_decodes_in_this_process_with_every_core():
    assert split_cores(decoding=0.1, forward=1.0, cores=4) == CoreSplit(workers=0, threads=4)
    assert split_cores(decoding=5.0, forward=1.0, cores=1) == CoreSplit(workers=0, threads=1)


def test_on_two_cores_decoding_a_third_of_the_work_stays_in_this_process():
    # 12 MP JPEGs next to a CNN on 2 cores: a decoding process would take a core the forward pass needs more
    assert split_cores(decoding=0.5, forward=1.0, cores=2) == CoreSplit(workers=0, threads=2)
    # decoding three times the forward pass: both cores decode, and one thread runs the forward pass between
    assert split_cores(decoding=3.0, forward=1.0, cores=2) == CoreSplit(workers=2, threads=1)


def test_decoding_that_fills_cores_gets_them():
    # decoding 3 s a batch on one core, the forward pass 0.5 s on 8 cores: 3 processes decode a batch in 1 s
    # while 5 threads run its forward pass in 0.8 s
    assert split_cores(decoding=3.0, forward=0.5, cores=8) == CoreSplit(workers=3, threads=5)
    # a GPU's forward pass takes next to no CPU: every core decodes, the forward pass keeps one thread
    assert split_cores(decoding=2.0, forward=0.001, cores=16) == CoreSplit(workers=16, threads=1)


def test_a_core_budget_sets_torch_threads_to_the_cores_and_gives_them_back(monkeypatch):
    monkeypatch.delenv(machine.THREADS_VARIABLE, raising=False)
    before = torch.get_num_threads()
    with CoreBudget(cores=3) as budget:
        assert torch.get_num_threads() == 3
        assert budget.split(decoding=3.0, forward=0.3) == 3 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_omp_num_threads_overrides_the_threads_chosen(monkeypatch):
    monkeypatch.setenv(machine.THREADS_VARIABLE, "1")
    before = torch.get_num_threads()
    with CoreBudget(cores=before + 2) as budget:
        assert torch.get_num_threads() == before
        budget.split(decoding=0.0, forward=1.0)
        assert torch.get_num_threads() == before
