"""`auto` precision by what the device computes natively, the warning for an emulated one, and collections that
stay compatible across precisions."""

from __future__ import annotations

import logging

import pytest
import torch

from embedkit import get_encoder
from embedkit.encoders import precision
from embedkit.encoders.precision import choose_precision
from embedkit.errors import InvalidOptionError
from embedkit.ingestion import ingest
from embedkit.store import open_store
from tests.support.photos import PER_CLASS, make_photo_folder

REAL_CPU_NATIVE = precision.cpu_native  # conftest pins every CPU as one without native bf16; these tests ask torch


@pytest.fixture
def cpu(monkeypatch):
    """Make torch report a CPU: `cpu(capability, onednn_bf16, avx512_bf16=..., amx=...)`."""
    monkeypatch.setattr(precision, "cpu_native", REAL_CPU_NATIVE)
    monkeypatch.delenv(precision.PRECISION_VARIABLE, raising=False)
    monkeypatch.setattr(precision.platform, "machine", lambda: "x86_64")

    def report(capability: str, onednn_bf16: bool, *, avx512_bf16: bool = False, amx: bool = False,
               amx_fp16: bool = False) -> None:
        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: onednn_bf16)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
        monkeypatch.setattr(torch.cpu, "_is_amx_fp16_supported", lambda: amx_fp16)
        precision.forget_choices()

    yield report
    precision.forget_choices()


@pytest.fixture
def gpu(monkeypatch):
    """Make torch report a CUDA GPU that does (or does not) compute bf16."""
    monkeypatch.delenv(precision.PRECISION_VARIABLE, raising=False)

    def report(bf16: bool, name: str = "NVIDIA Test") -> None:
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: bf16)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
        precision.forget_choices()

    yield report
    precision.forget_choices()


def precision_records(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == precision.__name__ and r.levelno == level]


def test_auto_picks_fp32_on_a_cpu_that_emulates_bf16(cpu):
    cpu("AVX2", False)
    choice = choose_precision("auto", "cpu")
    assert (choice.precision, choice.asked) == ("fp32", "auto")
    assert "emulates bf16 (AVX2)" in choice.reason
    encoder = get_encoder("mobilenet_v2.random", image_size=32, device="cpu")
    assert encoder.precision == encoder.record.precision == "fp32"
    assert encoder.precision_choice == choice


def test_avx512_without_bf16_instructions_is_no_native_bf16(cpu):
    cpu("AVX512", True)  # oneDNN runs bf16 on any AVX-512 CPU, emulating it without AVX512-BF16
    assert choose_precision("auto", "cpu").precision == "fp32"


@pytest.mark.parametrize("features, shown", [({"avx512_bf16": True}, "AVX512-BF16"), ({"amx": True}, "AMX")])
def test_auto_picks_bf16_where_torch_says_the_cpu_computes_it_natively(cpu, features, shown):
    cpu("AVX512", True, **features)
    choice = choose_precision("auto", "cpu")
    assert choice.precision == "bf16" and f"natively ({shown})" in choice.reason
    assert get_encoder("mobilenet_v2.random", image_size=32, device="cpu").record.precision == "bf16"


def test_an_arm_cpu_computes_bf16_where_onednn_does(cpu, monkeypatch):
    cpu("DEFAULT", True)
    monkeypatch.setattr(precision.platform, "machine", lambda: "aarch64")
    assert choose_precision("auto", "cpu").precision == "bf16"


def test_auto_on_a_gpu_is_bf16_where_it_computes_it_else_fp16(gpu):
    gpu(True, "NVIDIA H100")
    choice = choose_precision("auto", "cuda")
    assert choice.precision == "bf16" and "NVIDIA H100" in choice.reason
    gpu(False, "Tesla T4")
    assert choose_precision("auto", "cuda").precision == "fp16"
    assert choose_precision("auto", "cuda", training=True).precision == "fp32"  # fp16 training needs a grad scaler


def test_auto_is_said_once_in_one_line(cpu, caplog):
    cpu("AVX2", False)
    with caplog.at_level(logging.INFO, logger=precision.__name__):
        get_encoder("mobilenet_v2.random", image_size=32, device="cpu")
        get_encoder("mobilenet_v2.random", image_size=32, device="cpu")
        choose_precision("auto", "cpu", training=True)  # train chooses for training too: the same line, not again
    (line,) = precision_records(caplog, logging.INFO)
    assert line == "precision auto -> fp32: this CPU emulates bf16 (AVX2); fp32 is faster here"


