"""Flashing real boards, host side (no hardware): the exact pyOCD and esptool command lines, and the
conditions a user meets, produced for real where they can be: pyOCD run with no probe attached,
esptool on a port that does not exist, on one that refuses connections and on one where no chip
answers, a Python without the tool, a tool that hangs past its deadline."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tfcompress.device.build import Firmware
from tfcompress.device.flashing import (FlashError, FlashToolMissing, ProbeMissing, SerialPortError, esptool_command,
                                        flash_esptool, flash_pyocd, pyocd_command, run_tool)
from tfcompress.device.link import DeviceError, DeviceLink, describe_port_problem
from tfcompress.device.profiles import load_profile

PYTHON_WITHOUT_TOOLS = shutil.which("python3", path="/usr/bin:/bin")  # the system's, not the project's venv


def _has(python: str | None, module: str) -> bool:
    return python is not None and \
        subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def _firmware(directory: Path, device: str) -> Firmware:
    """A firmware folder's description without its files: enough for the command lines."""
    return Firmware(directory, {"device": device, "device_profile": str(load_profile(device).path),
                                "model_sha256": "0" * 64})


@pytest.mark.parametrize("device, target", [("nucleo-f446re", "stm32f446retx"), ("nucleo-h743zi", "stm32h743xx"),
                                            ("nrf52840-dk", "nrf52840"), ("rpi-pico", "rp2040")])
def test_pyocd_command_line(device, target):
    assert load_profile(device).flasher["target"] == target
    assert pyocd_command("FW/firmware.elf", target) == [
        sys.executable, "-m", "pyocd", "flash", "--no-wait", "--target", target, "FW/firmware.elf"]
    assert pyocd_command("FW/firmware.elf", target, probe="0670FF")[-3:] == ["--uid", "0670FF", "FW/firmware.elf"]


def test_pyocd_targets_are_pyocds():
    """The profiles' targets are pyOCD's names: built in, or (stm32f446retx) the NUCLEO-F446RE's own in
    pyOCD's board list, which the Keil.STM32F4xx_DFP pack provides (`pyocd pack install stm32f446retx`)."""
    pytest.importorskip("pyocd")
    from pyocd.board.board_ids import BOARD_ID_TO_INFO
    from pyocd.target import TARGET

    assert {"stm32h743xx", "nrf52840", "rp2040"} <= set(TARGET)
    assert BOARD_ID_TO_INFO["0777"].name == "NUCLEO-F446RE" and BOARD_ID_TO_INFO["0777"].target == "stm32f446retx"
    assert BOARD_ID_TO_INFO["1102"].target == "nrf52840"


def test_esptool_chips_are_esptools():
    pytest.importorskip("esptool")
    from esptool.targets import CHIP_DEFS

    assert {"esp32", "esp32s3"} <= set(CHIP_DEFS)


def test_no_probe_attached_is_a_clear_error(tmp_path):
    """pyOCD really runs: with no probe attached (none is, here) it must fail at once, in our words."""
    pytest.importorskip("pyocd")
    firmware = _firmware(tmp_path, "nucleo-f446re")
    lines = []
    with pytest.raises(ProbeMissing) as err:
        flash_pyocd(firmware, log=lines.append, timeout=60)
    message = str(err.value)
    assert message.startswith("flashing nucleo-f446re: no debug probe is connected: plug the board's debug USB in")
    assert "ST-LINK" in message and "-m pyocd list" in message and "\n" not in message
    assert "No connected debug probes" in lines  # pyOCD's own words were passed on
    with pytest.raises(ProbeMissing, match="no debug probe matches '0670FF'"):
        flash_pyocd(firmware, probe="0670FF", timeout=60)


@pytest.mark.skipif(PYTHON_WITHOUT_TOOLS is None or _has(PYTHON_WITHOUT_TOOLS, "pyocd")
                    or _has(PYTHON_WITHOUT_TOOLS, "esptool"), reason="needs a Python without pyocd and esptool")
def test_tool_not_installed(tmp_path):
    """The system's Python has neither tool: the error says which and how to install it."""
    with pytest.raises(FlashToolMissing, match=r"pyOCD is not installed for .*python3: install it with "
                                                r"`.*python3 -m pip install pyocd`"):
        flash_pyocd(_firmware(tmp_path, "nucleo-f446re"), python=PYTHON_WITHOUT_TOOLS)
    esp = _esp_firmware(tmp_path)
    with pytest.raises(FlashToolMissing, match="esptool is not installed"):
        flash_esptool(esp, "/dev/null", python=PYTHON_WITHOUT_TOOLS)


def _esp_firmware(tmp_path: Path, flasher_args: dict | None = None) -> Firmware:
    """An esp32-s3-devkitc firmware folder as idf.py v5 leaves it (flasher_args.json as ESP-IDF's
    template writes it: underscores), with small stand-in images."""
    build = tmp_path / "project" / "build"
    files = {"0x0": "bootloader/bootloader.bin", "0x8000": "partition_table/partition-table.bin",
             "0x10000": "tfcompress_firmware.bin"}
    for name in files.values():
        (build / name).parent.mkdir(parents=True, exist_ok=True)
        (build / name).write_bytes(bytes(64))
    args = flasher_args or {
        "write_flash_args": ["--flash_mode", "dio", "--flash_size", "8MB", "--flash_freq", "80m"],
        "flash_settings": {"flash_mode": "dio", "flash_size": "8MB", "flash_freq": "80m"},
        "flash_files": {"0x10000": files["0x10000"], "0x8000": files["0x8000"], "0x0": files["0x0"]},
        "bootloader": {"offset": "0x0", "file": files["0x0"], "encrypted": "false"},
        "app": {"offset": "0x10000", "file": files["0x10000"], "encrypted": "false"},
        "extra_esptool_args": {"after": "hard_reset", "before": "default_reset", "stub": True, "chip": "esp32s3"}}
    (build / "flasher_args.json").write_text(json.dumps(args))
    (build / "project_description.json").write_text(json.dumps({"app_bin": "tfcompress_firmware.bin",
                                                                "app_elf": "tfcompress_firmware.elf"}))
    firmware = _firmware(tmp_path, "esp32-s3-devkitc")
    firmware.info["esp_idf"] = {"project": "project", "target": "esp32s3", "built": True}
    return firmware


