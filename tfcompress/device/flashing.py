"""`tfcompress flash` for real boards: pyOCD over the board's debug probe (the Cortex-M boards) or
esptool over its serial port (the ESP32 boards' ESP-IDF builds).

Each tool is run as `python -m TOOL` with the Python running tfcompress, with a deadline; what it
prints is passed on as it comes, and its usual failures become one-line errors that name the probe
or the port and say what to do: the tool not installed, no debug probe (or several), a target pyOCD
does not know yet, a serial port that does not exist, is busy or is not ours to open, a chip that
does not answer.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from tfcompress.device.link import describe_port_problem
from tfcompress.errors import TfcompressError

FLASH_TIMEOUT = 300.0  # seconds: a 2 MB image over a slow probe or at 115200 baud fits well inside
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class FlashError(TfcompressError):
    """Flashing a board failed: the message names the board, the probe or port, and what to do."""


class FlashToolMissing(FlashError):
    pass


class ProbeMissing(FlashError):
    pass


class SerialPortError(FlashError):
    pass


def _python_has(python: str, module: str) -> bool:
    if python == sys.executable:
        import importlib.util

        return importlib.util.find_spec(module) is not None
    result = subprocess.run([python, "-c", f"import {module}"], capture_output=True, stdin=subprocess.DEVNULL)
    return result.returncode == 0


def _missing_tool(tool: str, module: str, python: str) -> FlashToolMissing:
    return FlashToolMissing(f"{tool} is not installed for {python}: install it with `{python} -m pip install "
                            f"{module}` (tfcompress depends on it: ./setup.sh installs it)")


# -- pyOCD: the Cortex-M boards, through a CMSIS-DAP, ST-LINK or J-Link probe ---------------------

def pyocd_command(elf: str | Path, target: str, probe: str | None = None, python: str | None = None) -> list[str]:
    """`python -m pyocd flash`: programs the ELF's sections, verifies them and resets the core.
    --no-wait: with no probe attached, fail at once instead of waiting for one."""
    command = [python or sys.executable, "-m", "pyocd", "flash", "--no-wait", "--target", target]
    if probe:
        command += ["--uid", probe]
    return [*command, str(elf)]


def flash_pyocd(firmware, probe: str | None = None, python: str | None = None, timeout: float = FLASH_TIMEOUT,
                log: Callable[[str], None] | None = None) -> None:
    """Flashes `firmware` (a tfcompress.device.build.Firmware of a pyocd board) through its debug probe."""
    python = python or sys.executable
    profile = firmware.profile
    target = profile.flasher["target"]
    if not _python_has(python, "pyocd"):
        raise _missing_tool("pyOCD", "pyocd", python)
    command = pyocd_command(firmware.elf, target, probe, python)
    status, output = run_tool(command, timeout, log)
    if status == 0:
        return
    which = f"probe {probe!r}" if probe else "a debug probe"
    if "No module named pyocd" in output:
        raise _missing_tool("pyOCD", "pyocd", python)
    if "No connected debug probe" in output:
        raise ProbeMissing(
            f"flashing {profile.name}: no debug probe {'matches ' + repr(probe) if probe else 'is connected'}: plug "
            f"the board's debug USB in ({_probe_hint(profile.name)}), check that `{python} -m pyocd list` shows "
            f"it (on Linux its udev rules must let you open it), then flash again")
    if "More than one debug probe" in output or "Enter the number of the debug probe" in output:
        raise ProbeMissing(f"flashing {profile.name}: more than one debug probe is connected: pick one with --probe "
                           f"UID (the unique IDs: `{python} -m pyocd list`)")
    if re.search(r"Target type \S+ not recognized", output):
        raise FlashError(f"flashing {profile.name}: pyOCD does not know target {target!r} yet: install its CMSIS "
                         f"pack once with `{python} -m pyocd pack install {target}` (it downloads the vendor's "
                         f"device pack), then flash again")
    if "No target device available" in output:
        raise ProbeMissing(f"flashing {profile.name}: pyOCD found no target through {which}: is the board powered "
                           f"and the probe's cable on its debug connector?")
    raise FlashError(f"flashing {profile.name} with pyOCD failed (exit {status}): {_last_error(output)}\n"
                     f"  command: {' '.join(command)}")


def _probe_hint(board: str) -> str:
    if board.startswith("nucleo"):
        return "the ST-LINK's USB connector, CN1"
    if board.startswith("nrf52"):
        return "the J-Link OB's USB connector; pyOCD drives J-Link through SEGGER's J-Link software"
    if board.startswith("rpi-pico"):
        return "a Raspberry Pi Debug Probe (CMSIS-DAP) wired to the Pico's SWD pins"
    return "the board's debug probe"


# -- esptool: the ESP32 boards, over the serial port, from an ESP-IDF build ------------------------

def esptool_command(firmware, port: str, baud: int | None = None, python: str | None = None) -> list[str]:
    """`python -m esptool ... write-flash` with the offsets and files of idf.py's flasher_args.json
    (bootloader, partition table, app), esptool v5's spelling of its options."""
    from tfcompress.device.esp_idf import build_outputs

    profile = firmware.profile
    outputs = build_outputs(firmware.directory)
    args, build = outputs["flasher_args"], outputs["build"]
    chip = profile.flasher["chip"]
    built_for = args.get("extra_esptool_args", {}).get("chip")
    if built_for and built_for != chip:
        raise FlashError(f"{build}: built for {built_for}, but {profile.name} is an {chip}: build the firmware "
                         f"again for this board")
    extra = args.get("extra_esptool_args", {})
    command = [python or sys.executable, "-m", "esptool", "--chip", chip, "--port", port,
               "--baud", str(baud or profile.flasher["baud"]),
               "--before", _dashes(extra.get("before") or "default-reset"),
               "--after", _dashes(extra.get("after") or "hard-reset")]
    if extra.get("stub") is False:
        command.append("--no-stub")
    command += ["write-flash", *(_dashes(a) if a.startswith("--") else a for a in args.get("write_flash_args", []))]
    files = args.get("flash_files")
    if not isinstance(files, dict) or not files:
        raise FlashError(f"{build / 'flasher_args.json'}: lists no flash_files: build the firmware again")
    for offset, name in sorted(files.items(), key=lambda item: int(item[0], 16)):
        path = build / name
        if not path.is_file():
            raise FlashError(f"{path}: missing (flasher_args.json lists it at {offset}): build the firmware again")
        command += [offset, str(path)]
    return command