def test_an_emulated_precision_given_is_kept_with_one_warning_that_says_what_to_use(cpu, caplog):
    cpu("AVX2", False)
    with caplog.at_level(logging.INFO, logger=precision.__name__):
        encoder = get_encoder("mobilenet_v2.random", image_size=32, device="cpu", precision="bf16")
        get_encoder("mobilenet_v2.random", image_size=32, device="cpu", precision="bf16")
    assert encoder.precision == "bf16"
    assert precision_records(caplog, logging.WARNING) == [
        "this CPU emulates bf16 (AVX2): fp32 is faster here; use --precision auto or fp32"]
    assert precision_records(caplog, logging.INFO) == []


def test_fp16_on_a_cpu_without_amx_fp16_is_emulated_and_bf16_with_it_is_not(cpu, caplog):
    cpu("AVX512", True, avx512_bf16=True)
    with caplog.at_level(logging.WARNING, logger=precision.__name__):
        assert choose_precision("bf16", "cpu").precision == "bf16"
        assert choose_precision("fp16", "cpu").precision == "fp16"
        assert choose_precision("fp32", "cpu").reason == "given"
    assert precision_records(caplog, logging.WARNING) == [
        "this CPU emulates fp16 (AVX512): fp32 is faster here; use --precision auto or fp32"]


def test_bf16_given_on_a_gpu_without_it_warns_to_use_fp16(gpu, caplog):
    gpu(False, "Tesla T4")
    with caplog.at_level(logging.WARNING, logger=precision.__name__):
        assert choose_precision("bf16", "cuda").precision == "bf16"
    assert precision_records(caplog, logging.WARNING) == [
        "Tesla T4 emulates bf16: fp16 is faster here; use --precision auto or fp16"]


def test_the_precision_variable_is_what_auto_means_and_a_bad_value_is_one_line(cpu, monkeypatch):
    cpu("AVX512", True, avx512_bf16=True)
    monkeypatch.setenv(precision.PRECISION_VARIABLE, "fp32")
    precision.forget_choices()
    assert choose_precision("auto", "cpu") == precision.PrecisionChoice("fp32", "auto", "$EMBEDKIT_PRECISION says so")
    assert choose_precision("bf16", "cpu").precision == "bf16"  # a precision given is kept
    monkeypatch.setenv(precision.PRECISION_VARIABLE, "fp8")
    precision.forget_choices()
    with pytest.raises(InvalidOptionError, match=r"\$EMBEDKIT_PRECISION is 'fp8'; set it to one of fp32, fp16, bf16"):
        choose_precision("auto", "cpu")


def test_an_unknown_precision_names_auto_among_the_choices():
    with pytest.raises(InvalidOptionError, match="use one of auto, fp32, fp16, bf16"):
        choose_precision("int3", "cpu")


def test_an_fp32_collection_takes_bf16_vectors_under_the_same_name_without_duplicates(tmp_path, photos, cpu):
    cpu("AVX2", False)
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    location = tmp_path / "store"
    first = ingest(f"folder:{folder}", get_encoder("mobilenet_v2.random", image_size=32, device="cpu",
                                                  precision="fp32"), store=location, limit=PER_CLASS, workers=0)
    bf16 = get_encoder("mobilenet_v2.random", image_size=32, device="cpu", precision="bf16")
    second = ingest(f"folder:{folder}", bf16, store=location, workers=0)
    assert (first.stored, second.stored, second.already_stored) == (PER_CLASS, PER_CLASS, PER_CLASS)
    assert second.vector_name == first.vector_name and not second.failures
    with open_store(location) as store:
        assert store.vector_names(first.collection) == [first.vector_name]
        ids = [i for batch, _, _ in store.iter_points(first.collection, [first.vector_name]) for i in batch]
        assert len(ids) == len(set(ids)) == store.count(first.collection) == 2 * PER_CLASS
        assert store.vector_record(first.collection, first.vector_name).precision == "fp32"  # as first recorded
        (hit,) = store.search(first.collection, first.vector_name, bf16.encode_images([folder / "cat" / "3.jpg"])[0], 1)
    assert hit.sample_id == "folder/cat/3.jpg"  # a bf16 query finds fp32 vectors