def test_esptool_command_line_from_flasher_args(tmp_path):
    firmware = _esp_firmware(tmp_path)
    build = tmp_path / "project" / "build"
    assert esptool_command(firmware, "/dev/ttyUSB0") == [
        sys.executable, "-m", "esptool", "--chip", "esp32s3", "--port", "/dev/ttyUSB0", "--baud", "460800",
        "--before", "default-reset", "--after", "hard-reset", "write-flash",
        "--flash-mode", "dio", "--flash-size", "8MB", "--flash-freq", "80m",
        "0x0", str(build / "bootloader/bootloader.bin"), "0x8000", str(build / "partition_table/partition-table.bin"),
        "0x10000", str(build / "tfcompress_firmware.bin")]
    assert esptool_command(firmware, "COM3", baud=115200)[5:9] == ["--port", "COM3", "--baud", "115200"]


def test_esptool_refuses_a_build_for_another_chip_or_with_files_missing(tmp_path):
    firmware = _esp_firmware(tmp_path)
    args = json.loads((tmp_path / "project/build/flasher_args.json").read_text())
    args["extra_esptool_args"]["chip"] = "esp32"
    (tmp_path / "project/build/flasher_args.json").write_text(json.dumps(args))
    with pytest.raises(FlashError, match="built for esp32, but esp32-s3-devkitc is an esp32s3"):
        esptool_command(firmware, "/dev/ttyUSB0")
    args["extra_esptool_args"]["chip"] = "esp32s3"
    (tmp_path / "project/build/flasher_args.json").write_text(json.dumps(args))
    (tmp_path / "project/build/tfcompress_firmware.bin").unlink()
    with pytest.raises(FlashError, match=r"tfcompress_firmware.bin: missing \(flasher_args.json lists it at 0x10000\)"):
        esptool_command(firmware, "/dev/ttyUSB0")


def test_esptool_real_port_conditions(tmp_path):
    """esptool really runs against ports that fail the way users' do."""
    pytest.importorskip("esptool")
    firmware = _esp_firmware(tmp_path)
    # no such device: refused before esptool starts, naming the port
    with pytest.raises(SerialPortError, match=r"^/dev/ttyNONEXISTENT: no such serial port for esp32-s3-devkitc: is "
                                              r"the board plugged in\?"):
        flash_esptool(firmware, "/dev/ttyNONEXISTENT")
    # a port that cannot be opened (a network serial port nobody listens on): esptool's words, mapped
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(SerialPortError) as err:
        flash_esptool(firmware, f"socket://127.0.0.1:{closed}", timeout=60)
    assert str(err.value).startswith(f"socket://127.0.0.1:{closed}: cannot open it") and "\n" not in str(err.value)
    # not a serial port at all
    with pytest.raises(SerialPortError, match="^/dev/null: not a serial port"):
        flash_esptool(firmware, "/dev/null", timeout=60)


def test_esptool_no_chip_answering(tmp_path):
    """A port that opens but where no ESP answers (a silent network serial port): esptool tries to
    sync, gives up, and the error says what to do."""
    pytest.importorskip("esptool")
    firmware = _esp_firmware(tmp_path)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    threading.Thread(target=lambda: [accepted.append(server.accept()) for _ in range(8)], daemon=True).start()
    try:
        with pytest.raises(FlashError) as err:
            flash_esptool(firmware, f"socket://127.0.0.1:{server.getsockname()[1]}", timeout=120)
    finally:
        server.close()
        for connection, _ in accepted:
            connection.close()
    assert "the esp32s3 did not answer esptool" in str(err.value) and "hold BOOT" in str(err.value)


def test_esptool_needs_a_port(tmp_path):
    from tfcompress.device.flashing import flash_firmware

    with pytest.raises(SerialPortError, match="esp32-s3-devkitc is flashed over its serial port: give it with --port"):
        flash_firmware(_esp_firmware(tmp_path))


def test_a_tool_past_its_deadline_is_stopped():
    with pytest.raises(FlashError, match=r"did not finish within 1 s and was stopped"):
        run_tool([sys.executable, "-c", "import time; print('working', flush=True); time.sleep(60)"], timeout=1)
    status, output = run_tool([sys.executable, "-c", "print('\\x1b[31mred\\x1b[0m'); raise SystemExit(3)"], timeout=30)
    assert (status, output) == (3, "red")  # colours are taken out


def test_serial_port_problems_in_words():
    with pytest.raises(DeviceError, match=r"^cannot open serial port /dev/ttyNONEXISTENT: no such serial port: is "
                                          r"the board plugged in\?$"):
        DeviceLink.open("/dev/ttyNONEXISTENT")
    # pyserial's own messages for a busy port and a port the user may not open
    assert describe_port_problem("[Errno 16] could not open port /dev/ttyACM0: [Errno 16] Device or resource busy: "
                                 "'/dev/ttyACM0'").startswith("the port is busy: close the program using it")
    assert "dialout" in describe_port_problem("[Errno 13] could not open port /dev/ttyACM0: [Errno 13] Permission "
                                              "denied: '/dev/ttyACM0'")
