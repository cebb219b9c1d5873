"""`tfcompress doctor`: which of the tools a board needs are here, and how to get the others.

One row per need: building for each port, running each emulator, the TFLM backend's library,
flashing real boards, ESP-IDF. Each says what it is for, whether it was found, and, when it was
not, the exact command or page that gets it (the same words `build`, `flash` and `run` use when
they stop for it).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass

from tfcompress.device.build import TOOLS, TflmLibrary, ToolMissing, check_cxx_runtime
from tfcompress.device.esp_idf import IDF
from tfcompress.device.qemu import QEMU, QEMU_PACKAGES


@dataclass(frozen=True)
class Check:
    need: str  # what it is for
    found: bool
    detail: str  # where it was found, or how to get it


def _which(program: str, need: str, how: str) -> Check:
    where = shutil.which(program)
    return Check(need, where is not None, where or how)


def _module(module: str, need: str) -> Check:
    import importlib.util

    found = importlib.util.find_spec(module) is not None
    return Check(need, found, f"python module {module}" if found else
                 f"{sys.executable} -m pip install {module} (./setup.sh installs it)")


def _cxx_runtime() -> Check:
    need = "TFLM backend on Cortex-M: arm-none-eabi's libstdc++ (nano)"
    try:
        return Check(need, True, check_cxx_runtime())
    except ToolMissing as err:
        return Check(need, False, str(err))


def run_checks() -> list[Check]:
    checks = [_which("cmake", "building firmware", "apt-get install cmake (./setup.sh installs it)")]
    for port, tools in TOOLS.items():
        checks.append(_which(tools["compiler"], f"building firmware ({port})",
                             f"apt-get install {tools['packages']} (./setup.sh installs it)"))
    for port, binary in QEMU.items():
        checks.append(_which(binary, f"emulated boards ({port})",
                             f"apt-get install {QEMU_PACKAGES[binary]} (./setup.sh installs it)"))
    try:
        tflm = TflmLibrary.find()
        checks.append(Check("TFLM backend (build --backend tflm)", True, f"{tflm.library}"))
    except ToolMissing as err:
        checks.append(Check("TFLM backend (build --backend tflm)", False, str(err)))
    checks.append(_cxx_runtime())
    checks.append(_module("pyocd", "flashing Cortex-M boards (pyOCD)"))
    checks.append(_module("esptool", "flashing ESP32 boards (esptool)"))
    checks.append(_which(IDF, "building for ESP32 boards (ESP-IDF)",
                         "install ESP-IDF and run its export.sh (docs/boards.md)"))
    return checks


def format_checks(checks: list[Check]) -> str:
    width = max(len(c.need) for c in checks)
    return "\n".join(f"{'ok ' if c.found else 'NO '} {c.need:<{width}}  {c.detail}" for c in checks)
