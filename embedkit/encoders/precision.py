"""The precisions an encoder computes in, and the one `auto` picks for a device: the names are known without
importing torch; `choose_precision` asks torch what the device computes natively."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import platform
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from embedkit.errors import InvalidOptionError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

Precision = Literal["fp32", "fp16", "bf16"]
PRECISION_NAMES: tuple[str, ...] = get_args(Precision)
AUTO = "auto"
PRECISION_OPTIONS: tuple[str, ...] = (AUTO, *PRECISION_NAMES)
"""What `--precision` offers: `auto`, the default, picks the fastest precision the device computes natively."""
PRECISION_VARIABLE = "EMBEDKIT_PRECISION"
"""When set (fp32, fp16 or bf16), what `auto` means: the same vectors on every machine, e.g. in a test suite."""


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision an encoder computes in, what was asked for, and why."""

    precision: str
    """fp32, fp16 or bf16."""
    asked: str
    """auto, or the precision given."""
    reason: str

    @property
    def line(self) -> str:
        """The choice in one line, as it is logged."""
        return f"precision {self.asked} -> {self.precision}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_precision(precision: str) -> str:
    if precision not in PRECISION_OPTIONS:
        raise InvalidOptionError(f"unknown precision {precision!r}; use one of {', '.join(PRECISION_OPTIONS)}")
    return precision


def choose_precision(asked: str, device: str | torch.device = "cpu", *, training: bool = False) -> PrecisionChoice:
    """The precision to compute in on `device` when `asked` for one (or `auto`).

    `auto`: what $EMBEDKIT_PRECISION says when it is set; else on a CUDA GPU, bf16 where it computes bf16, else fp16 (fp32 for `training`, which has no gradient
    scaler that fp16 would need); on a CPU, bf16 where the CPU computes it natively (AVX512-BF16 or AMX, as
    torch reports it), else fp32. The choice is logged once (INFO); a precision given that the device would
    emulate is kept, with one warning that says what to use instead.
    """
    return _choice(check_precision(asked), str(device), training)


def forget_choices() -> None:
    """Ask torch again on the next choice (and log it again): for tests that change what torch reports."""
    _choice.cache_clear()
    _SAID.clear()


@functools.lru_cache(maxsize=None)
def _choice(asked: str, device: str, training: bool) -> PrecisionChoice:
    pinned = os.environ.get(PRECISION_VARIABLE, "").strip().lower()
    if asked == AUTO and pinned:
        if pinned not in PRECISION_NAMES:
            raise InvalidOptionError(f"${PRECISION_VARIABLE} is {pinned!r}; set it to one of "
                                     f"{', '.join(PRECISION_NAMES)}, or unset it for the device's fastest")
        return PrecisionChoice(pinned, AUTO, f"${PRECISION_VARIABLE} says so")  # the user's own choice: not said
    kind = device.partition(":")[0]
    if kind == "cuda":
        fast, name = _cuda_fast(device, training)
        if asked == AUTO:
            reason = (f"{name} computes bf16" if fast == "bf16" else
                      f"{name} has no bf16, and fp16 training would need a gradient scaler" if training else
                      f"{name} has no bf16; fp16 is its fast precision")
            return _said(PrecisionChoice(fast, AUTO, reason))
        if asked == "bf16" and fast != "bf16":
            return _warned(PrecisionChoice(asked, asked, f"{name} emulates bf16"), "fp16")
        return PrecisionChoice(asked, asked, "given")
    if kind != "cpu":
        return PrecisionChoice("fp32" if asked == AUTO else asked, asked, f"{kind} is not a CUDA GPU or a CPU")
    if asked == "fp32":
        return PrecisionChoice(asked, asked, "given")
    native, has = cpu_native("bf16" if asked == AUTO else asked)
    if asked == AUTO:
        if native:
            return _said(PrecisionChoice("bf16", AUTO, f"this CPU computes bf16 natively ({has})"))
        return _said(PrecisionChoice("fp32", AUTO, f"this CPU emulates bf16 ({has}); fp32 is faster here"))
    if not native:
        return _warned(PrecisionChoice(asked, asked, f"this CPU emulates {asked} ({has})"), "fp32")
    return PrecisionChoice(asked, asked, "given")


def cpu_native(precision: str) -> tuple[bool, str]:
    """Whether this CPU computes `precision` (bf16 or fp16) natively, and what torch says it has (AVX2,
    AVX512-BF16, AMX...): bf16 with AVX512-BF16 or AMX tiles, fp16 with AMX-FP16; on an ARM CPU, bf16 where
    oneDNN computes it."""
    import torch

    capability = str(torch.backends.cpu.get_cpu_capability())
    checks = ([("AMX-FP16", "_is_amx_fp16_supported")] if precision == "fp16" else
              [("AVX512-BF16", "_is_avx512_bf16_supported"), ("AMX", "_is_amx_tile_supported")])
    found = [name for name, check in checks if _reports(torch.cpu, check)]
    if precision == "fp16":
        return bool(found), ", ".join(found) or capability
    onednn = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    x86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
    native = onednn and (bool(found) or not x86)
    return native, ", ".join(found) if native and found else capability  # oneDNN limited to AVX2: say AVX2


def _reports(module: Any, check: str) -> bool:
    function = getattr(module, check, None)
    try:
        return bool(function()) if function is not None else False
    except RuntimeError:
        return False


def _cuda_fast(device: str, training: bool) -> tuple[str, str]:
    """The fast reduced precision of a CUDA device (fp32 for training without bf16), and the device's name."""
    import torch

    try:
        name = torch.cuda.get_device_name(device)
    except (RuntimeError, AssertionError, ValueError):
        name = device
    index = torch.device(device).index
    with torch.cuda.device(index) if index is not None else contextlib.nullcontext():
        try:
            bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # a torch before 2.3 reports only what it computes natively
            bf16 = torch.cuda.is_bf16_supported()
    return ("bf16" if bf16 else "fp32" if training else "fp16"), name


_SAID: set[str] = set()
"""The choice lines logged: train chooses for its encoder and for training, and the CPU says the same to both."""


def _said(choice: PrecisionChoice) -> PrecisionChoice:
    if choice.line not in _SAID:
        _SAID.add(choice.line)
        log.info("%s", choice.line)
    return choice


def _warned(choice: PrecisionChoice, instead: str) -> PrecisionChoice:
    log.warning("%s: %s is faster here; use --precision auto or %s", choice.reason, instead, instead)
    return choice