def _dashes(word: str) -> str:
    """ESP-IDF's flasher_args.json spells esptool's options and reset modes with underscores
    (--flash_mode, default_reset); esptool v5 wants dashes."""
    return word.replace("_", "-")


def check_serial_port(port: str, board: str) -> None:
    """A local serial device that does not exist is refused before any tool runs."""
    if "://" in port:  # a pyserial URL (socket://, rfc2217://): its tool says whether it answers
        return
    if port.startswith("/dev/") and not os.path.exists(port):
        raise SerialPortError(f"{port}: no such serial port for {board}: is the board plugged in? The ports here: "
                              f"{', '.join(serial_ports()) or 'none'}")


def serial_ports() -> list[str]:
    try:
        from serial.tools import list_ports

        return sorted(p.device for p in list_ports.comports())
    except Exception:
        return []


def flash_esptool(firmware, port: str, baud: int | None = None, python: str | None = None,
                  timeout: float = FLASH_TIMEOUT, log: Callable[[str], None] | None = None) -> None:
    """Flashes an ESP32 firmware folder's ESP-IDF build through the board's serial port."""
    python = python or sys.executable
    profile = firmware.profile
    check_serial_port(port, profile.name)
    if not _python_has(python, "esptool"):
        raise _missing_tool("esptool", "esptool", python)
    command = esptool_command(firmware, port, baud, python)
    status, output = run_tool(command, timeout, log)
    if status == 0:
        return
    if "No module named esptool" in output:
        raise _missing_tool("esptool", "esptool", python)
    if "Could not open" in output or "could not open port" in output:
        raise SerialPortError(f"{port}: {describe_port_problem(output)} (flashing {profile.name})")
    if "Failed to connect" in output or "No serial data received" in output or "Wrong boot mode" in output:
        raise FlashError(f"{port}: the {profile.flasher['chip']} did not answer esptool: is it the board's port? If "
                         f"it is, hold BOOT, press and release EN (reset), release BOOT, and flash again")
    raise FlashError(f"flashing {profile.name} with esptool failed (exit {status}): {_last_error(output)}\n"
                     f"  command: {' '.join(command)}")


# -- running a tool -----------------------------------------------------------------------------

def run_tool(command: list[str], timeout: float, log: Callable[[str], None] | None = None,
             error: type[TfcompressError] = FlashError) -> tuple[int, str]:
    """Runs `command`, passing its output lines to `log` as they come; returns (exit status, output).
    Past `timeout` seconds it is killed, with every process it started (its own session), and
    `error` raised."""
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1,
                                   start_new_session=True)
    except FileNotFoundError:
        raise FlashToolMissing(f"{command[0]}: no such program") from None
    lines: list[str] = []

    def pump() -> None:
        for line in process.stdout:
            line = ANSI.sub("", line.rstrip("\n"))
            lines.append(line)
            if log:
                log(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    try:
        status = process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill_session(process)
        raise error(f"{command[2] if command[1:2] == ['-m'] else command[0]} did not finish within "
                    f"{timeout:g} s and was stopped: {' '.join(command)}") from None
    except BaseException:
        _kill_session(process)
        raise
    reader.join(timeout=5)
    return status, "\n".join(lines)


def _kill_session(process: subprocess.Popen) -> None:
    """Kills the tool and whatever it started (idf.py's ninja and compilers, say), then reaps it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.search(r"error|fail|fatal|exception", line, re.IGNORECASE):
            return line
    return lines[-1] if lines else "(no output)"


def flash_firmware(firmware, port: str | None = None, probe: str | None = None, baud: int | None = None,
                   log: Callable[[str], None] | None = None) -> None:
    """Flashes a real board's firmware folder with its profile's tool (the profile's "flash" object)."""
    profile = firmware.profile
    tool = (profile.flasher or {}).get("tool")
    if port is not None:
        check_serial_port(port, profile.name)  # before flashing: a mistyped port is found at once
    if tool == "pyocd":
        from tfcompress.device.elf import memory_use

        memory_use(firmware.elf, profile)  # refuses an image that does not fit, with the numbers
        flash_pyocd(firmware, probe, log=log)
    elif tool == "esptool":
        if port is None:
            raise SerialPortError(f"{profile.name} is flashed over its serial port: give it with --port (here: "
                                  f"{', '.join(serial_ports()) or 'no serial ports found'})")
        flash_esptool(firmware, port, baud, log=log)
    else:
        raise FlashError(f"{profile.path}: {profile.name} has no \"flash\" object: how would it be flashed?")
